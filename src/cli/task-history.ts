// `makima task history <task>` (alias `task-history`): what a task said, did and went through — its
// conversation, its events (output, tool calls, tool results, errors, status lines) and its history
// (created, status changes, checkpoints, rewinds, resumes, forks) interleaved by time, for people or
// as JSON.
import type { Command } from 'commander';
import { graphql } from '../generated/gql/index.js';
import type { CliCommand } from './command.js';
import { allNodes, clientCommand, clientFrom, type ApiClient, type ClientOptions } from './client.js';
import { displayData } from './display.js';
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

const TaskLifecycle = graphql(`
  query CliTaskLifecycle($task: ID!, $after: String) {
    task(id: $task) {
      history(first: 100, after: $after, filter: { eventTypes: [TASK, CHECKPOINT, CHAT] }) {
        edges { node { seq eventType eventSubtype data createdAt } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
`);

/**
 * History kinds that the conversation and the events already tell (a message appended, output
 * recorded) or that are noise here (a lease renewed every half lease).
 */
const TOLD_ELSEWHERE = new Set(['CHAT/message', 'TASK/output', 'TASK/lease_renewed']);

type Message = { id: string; index: number; role: string; content: unknown; toolCalls?: unknown; createdAt: string };
type TaskEvent = { id: string; seq: number; type: string; data: unknown; createdAt: string };
type Change = { seq: string; eventType: string; eventSubtype?: string | null; data: unknown; createdAt: string };
export type HistoryEntry = ({ kind: 'message' } & Message) | ({ kind: 'event' } & TaskEvent) | ({ kind: 'change' } & Change);

/**
 * The streams, each already oldest first, merged by time; on a tie the earlier stream wins
 * (a change — the task created, a checkpoint — before the message or event of the same instant).
 */
function interleave(...streams: HistoryEntry[][]): HistoryEntry[] {
  const out: HistoryEntry[] = [];
  const next = streams.map(() => 0);
  for (;;) {
    let pick = -1;
    for (let i = 0; i < streams.length; i++) {
      const entry = streams[i][next[i]];
      if (entry && (pick < 0 || Date.parse(entry.createdAt) < Date.parse(streams[pick][next[pick]].createdAt))) pick = i;
    }
    if (pick < 0) return out;
    out.push(streams[pick][next[pick]++]);
  }
}

async function loadTaskHistory(client: ApiClient, task: string) {
  let info: { id: string; name: string; status: string } | undefined;
  const messages = await allNodes(async (after) => {
    const { task: t } = await client.request(TaskConversation, { task, after });
    info = { id: t!.id, name: t!.name, status: t!.status };
    return t!.conversation;
  });
  const events = await allNodes(async (after) => (await client.request(TaskEvents, { task, after })).task!.events);
  const newestFirst = await allNodes(async (after) => (await client.request(TaskLifecycle, { task, after })).task!.history);
  const changes = newestFirst
    .reverse()
    .filter((c) => !TOLD_ELSEWHERE.has(`${c.eventType}/${c.eventSubtype}`))
    .map((c) => ({ kind: 'change' as const, ...c, data: displayData(c.data) }));
  return {
    task: info!,
    entries: interleave(
      changes,
      messages.map((m) => ({ kind: 'message' as const, ...m })),
      events.map((e) => ({ kind: 'event' as const, ...e })),
    ),
  };
}

export const taskHistory: CliCommand = { name: 'task history', aliases: ['task-history'], define: defineTaskHistory };

function defineTaskHistory(cmd: Command): void {
  clientCommand(cmd.argument('<task>', 'the task: its number (42), name, id or branch prefix, or ID'))
    .description("show a task's conversation, events (output, tool calls, results, errors) and changes (status, checkpoints, rewinds) by time")
    .action(async (task: string, opts: ClientOptions & { json?: boolean }) => {
      const history = await loadTaskHistory(clientFrom(opts), task);
      if (opts.json) return printJson(history);
      println(`${color.bold(history.task.name)} ${color.dim(`${history.task.id} · ${history.task.status}`)}`);
      if (!history.entries.length) return println(color.dim('no messages, events or changes yet'));
      for (const entry of history.entries) println(describeEntry(entry));
    });
}

export const ROLE_COLORS: Record<string, (s: string) => string> = {
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
    return `${time} ${label} ${summarize(foldThoughts(entry.content), 100)}${calls}`;
  }
  if (entry.kind === 'change') {
    const label = color.magenta(`${entry.eventType}/${entry.eventSubtype ?? ''}`.toLowerCase().padEnd(11));
    return `${time} ${label} ${describeChange(entry.data)}`;
  }
  const label = (EVENT_COLORS[entry.type] ?? color.dim)(entry.type.toLowerCase().padEnd(11));
  return `${time} ${label} ${summarize(foldThoughts(entry.data), 100)}`;
}

/**
 * A message's content, or an event's data, with the agent's thinking folded to its length (ACP
 * `thought` blocks and thought chunks, docs/design.md §15): the reply is what a reader scans for.
 */
export function foldThoughts(value: unknown): unknown {
  const fold = (b: unknown) => {
    const block = b as { type?: unknown; text?: unknown } | null;
    return block?.type === 'thought' && typeof block.text === 'string' ? `▸ thought (${block.text.length} characters)` : b;
  };
  if (Array.isArray(value)) {
    const blocks = value.map(fold);
    // ACP content blocks read as their text; anything else keeps its JSON.
    return blocks.every((b) => typeof b === 'string' || (b as { type?: unknown })?.type === 'text') ? blocks.map((b) => (typeof b === 'string' ? b : (b as { text: string }).text)).join(' ') : blocks;
  }
  const data = value as { acp?: unknown; content?: unknown } | null;
  if (data?.acp === 'agent_thought_chunk') return fold(data.content);
  return value;
}

/** A change's data in one line: `FROM → TO` first when it is a status change, then the rest. */
function describeChange(data: unknown): string {
  if (!data || typeof data !== 'object') return summarize(data, 100);
  const { from, to, ...rest } = data as Record<string, unknown>;
  const move = typeof from === 'string' && typeof to === 'string' ? `${from} → ${to}  ` : '';
  return `${move}${summarize(move ? rest : data, 100)}`;
}
