// `makima timeline [--follow] [filters]`: the newest history events as a table (or JSON lines);
// with --follow, those oldest first and then every new event as it happens, resuming from the last
// event's cursor after a dropped connection, so that nothing is missed or printed twice.
import type { ResultOf } from '@graphql-typed-document-node/core';
import { InvalidArgumentError, type Command } from 'commander';
import { print } from 'graphql';
import { graphql } from '../generated/gql/index.js';
import type { HistoryFilter } from '../generated/gql/graphql.js';
import { clientCommand, clientFrom, describeErrors, type ApiClient, type ClientOptions } from './client.js';
import { CliError, color, printTable, println, summarize, when } from './output.js';

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
const PHASES = ['RESEARCH', 'SPECIFY', 'PLAN', 'EXECUTE', 'REVIEW', 'DONE'];

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

export function registerTimeline(program: Command): void {
  clientCommand(program.command('timeline'))
    .description('show the newest history events; with --follow, keep printing new ones as they happen')
    .option('--follow', 'after the newest events (oldest first), print every new event live until Ctrl-C')
    .option('--type <type>', `only events of this type (${EVENT_TYPES.join(', ')}); repeatable`, collectOneOf(EVENT_TYPES))
    .option('--phase <phase>', `only events in this contract phase (${PHASES.join(', ')}); repeatable`, collectOneOf(PHASES))
    .option('--contract <contract>', "only this contract's events")
    .option('--task <task>', "only this task's events")
    .option('--since <time>', 'only events at or after this ISO 8601 time')
    .option('--until <time>', 'only events at or before this ISO 8601 time')
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
      await follow(client, filter, start, (event) => printLine(event, opts.json));
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

/**
 * Follows Subscription.timeline from just after `start` until Ctrl-C. graphql-ws reconnects with
 * backoff after a dropped connection and re-sends the subscribe payload it was given; its variables
 * are a getter, read when the payload is serialised, so each re-subscription asks for the events
 * after the last one printed (and the server sends each event after a cursor exactly once).
 */
async function follow(client: ApiClient, filter: HistoryFilter, start: TimelineEvent | undefined, onEvent: (event: TimelineEvent) => void): Promise<void> {
  let lastSeq = start ? BigInt(start.seq) : -1n;
  let lastCursor = start?.cursor;
  let stopping = false;
  const ws = client.subscriptions({
    retryAttempts: Infinity,
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(5000, 200 * 2 ** retries) * (0.5 + Math.random() / 2))),
    on: {
      closed: () => {
        if (!stopping) process.stderr.write(color.dim('makima: connection lost; reconnecting…\n'));
      },
      connected: (_socket, _payload, wasRetry) => {
        if (wasRetry) process.stderr.write(color.dim(`makima: reconnected; resuming after event ${lastSeq}\n`));
        else process.stderr.write(color.dim('makima: following live events; Ctrl-C stops\n'));
      },
    },
  });
  const payload = {
    query: print(FollowTimeline),
    get variables() {
      return { filter, after: lastCursor };
    },
  };
  await new Promise<void>((resolve, reject) => {
    const stop = () => {
      stopping = true;
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      unsubscribe();
      void ws.dispose();
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    const unsubscribe = ws.subscribe<{ timeline: TimelineEvent }>(payload, {
      next: (result) => {
        if (result.errors?.length) return fail(new CliError(describeErrors(result.errors)));
        const event = result.data?.timeline;
        if (!event) return;
        lastSeq = BigInt(event.seq);
        lastCursor = event.cursor;
        onEvent(event);
      },
      error: (err) => fail(new CliError(`the live timeline ended: ${describeClose(err)}`)),
      complete: () => stopping || fail(new CliError('the server ended the live timeline')),
    });
    function fail(err: Error) {
      stopping = true;
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void ws.dispose();
      reject(err);
    }
  });
}

function describeClose(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (Array.isArray(err)) return describeErrors(err);
  const close = err as { code?: number; reason?: string };
  return close.code ? `closed with ${close.code} ${close.reason ?? ''}`.trim() : String(err);
}

function printNewest(events: TimelineEvent[], json?: boolean): void | Promise<void> {
  if (json) return events.forEach((e) => println(JSON.stringify(e)));
  if (!events.length) return println(color.dim('no events'));
  return printTable(
    ['time', 'event', 'phase', 'contract', 'task', 'by', 'details'],
    events.map((e) => [when(e.createdAt), eventName(e), e.phase, e.contract?.name, e.task?.name, e.actor.description, summarize(e.data, 60)]),
  );
}

function printLine(event: TimelineEvent, json?: boolean): void {
  if (json) return println(JSON.stringify(event));
  const where = [event.contract?.name, event.task?.name].filter(Boolean).join(' › ');
  println(`${color.dim(when(event.createdAt))}  ${color.bold(eventName(event))}  ${event.phase ?? ''}  ${color.cyan(where)}  ${color.dim(`by ${event.actor.description}`)}  ${summarize(event.data, 80)}`);
}

function eventName(event: TimelineEvent): string {
  return event.eventSubtype ? `${event.eventType}/${event.eventSubtype}` : event.eventType;
}
