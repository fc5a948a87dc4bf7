// `makima task-history <task>`: what a task said and did — its conversation and its events (output,
// tool calls, tool results, errors, status lines) interleaved by time, for people or as JSON.
import type { Command } from 'commander';
import { graphql } from '../generated/gql/index.js';
import { allNodes, clientCommand, clientFrom, type ApiClient, type ClientOptions } from './client.js';
import { color, printJson, println, summarize, when } from './output.js';

const TaskConversation = graphql(`
  query CliTaskConversation($task: ID!, $after: String) {
    task(id: $task) {
      id name status
      conversation(first: 100, after: $after) {
        edges { node { id index role content toolCalls createdAt } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
`);

const TaskEvents = graphql(`
  query CliTaskEvents($task: ID!, $after: String) {
    task(id: $task) {
      events(first: 100, after: $after) {
        edges { node { id seq type data createdAt } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
`);

type Message = { id: string; index: number; role: string; content: unknown; toolCalls?: unknown; createdAt: string };
type TaskEvent = { id: string; seq: number; type: string; data: unknown; createdAt: string };
export type HistoryEntry = ({ kind: 'message' } & Message) | ({ kind: 'event' } & TaskEvent);

/** Both streams, each already in order, merged by time; on a tie the message comes first. */
export function interleave(messages: Message[], events: TaskEvent[]): HistoryEntry[] {
  const out: HistoryEntry[] = [];
  let m = 0;
  let e = 0;
  while (m < messages.length || e < events.length) {
    const takeMessage = e >= events.length || (m < messages.length && Date.parse(messages[m].createdAt) <= Date.parse(events[e].createdAt));
    out.push(takeMessage ? { kind: 'message', ...messages[m++] } : { kind: 'event', ...events[e++] });
  }
  return out;
}

async function taskHistory(client: ApiClient, task: string) {
  let info: { id: string; name: string; status: string } | undefined;
  const messages = await allNodes(async (after) => {
    const { task: t } = await client.request(TaskConversation, { task, after });
    info = { id: t!.id, name: t!.name, status: t!.status };
    return t!.conversation;
  });
  const events = await allNodes(async (after) => (await client.request(TaskEvents, { task, after })).task!.events);
  return { task: info!, entries: interleave(messages, events) };
}

export function registerTaskHistory(program: Command): void {
  clientCommand(program.command('task-history').argument('<task>', 'task ID'))
    .description("show a task's conversation and events (output, tool calls, results, errors) interleaved by time")
    .action(async (task: string, opts: ClientOptions & { json?: boolean }) => {
      const history = await taskHistory(clientFrom(opts), task);
      if (opts.json) return printJson(history);
      println(`${color.bold(history.task.name)} ${color.dim(`${history.task.id} · ${history.task.status}`)}`);
      if (!history.entries.length) return println(color.dim('no messages or events yet'));
      for (const entry of history.entries) println(describeEntry(entry));
    });
}

const ROLE_COLORS: Record<string, (s: string) => string> = {
  USER: color.cyan,
  ASSISTANT: color.green,
  SYSTEM: color.magenta,
  TOOL: color.blue,
};
const EVENT_COLORS: Record<string, (s: string) => string> = {
  ERROR: color.red,
  TOOL_CALL: color.yellow,
  TOOL_RESULT: color.blue,
};

function describeEntry(entry: HistoryEntry): string {
  const time = color.dim(when(entry.createdAt).padEnd(24));
  if (entry.kind === 'message') {
    const label = (ROLE_COLORS[entry.role] ?? String)(entry.role.toLowerCase().padEnd(11));
    const calls = entry.toolCalls == null ? '' : color.dim(`  [tool calls: ${summarize(entry.toolCalls, 60)}]`);
    return `${time} ${label} ${summarize(entry.content, 100)}${calls}`;
  }
  const label = (EVENT_COLORS[entry.type] ?? color.dim)(entry.type.toLowerCase().padEnd(11));
  return `${time} ${label} ${summarize(entry.data, 100)}`;
}
