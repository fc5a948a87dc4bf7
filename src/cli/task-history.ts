// `makima task history <task>` (alias `task-history`): what a task said, did and went through — its
// conversation, its events (output, tool calls, tool results, errors, status lines) and its history
// (created, status changes, checkpoints, rewinds, resumes, forks) interleaved by time, for people or
// as JSON. For people it reads as a conversation (docs/cli.md, "task history"): content as text,
// thinking folded to one line after the reply (`--thinking` shows it), each tool call once with its
// result under it, and an ACP agent's streamed chunks folded into the turn they belong to.
import type { Command } from 'commander';
import { graphql } from '../generated/gql/index.js';
import type { CliCommand } from './command.js';
import { allNodes, clientCommand, clientFrom, type ApiClient, type ClientOptions } from './client.js';
import { displayData } from './display.js';
import { globalId } from '../global-id.js';
import { color, printJson, println, summarize, when } from './output.js';
import { acpChunkOf, callsShown, chunkRole, mentionOf, onlyShownResults, resultsByCall, resultText, thinkingLine, thinkingOf, toolCallIdOf, type ToolResult } from '../modules/transcripts/index.js';

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
    .option('--thinking', "show the agent's thinking in full (folded to its length otherwise)")
    .action(async (task: string, opts: ClientOptions & { json?: boolean; thinking?: boolean }) => {
      const history = await loadTaskHistory(clientFrom(opts), task);
      if (opts.json) return printJson(history);
      println(`${color.bold(history.task.name)} ${color.dim(`${history.task.id} · ${history.task.status}`)}`);
      if (!history.entries.length) return println(color.dim('no messages, events or changes yet'));
      for (const line of readableHistory(history.entries, opts.thinking === true)) println(line);
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

/** The most of one message's text shown; the JSON output and the exports have all of it. */
const MAX_TEXT = 2000;
/** Where a line's text starts: after the time (24) and the kind (11), each with a space. */
const INDENT = ' '.repeat(37);

type MessageEntry = Extract<HistoryEntry, { kind: 'message' }>;
type EventEntry = Extract<HistoryEntry, { kind: 'event' }>;

/** What the reader is shown of the whole history: which entries say nothing new, and what goes under what. */
interface Reading {
  results: Map<string, ToolResult>;
  shownCalls: Set<string>;
  /** ACP tool events shown under their TOOL_CALL, by toolCallId. */
  underCall: Map<string, EventEntry[]>;
  hidden: Set<HistoryEntry>;
  thinking: boolean;
}

/**
 * The history as lines for people: an import's tool events (copies of its messages' tool blocks), a
 * TOOL message whose results are shown under their calls and ACP chunks whose turn's message is
 * there are left out; an ACP tool call's result is shown under it; chunks of a turn still running
 * are joined into one line of text.
 */
export function readableHistory(entries: HistoryEntry[], thinking: boolean): string[] {
  const messages = entries.filter((e): e is MessageEntry => e.kind === 'message');
  const events = entries.filter((e): e is EventEntry => e.kind === 'event');
  const messageIds = new Set(messages.map((m) => m.id));
  const r: Reading = { results: resultsByCall(messages), shownCalls: callsShown(messages), underCall: new Map(), hidden: new Set(), thinking };
  const announced = new Set(events.filter((e) => e.type === 'TOOL_CALL').map((e) => toolCallIdOf(e.data)));
  for (const e of events) {
    const data = (e.data ?? {}) as Record<string, unknown>;
    // An import's tool events name their message by its UUID; the conversation's messages have global IDs.
    if (typeof data.messageId === 'string' && (messageIds.has(data.messageId) || messageIds.has(globalId('ConversationMessage', data.messageId)))) r.hidden.add(e);
    const callId = toolCallIdOf(e.data);
    if (callId !== null && announced.has(callId) && (e.type === 'TOOL_RESULT' || (e.type === 'STATUS' && (data.acp === 'tool_call_update' || data.acp === 'permission')))) {
      r.hidden.add(e);
      if (e.type === 'TOOL_RESULT' || data.acp === 'permission') r.underCall.set(callId, [...(r.underCall.get(callId) ?? []), e]);
    }
    // An imported result whose message is off the conversation's path (rewound away after the call): under its call all the same.
    if (e.type === 'TOOL_RESULT' && typeof data.toolUseId === 'string' && r.shownCalls.has(data.toolUseId) && !r.results.has(data.toolUseId)) {
      r.results.set(data.toolUseId, { content: data.content, isError: data.isError === true });
      r.hidden.add(e);
    }
  }
  for (const m of messages) if (m.role === 'TOOL' && onlyShownResults(m.content, r.shownCalls)) r.hidden.add(m);
  // A chunk belongs to the next message of its role: that message holds it.
  const nextRole = new Set<string>();
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i];
    if (e.kind === 'message') nextRole.add(e.role);
    const chunk = e.kind === 'event' ? acpChunkOf(e.data) : null;
    if (chunk && nextRole.has(chunkRole(chunk.kind))) r.hidden.add(e);
  }
  const lines: string[] = [];
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    if (r.hidden.has(entry)) continue;
    const chunk = entry.kind === 'event' ? acpChunkOf(entry.data) : null;
    if (!chunk) {
      lines.push(...describeEntry(entry, r));
      continue;
    }
    // A turn still being written: its chunks, joined.
    const run: unknown[] = [chunk.content];
    while (i + 1 < entries.length && acpChunkOf((entries[i + 1] as EventEntry).data)?.kind === chunk.kind && entries[i + 1].kind === 'event') run.push(acpChunkOf((entries[++i] as EventEntry).data)!.content);
    const label = color.dim(`${chunkRole(chunk.kind).toLowerCase()}…`.padEnd(11));
    lines.push(...entryLines(entry.createdAt, label, contentLines(joined(run), r)));
  }
  return lines;
}

/** Chunks as the blocks they make: consecutive text (or thought) chunks are one block, as in the turn's message. */
function joined(chunks: unknown[]): unknown[] {
  const blocks: { type?: unknown; text?: unknown }[] = [];
  for (const c of chunks) {
    const block = (c ?? {}) as { type?: unknown; text?: unknown };
    const last = blocks.at(-1);
    if (last && (block.type === 'text' || block.type === 'thought') && last.type === block.type && typeof last.text === 'string' && typeof block.text === 'string') blocks[blocks.length - 1] = { ...last, text: last.text + block.text };
    else blocks.push(block);
  }
  return blocks;
}

/** A line with its time and label, and the lines under it indented to its text. */
function entryLines(at: string, label: string, [first, ...rest]: string[]): string[] {
  return [`${color.dim(when(at).padEnd(24))} ${label} ${first ?? ''}`.trimEnd(), ...rest.map((l) => `${INDENT}${l}`)];
}

function describeEntry(entry: HistoryEntry, r: Reading): string[] {
  if (entry.kind === 'message') {
    const label = (ROLE_COLORS[entry.role] ?? String)(entry.role.toLowerCase().padEnd(11));
    return entryLines(entry.createdAt, label, [...contentLines(entry.content, r), ...toolCallsLines(entry, r)]);
  }
  if (entry.kind === 'change') {
    const label = color.magenta(`${entry.eventType}/${entry.eventSubtype ?? ''}`.toLowerCase().padEnd(11));
    return entryLines(entry.createdAt, label, [describeChange(entry.data)]);
  }
  const label = (EVENT_COLORS[entry.type] ?? color.dim)(entry.type.toLowerCase().padEnd(11));
  const callId = toolCallIdOf(entry.data);
  if (entry.type === 'TOOL_CALL' && callId !== null) {
    const d = entry.data as Record<string, unknown>;
    const call = `${String(d.title ?? d.kind ?? callId)}${d.kind ? color.dim(` (${String(d.kind)})`) : ''}${d.rawInput == null ? '' : `  ${summarize(d.rawInput, 80)}`}`;
    return entryLines(entry.createdAt, label, [call, ...(r.underCall.get(callId) ?? []).map((e) => color.dim(`  ${underCallText(e.data as Record<string, unknown>)}`))]);
  }
  const d = (entry.data ?? {}) as Record<string, unknown>;
  // An import's tool events (of messages off the conversation's path) read like the message's blocks.
  if (entry.type === 'TOOL_CALL' && typeof d.toolUseId === 'string') return entryLines(entry.createdAt, label, toolUseLines({ name: d.name, input: d.input }, r));
  if (entry.type === 'TOOL_RESULT' && typeof d.toolUseId === 'string') return entryLines(entry.createdAt, label, [`${d.isError === true ? 'error' : 'result'}: ${summarize(resultText(d.content), 200)}`]);
  return entryLines(entry.createdAt, label, [summarize(foldThoughts(entry.data), 100)]);
}

/** What goes under an ACP tool call: its result (its content as text, else its raw output), or the permission decision about it. */
function underCallText(d: Record<string, unknown>): string {
  if (d.acp === 'permission') return `permission ${String(d.decision ?? '?')}${d.policy ? ` (policy ${String(d.policy)})` : ''}`;
  const raw = d.rawOutput as { output?: unknown } | null | undefined;
  const text = Array.isArray(d.content) && d.content.length ? resultText(d.content) : typeof raw?.output === 'string' ? raw.output : raw == null ? '' : summarize(raw, 200);
  return `← ${String(d.status ?? 'result')}${text ? `: ${summarize(text, 200)}` : ''}`;
}

/** A message's content as lines of text: its text blocks in full (up to MAX_TEXT), other blocks as one line each, tool calls with their results under them, and its thinking last, folded. */
function contentLines(content: unknown, r: Reading): string[] {
  if (typeof content === 'string') return textLines(content);
  const text = (content as { text?: unknown } | null)?.text;
  if (!Array.isArray(content)) return typeof text === 'string' ? textLines(text) : [summarize(content, 100)];
  const body: string[] = [];
  const thoughts: string[] = [];
  for (const value of content) {
    const b = (value ?? {}) as Record<string, unknown>;
    const thought = thinkingOf(b);
    if (thought !== null) thoughts.push(thought);
    else if (typeof value === 'string') body.push(...textLines(value));
    else if (b.type === 'text' && typeof b.text === 'string') body.push(...textLines(b.text));
    else if (b.type === 'tool_use') body.push(...toolUseLines(b, r));
    else if (b.type === 'tool_result') body.push(`← ${b.is_error === true ? 'error' : 'result'}: ${summarize(resultText(b.content), 200)}`);
    else body.push(mentionOf(b));
  }
  const folded = thoughts.flatMap((t) => (r.thinking ? [color.dim('▸ thinking:'), ...textLines(t, Infinity).map((l) => color.dim(`  ${l}`))] : [color.dim(`▸ ${thinkingLine(t)}`)]));
  return [...body, ...folded];
}

/** A tool call and, under it, its result (from the TOOL message that answers it). */
function toolUseLines(b: Record<string, unknown>, r: Reading): string[] {
  const call = `→ ${String(b.name ?? 'tool')}  ${typeof b.input === 'string' ? summarize(b.input, 100) : summarize(b.input ?? {}, 100)}`;
  const result = typeof b.id === 'string' ? r.results.get(b.id) : undefined;
  return result ? [call, color.dim(`  ← ${result.isError ? 'error' : 'result'}: ${summarize(resultText(result.content), 200)}`)] : [call];
}

/** Tool calls given beside the content: not again when the content has them as blocks or (ACP) a TOOL_CALL event shows each. */
function toolCallsLines(m: MessageEntry, r: Reading): string[] {
  if (m.toolCalls == null) return [];
  if (Array.isArray(m.content) && m.content.some((b) => (b as { type?: unknown } | null)?.type === 'tool_use' || (b as { type?: unknown } | null)?.type === 'tool_result')) return [];
  const calls = Array.isArray(m.toolCalls) ? m.toolCalls : [m.toolCalls];
  const announced = new Set([...r.underCall.keys()]);
  const acp = calls.every((c) => toolCallIdOf(c) !== null);
  if (acp) {
    const unshown = calls.filter((c) => !announced.has(toolCallIdOf(c)!));
    return unshown.map((c) => `→ ${String((c as { title?: unknown }).title ?? toolCallIdOf(c))}${(c as { status?: unknown }).status ? color.dim(` (${String((c as { status?: unknown }).status)})`) : ''}`);
  }
  return [color.dim(`[tool calls: ${summarize(m.toolCalls, 60)}]`)];
}

/** Text as lines, cut at `max` characters (and said so). */
function textLines(text: string, max = MAX_TEXT): string[] {
  const cut = text.length > max ? `${text.slice(0, max)}… (${(text.length - max).toLocaleString('en-US')} more chars)` : text;
  const lines = cut.replace(/\s+$/, '').split('\n');
  return lines.length ? lines : [''];
}

/**
 * A message's content, or an event's data, in one line for a summary (task compare): text blocks as
 * their text, the agent's thinking folded to its length (docs/design.md §15), other blocks as a mention.
 */
export function foldThoughts(value: unknown): unknown {
  if (Array.isArray(value)) {
    const text = value.filter((b) => thinkingOf(b) === null).map((b) => (typeof b === 'string' ? b : (b as { type?: unknown })?.type === 'text' ? String((b as { text?: unknown }).text) : mentionOf(b)));
    const thoughts = value.map(thinkingOf).filter((t): t is string => t !== null).map((t) => `▸ ${thinkingLine(t)}`);
    return [...text, ...thoughts].join(' ');
  }
  const chunk = acpChunkOf(value);
  if (chunk) return foldThoughts([chunk.kind === 'agent_thought_chunk' && typeof (chunk.content as { text?: unknown } | null)?.text === 'string' ? { type: 'thought', text: (chunk.content as { text: string }).text } : chunk.content]);
  return value;
}

/** A change's data in one line: `FROM → TO` first when it is a status change, then the rest. */
function describeChange(data: unknown): string {
  if (!data || typeof data !== 'object') return summarize(data, 100);
  const { from, to, ...rest } = data as Record<string, unknown>;
  const move = typeof from === 'string' && typeof to === 'string' ? `${from} → ${to}  ` : '';
  return `${move}${summarize(move ? rest : data, 100)}`;
}
