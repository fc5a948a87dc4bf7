// `makima timeline [--follow] [filters]`: the newest history events as a table (or JSON lines);
// with --follow, those oldest first and then every new event as it happens, resuming from the last
// event's cursor after a dropped connection, so that nothing is missed or printed twice.
import type { ResultOf } from '@graphql-typed-document-node/core';
import { InvalidArgumentError, type Command } from 'commander';
import { graphql } from '../generated/gql/index.js';
import { ContractPhase } from '../generated/prisma/enums.js';
import type { HistoryFilter } from '../generated/gql/graphql.js';
import type { CliCommand } from './command.js';
import { clientCommand, clientFrom, type ApiClient, type ClientOptions } from './client.js';
import { displayData } from './display.js';
import { follow } from './follow.js';
import { color, printTable, println, summarize, when } from './output.js';
import { timeOption } from './since.js';

const EventFields = graphql(`
  fragment CliTimelineEvent on HistoryEvent {
    seq cursor eventType eventSubtype phase data createdAt actor { description }
    contract { id name }
    task { id name }
  }
`);

const Timeline = graphql(`
  query CliTimeline($first: Int!, $after: String, $filter: HistoryFilter) {
    timeline(first: $first, after: $after, filter: $filter) {
      edges { node { ...CliTimelineEvent } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

const FollowTimeline = graphql(`
  subscription CliFollowTimeline($filter: HistoryFilter, $after: String) {
    timeline(filter: $filter, after: $after) { ...CliTimelineEvent }
  }
`);

type TimelineEvent = ResultOf<typeof EventFields>;

const EVENT_TYPES = ['TASK', 'CHAT', 'CHECKPOINT', 'PHASE', 'FILE'];
const PHASES: string[] = Object.values(ContractPhase);

/** A repeatable option whose values must be one of `allowed` (case-insensitive). */
function collectOneOf(allowed: string[]) {
  return (value: string, previous: string[] = []) => {
    const upper = value.toUpperCase();
    if (!allowed.includes(upper)) throw new InvalidArgumentError(`expected one of ${allowed.join(', ')}`);
    return [...previous, upper];
  };
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
}

interface TimelineOptions extends ClientOptions {
  json?: boolean;
  follow?: boolean;
  type?: string[];
  phase?: string[];
  contract?: string;
  task?: string;
  since?: string;
  until?: string;
  first: number;
}

export const timeline: CliCommand = { name: 'timeline', define: defineTimeline };

function defineTimeline(cmd: Command): void {
  clientCommand(cmd)
    .description('show the newest history events; with --follow, keep printing new ones as they happen')
    .option('--follow', 'after the newest events (oldest first), print every new event live until Ctrl-C')
    .option('--type <type>', `only events of this type (${EVENT_TYPES.join(', ')}); repeatable`, collectOneOf(EVENT_TYPES))
    .option('--phase <phase>', `only events in this contract phase (${PHASES.join(', ')}); repeatable`, collectOneOf(PHASES))
    .option('--contract <contract>', "only this contract's events")
    .option('--task <task>', "only this task's events")
    .option('--since <time>', 'only events at or after this time: ISO 8601, or how long ago (30m, 2h, 3d, 1w)', timeOption)
    .option('--until <time>', 'only events at or before this time: ISO 8601, or how long ago (30m, 2h, 3d, 1w)', timeOption)
    .option('--first <n>', 'how many of the newest events to show', positiveInt, 20)
    .action(async (opts: TimelineOptions) => {
      const client = clientFrom(opts);
      const filter: HistoryFilter = {
        eventTypes: opts.type as HistoryFilter['eventTypes'],
        phases: opts.phase as HistoryFilter['phases'],
        contractId: opts.contract,
        taskId: opts.task,
        since: opts.since,
        until: opts.until,
      };
      const newest = await newestEvents(client, filter, opts.first);
      if (!opts.follow) return printNewest(newest, opts.json);
      const oldestFirst = [...newest].reverse();
      for (const event of oldestFirst) printLine(event, opts.json);
      const start = oldestFirst.at(-1) ?? (await newestEvents(client, {}, 1))[0];
      await follow(client, {
        document: FollowTimeline,
        variables: (after) => ({ filter, after }),
        item: (data) => data.timeline,
        what: 'the live timeline',
        start,
        position: (event) => `event ${event.seq}`,
        onItem: (event) => printLine(event, opts.json),
      });
    });
}

async function newestEvents(client: ApiClient, filter: HistoryFilter, count: number): Promise<TimelineEvent[]> {
  const events: TimelineEvent[] = [];
  let after: string | undefined;
  while (events.length < count) {
    const { timeline } = await client.request(Timeline, { first: Math.min(100, count - events.length), after, filter });
    events.push(...timeline.edges.map((e) => e.node));
    if (!timeline.pageInfo.hasNextPage || !timeline.pageInfo.endCursor) break;
    after = timeline.pageInfo.endCursor;
  }
  return events;
}

/** An event as the CLI shows it: IDs in its data as global IDs (display.ts). */
function shown(event: TimelineEvent): TimelineEvent {
  return { ...event, data: displayData(event.data) };
}

function printNewest(raw: TimelineEvent[], json?: boolean): void | Promise<void> {
  const events = raw.map(shown);
  if (json) return events.forEach((e) => println(JSON.stringify(e)));
  if (!events.length) return println(color.dim('no events'));
  return printTable(
    ['time', 'event', 'phase', 'contract', 'task', 'by', 'details'],
    events.map((e) => [when(e.createdAt), eventName(e), e.phase, e.contract?.name, e.task?.name, e.actor.description, summarize(e.data, 60)]),
  );
}

function printLine(raw: TimelineEvent, json?: boolean): void {
  const event = shown(raw);
  if (json) return println(JSON.stringify(event));
  const where = [event.contract?.name, event.task?.name].filter(Boolean).join(' › ');
  println(`${color.dim(when(event.createdAt))}  ${color.bold(eventName(event))}  ${event.phase ?? ''}  ${color.cyan(where)}  ${color.dim(`by ${event.actor.description}`)}  ${summarize(event.data, 80)}`);
}

function eventName(event: TimelineEvent): string {
  return event.eventSubtype ? `${event.eventType}/${event.eventSubtype}` : event.eventType;
}
