// `makima task events <task> [--follow]`: a task's output, tool calls, tool results, errors and
// status lines, oldest first; with --follow, then every new one as the agent reports it (the
// taskEvents subscription), resuming after the last one printed when the connection drops.
import type { ResultOf } from '@graphql-typed-document-node/core';
import { InvalidArgumentError, type Command } from 'commander';
import { graphql } from '../generated/gql/index.js';
import type { TaskEventType } from '../generated/gql/graphql.js';
import type { CliCommand } from './command.js';
import { allNodes, clientCommand, clientFrom, type ClientOptions } from './client.js';
import { follow } from './follow.js';
import { color, println, summarize, when } from './output.js';

const TYPES: TaskEventType[] = ['OUTPUT', 'TOOL_CALL', 'TOOL_RESULT', 'ERROR', 'STATUS'];

const EventFields = graphql(`
  fragment CliTaskEvent on TaskEvent { seq cursor type data createdAt }
`);

const TaskEvents = graphql(`
  query CliTaskEventPage($task: ID!, $after: String, $types: [TaskEventType!]) {
    task(id: $task) {
      id name status
      events(first: 100, after: $after, types: $types) {
        edges { node { ...CliTaskEvent } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
`);

const FollowTaskEvents = graphql(`
  subscription CliFollowTaskEvents($task: ID!, $after: String) {
    taskEvents(taskId: $task, after: $after) { ...CliTaskEvent }
  }
`);

type TaskEvent = ResultOf<typeof EventFields>;

function collectType(value: string, previous: TaskEventType[] = []): TaskEventType[] {
  const types = value.split(',').map((s) => s.trim().toUpperCase() as TaskEventType);
  const wrong = types.find((s) => !TYPES.includes(s));
  if (wrong !== undefined) throw new InvalidArgumentError(`"${wrong.toLowerCase()}" is not an event type; expected ${TYPES.map((s) => s.toLowerCase()).join(', ')}`);
  return [...previous, ...types];
}

const COLORS: Record<string, (s: string) => string> = { ERROR: color.red, TOOL_CALL: color.yellow, TOOL_RESULT: color.blue, STATUS: color.magenta };

function printEvent(event: TaskEvent, json?: boolean): void {
  if (json) return println(JSON.stringify(event));
  const text = typeof event.data === 'string' ? event.data : summarize(event.data, 200);
  println(`${color.dim(when(event.createdAt).padEnd(24))} ${color.dim(`#${event.seq}`.padStart(5))} ${(COLORS[event.type] ?? String)(event.type.toLowerCase().padEnd(11))} ${text}`);
}

export const taskEvents: CliCommand = {
  name: 'task events',
  define: (cmd: Command) =>
    clientCommand(cmd.argument('<task>', 'the task: its number (42), name, id or branch prefix, or ID'))
      .description("print a task's events (output, tool calls and results, errors, status), oldest first; --follow keeps printing new ones")
      .option('--follow', 'after the events so far, print each new one as it is recorded, until Ctrl-C')
      .option('--type <type>', `only events of this type (${TYPES.map((s) => s.toLowerCase()).join(', ')}); repeatable or comma-separated`, collectType)
      .action(async (task: string, opts: ClientOptions & { json?: boolean; follow?: boolean; type?: TaskEventType[] }) => {
        const client = clientFrom(opts);
        // All of them, so that --follow starts after the last one; a filtered list is read unfiltered
        // then, for its cursor (the subscription takes no filter).
        const types = opts.follow ? undefined : opts.type;
        const events = await allNodes(async (after) => (await client.request(TaskEvents, { task, after, types })).task!.events);
        const wanted = (event: TaskEvent) => !opts.type?.length || opts.type.includes(event.type);
        for (const event of events.filter(wanted)) printEvent(event, opts.json);
        if (!opts.follow) {
          if (!events.length && !opts.json) println(color.dim('no events yet'));
          return;
        }
        await follow(client, {
          document: FollowTaskEvents,
          variables: (after) => ({ task, after }),
          item: (data) => data.taskEvents,
          what: "the task's live events",
          start: events.at(-1),
          position: (event) => `event #${event.seq}`,
          onItem: (event) => wanted(event) && printEvent(event, opts.json),
        });
      }),
};
