// Reading a Codex CLI rollout (~/.codex/sessions/YYYY/MM/DD/rollout-<time>-<id>.jsonl; docs/api.md,
// "Import"): one JSON record per line, `{ timestamp, type, payload }` — `session_meta`, `response_item`
// (the model's input and output: messages, reasoning, tool calls and their outputs), `event_msg`
// (runtime events, mostly copies of response items), `turn_context` and `compacted`. Rollouts
// written before the envelope (before about September 2025) start with the meta object itself and
// hold bare response items. A rollout is a line, not a tree: each message replies to the one before,
// except after a rollback (`thread_rolled_back`), which starts a branch from an earlier user turn.
// Records have no ids of their own, so a record is known by its line number and a hash of its text:
// Codex only ever appends, so a grown file keeps them.
import crypto from 'node:crypto';
import { storableJsonSize } from '../../db/json.js';
import { BadInputError } from '../../errors.js';
import type { MessageRole } from '../../generated/prisma/client.js';
import { MAX_PROMPT_LENGTH } from '../tasks/index.js';
import { asRecord, compact, jsonLines, parseTime, sessionKeyOf, toolCallsOf, toolEventsOf, usableText, type DraftMessage, type TranscriptDraft, type TranscriptSkip } from './draft.js';

// Maps, not object literals: a record's type or role is looked up as it is written, `__proto__` too.

/** Events that repeat a response item: the response item is the one imported. */
const EVENT_COPIES = new Map([
  ['user_message', 'message'],
  ['agent_message', 'message'],
  ['agent_reasoning', 'reasoning'],
  ['agent_reasoning_raw_content', 'reasoning'],
]);

/** Response items that are not conversation, and what they are. */
const NOT_CONVERSATION = new Map([
  ['ghost_snapshot', "Codex's git snapshot for its undo"],
  ['compaction', "a compaction summary OpenAI encrypted, unreadable here (the readable one is the compacted record's)"],
  ['compaction_summary', "a compaction summary OpenAI encrypted, unreadable here (the readable one is the compacted record's)"],
]);

/** User messages Codex writes itself (the project's agent instructions, the environment, an interrupted turn): not the person's words. */
const INJECTED = /^\s*(<user_instructions>|<environment_context>|# AGENTS\.md instructions|<INSTRUCTIONS>|<turn_aborted>)/;

/** The most the session's meta (id, version, git, …) may take beside the first message. */
const MAX_SESSION_META_BYTES = 16 * 1024;

const ROLES = new Map<unknown, MessageRole>([
  ['user', 'USER'],
  ['assistant', 'ASSISTANT'],
  ['developer', 'SYSTEM'],
  ['system', 'SYSTEM'],
]);

type Item = Record<string, unknown>;

/** Where a record is: its line, the line's text (with the line number, its key) and its time. */
interface At {
  line: number;
  text: string;
  time: Date | null;
}

/** Where the reading stands: the messages so far, the branch being extended, the calls awaiting output. */
interface Reading {
  messages: DraftMessage[];
  skipped: TranscriptSkip[];
  /** The message the next one replies to (the head of the branch being written). */
  parent: string | null;
  /** For each user turn on the current branch, the message it replied to: where a rollback goes back to. */
  turns: (string | null)[];
  calls: Map<string, { line: number; name: unknown; answeredOn?: number }>;
  /** The last model output since the last token count: the message a token count is about. */
  unbilled: DraftMessage | null;
  sessionId: string | null;
  session: Record<string, unknown> | null;
  sessionTime: Date | null;
  name: string | null;
  model: unknown;
  cwd: unknown;
}

/** A content item of a Codex message as a content block: text as `text`, an image as `image`; others kept as they are. */
function blockOf(item: Item): Item {
  if ((item.type === 'input_text' || item.type === 'output_text') && typeof item.text === 'string') return { type: 'text', text: item.text };
  if (item.type !== 'input_image' || typeof item.image_url !== 'string') return item;
  const data = /^data:([^;,]+);base64,(.*)$/s.exec(item.image_url);
  return { type: 'image', source: data ? { type: 'base64', media_type: data[1], data: data[2] } : { type: 'url', url: item.image_url } };
}

function itemsOf(value: unknown): Item[] {
  return Array.isArray(value) ? value.map(asRecord).filter((i): i is Item => i !== null) : [];
}

/** A tool's output as tool_result content and whether it failed: a string, content items, or (older rollouts) `{ content, success }`. */
function outputOf(output: unknown): { content: unknown; isError: boolean } {
  if (Array.isArray(output)) return { content: itemsOf(output).map(blockOf), isError: false };
  const payload = asRecord(output);
  if (payload && 'content' in payload) return { content: outputOf(payload.content).content, isError: payload.success === false };
  return { content: output ?? '', isError: false };
}

/** A function call's arguments: the JSON they hold, or the string itself when it is not JSON. */
function argumentsOf(value: unknown): unknown {
  if (typeof value !== 'string') return value ?? {};
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function keyOf(line: number, text: string): string {
  return `${line}:${crypto.createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
}

/** Adds a message replying to the branch's head, which it becomes. */
function add(r: Reading, at: At, role: MessageRole, content: unknown, metadata: Record<string, unknown>, injected = false): void {
  const calls = toolCallsOf(content);
  const m: DraftMessage = {
    key: keyOf(at.line, at.text),
    parentKey: r.parent,
    role,
    content,
    toolCalls: calls.length ? calls : null,
    createdAt: at.time ?? r.sessionTime,
    sidechain: false,
    injected,
    line: at.line,
    metadata: compact({ source: 'codex', ...metadata, cwd: r.cwd, session: r.messages.length === 0 ? (r.session ?? undefined) : undefined }),
  };
  r.messages.push(m);
  r.parent = m.key;
  if (role === 'ASSISTANT') r.unbilled = m;
}

function readMessage(r: Reading, at: At, item: Item): void {
  const role = ROLES.get(item.role);
  if (!role || !Array.isArray(item.content)) return void r.skipped.push({ line: at.line, reason: `a message without a known role (user, assistant, developer) or content` });
  const content = itemsOf(item.content).map(blockOf);
  const first = content.find((b) => b.type === 'text')?.text;
  const injected = role === 'USER' && typeof first === 'string' && INJECTED.test(first);
  if (role === 'USER' && !injected) r.turns.push(r.parent);
  add(r, at, role, content, { type: 'message', role: role === 'SYSTEM' ? item.role : undefined, model: role === 'ASSISTANT' ? r.model : undefined, phase: item.phase, injected: injected || undefined }, injected);
}

function readReasoning(r: Reading, at: At, item: Item): void {
  const texts = [...itemsOf(item.summary), ...itemsOf(item.content)].map((i) => i.text).filter((t): t is string => typeof t === 'string' && t !== '');
  if (texts.length === 0) return void r.skipped.push({ line: at.line, reason: 'reasoning with no readable text (only what OpenAI encrypted)' });
  add(r, at, 'ASSISTANT', [{ type: 'thinking', thinking: texts.join('\n\n') }], { type: 'reasoning', model: r.model, encrypted: typeof item.encrypted_content === 'string' || undefined });
}

/** A tool call of any kind, as a tool_use block; a call with a call_id awaits its output. */
function readCall(r: Reading, at: At, item: Item, name: unknown, input: unknown): void {
  const callId = typeof item.call_id === 'string' ? item.call_id : typeof item.id === 'string' ? item.id : null;
  if (callId !== null) {
    const earlier = r.calls.get(callId);
    if (earlier) return void r.skipped.push({ line: at.line, reason: `a second call with call_id ${callId.slice(0, 80)} (the first is on line ${earlier.line})` });
    r.calls.set(callId, { line: at.line, name });
  }
  add(r, at, 'ASSISTANT', [{ type: 'tool_use', id: callId, name, input }], { type: item.type, model: r.model, status: item.status });
}

/** A tool's output, paired with its call by call_id: one the file never called is skipped. */
function readOutput(r: Reading, at: At, item: Item): void {
  const callId = typeof item.call_id === 'string' ? item.call_id : null;
  const call = callId === null ? undefined : r.calls.get(callId);
  const shown = callId === null ? 'no call_id' : `call_id ${callId.slice(0, 80)}`;
  if (!call) return void r.skipped.push({ line: at.line, reason: `${item.type} for ${shown}, which no call before it in the file made` });
  if (call.answeredOn !== undefined) return void r.skipped.push({ line: at.line, reason: `a second output for ${shown} (the first is on line ${call.answeredOn})` });
  call.answeredOn = at.line;
  const { content, isError } = outputOf(item.output);
  add(r, at, 'TOOL', [{ type: 'tool_result', tool_use_id: callId, content, is_error: isError }], { type: item.type, name: call.name, callLine: call.line });
}

function readResponseItem(r: Reading, at: At, item: Item): void {
  const type = String(item.type);
  switch (type) {
    case 'message':
      return readMessage(r, at, item);
    case 'reasoning':
      return readReasoning(r, at, item);
    case 'function_call':
      return readCall(r, at, item, item.name, argumentsOf(item.arguments));
    case 'custom_tool_call':
      return readCall(r, at, item, item.name, item.input);
    case 'local_shell_call':
      return readCall(r, at, item, 'local_shell', item.action);
    case 'web_search_call':
      // A search the model ran on OpenAI's side: no output follows it in the file.
      add(r, at, 'ASSISTANT', [{ type: 'tool_use', id: item.id ?? null, name: 'web_search', input: item.action ?? {} }], { type, model: r.model, status: item.status });
      return;
    case 'function_call_output':
    case 'custom_tool_call_output':
      return readOutput(r, at, item);
    default: {
      const what = NOT_CONVERSATION.get(type);
      r.skipped.push({ line: at.line, reason: what ? `${type} response item: ${what}, not part of the conversation` : `unknown response item type "${type.slice(0, 80)}"` });
    }
  }
}

/** A compaction: Codex replaced the history before it by a summary, kept as a system message that says so. */
function readCompacted(r: Reading, at: At, payload: Item): void {
  const summary = typeof payload.message === 'string' ? payload.message.trim() : '';
  const text = summary
    ? `Codex compacted the conversation here: the model went on from this summary of what came before, not from the messages above.\n\n${summary}`
    : 'Codex compacted the conversation here: the model went on from a summary of what came before (OpenAI keeps it encrypted; it is not in the file).';
  const replaced = Array.isArray(payload.replacement_history) ? payload.replacement_history.length : undefined;
  add(r, at, 'SYSTEM', [{ type: 'text', text }], { type: 'compacted', replacementHistoryItems: replaced });
}

/** Token usage of the model output before it (Codex's `token_count`), kept beside that message as Claude Code's usage is. */
function readTokenCount(r: Reading, line: number, payload: Item): void {
  const info = asRecord(payload.info);
  // Rollouts before about August 2025 give the counts on the event itself.
  const usage = asRecord(info?.last_token_usage) ?? (typeof payload.input_tokens === 'number' ? compact({ ...payload, type: undefined }) : null);
  if (!usage) return void r.skipped.push({ line, reason: 'token_count event without token usage (only rate limits)' });
  if (!r.unbilled) return void r.skipped.push({ line, reason: 'token_count event with no model output since the last count' });
  r.unbilled.metadata = { ...r.unbilled.metadata, usage, totalUsage: asRecord(info?.total_token_usage) ?? undefined };
  r.unbilled = null;
}

/** A rollback (Codex's backtrack) drops the last user turns: what follows branches off before them. */
function readRollback(r: Reading, line: number, payload: Item): void {
  const n = payload.num_turns;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > r.turns.length) {
    return void r.skipped.push({ line, reason: `thread_rolled_back event: cannot roll back ${String(n).slice(0, 40)} turns of the ${r.turns.length} before it` });
  }
  r.parent = r.turns[r.turns.length - n];
  r.turns.length -= n;
  r.unbilled = null;
}

function readEvent(r: Reading, line: number, payload: Item): void {
  const type = String(payload.type);
  if (type === 'token_count') return readTokenCount(r, line, payload);
  if (type === 'thread_rolled_back') return readRollback(r, line, payload);
  if (type === 'thread_name_updated') {
    const usable = usableText(payload.thread_name, MAX_PROMPT_LENGTH);
    if (usable.problem) r.skipped.push({ line, reason: `thread_name_updated event: the name ${usable.problem}, so it does not name the task` });
    r.name = usable.text ?? r.name;
    return;
  }
  const copy = EVENT_COPIES.get(type);
  r.skipped.push({ line, reason: copy ? `${type} event: Codex's copy of a ${copy} response item, which is the one imported` : `${type.slice(0, 80)} event: Codex's runtime record, not part of the conversation` });
}

function readMeta(r: Reading, line: number, meta: Item, time: Date | null): void {
  if (r.sessionId !== null) return void r.skipped.push({ line, reason: 'a second session meta (a fork copies its parent\'s): the session is the first one' });
  if (typeof meta.id !== 'string') return void r.skipped.push({ line, reason: 'session meta without an id' });
  r.sessionId = meta.id;
  r.sessionTime = parseTime(meta.timestamp) ?? time;
  r.cwd = meta.cwd;
  const session = compact({ id: meta.id, cliVersion: meta.cli_version, originator: meta.originator, source: meta.source, modelProvider: meta.model_provider, forkedFromId: meta.forked_from_id, git: meta.git });
  // Kept beside the first message only if it cannot cost that message its place.
  try {
    storableJsonSize(session, 'the session meta', MAX_SESSION_META_BYTES);
    r.session = session;
  } catch (err) {
    if (!(err instanceof BadInputError)) throw err;
    r.skipped.push({ line, reason: `${err.message.replace(/ \(MAKIMA_MAX_MESSAGE_BYTES\)$/, '')}, so it is not kept beside the first message (the session is still known by its id)` });
  }
}

/** One line of either format: the envelope `{ timestamp, type, payload }`, or (older rollouts) the meta object and bare response items. */
function readLine(r: Reading, at: { line: number; text: string }, record: Item | null): void {
  const type = typeof record?.type === 'string' ? record.type : null;
  const payload = asRecord(record?.payload);
  if (record && type && payload) {
    const time = parseTime(record.timestamp);
    if (type === 'session_meta') return readMeta(r, at.line, payload, time);
    if (type === 'response_item') return readResponseItem(r, { ...at, time }, payload);
    if (type === 'compacted') return readCompacted(r, { ...at, time }, payload);
    if (type === 'event_msg') return readEvent(r, at.line, payload);
    if (type === 'turn_context') {
      r.model = payload.model ?? r.model;
      r.cwd = payload.cwd ?? r.cwd;
      return;
    }
    return void r.skipped.push({ line: at.line, reason: `unknown record type "${type.slice(0, 80)}"` });
  }
  if (record?.record_type === 'state') return void r.skipped.push({ line: at.line, reason: "Codex's state marker (older rollouts), not part of the conversation" });
  if (record && type === null && typeof record.id === 'string' && r.messages.length === 0) return readMeta(r, at.line, record, null);
  if (record && type) return readResponseItem(r, { ...at, time: parseTime(record.timestamp) }, record);
  r.skipped.push({ line: at.line, reason: 'not a Codex rollout record: no "type"' });
}

export function readCodex(content: string): TranscriptDraft {
  const r: Reading = { messages: [], skipped: [], parent: null, turns: [], calls: new Map(), unbilled: null, sessionId: null, session: null, sessionTime: null, name: null, model: undefined, cwd: undefined };
  let firstLine: string | null = null;
  for (const entry of jsonLines(content)) {
    if ('torn' in entry) {
      r.skipped.push({ line: entry.line, reason: entry.torn });
      continue;
    }
    firstLine ??= entry.text;
    readLine(r, entry, asRecord(entry.value));
  }
  if (r.sessionId === null) r.skipped.unshift({ line: 0, reason: 'no session meta with an id: the session is known by its first line' });
  return {
    sessionKey: r.sessionId === null ? `codex:sha256-${crypto.createHash('sha256').update(firstLine ?? '').digest('hex')}` : sessionKeyOf('codex', r.sessionId),
    name: r.name,
    prompt: null,
    messages: r.messages,
    headKey: r.parent,
    events: r.messages.flatMap(toolEventsOf),
    skipped: r.skipped,
  };
}
