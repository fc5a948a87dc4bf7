// What an import reads from a transcript, whatever its source: a tree of messages keyed by the
// source's own record ids, the task events they imply, and the lines it could not use (with why).
// Tool use is written the one way every reader shares: `tool_use` and `tool_result` content blocks
// (Claude Code's), mirrored in the message's toolCalls and as TOOL_CALL/TOOL_RESULT task events.
import crypto from 'node:crypto';
import { textProblem } from '../../db/json.js';
import type { MessageRole, TaskEventType } from '../../generated/prisma/client.js';

/**
 * The longest record key (Claude Code's `uuid`, a makima message id) or session id an import
 * takes: they are indexed, and PostgreSQL's index rows hold a few kilobytes at most.
 */
export const MAX_RECORD_KEY_LENGTH = 200;

export interface DraftMessage {
  /** The record's id in the source (Claude Code's `uuid`, makima's message id). */
  key: string;
  parentKey: string | null;
  role: MessageRole;
  content: unknown;
  toolCalls: unknown;
  createdAt: Date | null;
  /** What the source said beyond role and content (model, usage, sidechain, …); kept beside the message. */
  metadata: Record<string, unknown> | null;
  /** A sub-agent's message (Claude Code `isSidechain`): never the head of the main line. */
  sidechain: boolean;
  /** A user message the agent's harness wrote (Codex's `<environment_context>`): never the task's prompt. */
  injected?: boolean;
  line: number;
}

export interface DraftEvent {
  /** The message this event came from (a tool call or result inside it), if any. */
  messageKey: string | null;
  type: TaskEventType;
  data: Record<string, unknown>;
  createdAt: Date | null;
  line: number;
}

export interface TranscriptSkip {
  line: number;
  reason: string;
}

export interface TranscriptDraft {
  /** `<source>:<session id>`: a second import of the same session adds to the same task. */
  sessionKey: string;
  name: string | null;
  /** The prompt the source names for the task (makima's header); null: the first imported user message's text. */
  prompt: string | null;
  messages: DraftMessage[];
  /** The message the task's head should point at (the most recent leaf of the main line). */
  headKey: string | null;
  events: DraftEvent[];
  skipped: TranscriptSkip[];
}

/**
 * The session key of a source's session id: `<source>:<id>`. An id that is not storable text (a NUL,
 * a lone surrogate) or longer than MAX_RECORD_KEY_LENGTH is keyed by the SHA-256 of its exact UTF-16
 * code units instead, so that two different ids never become one key (a driver would store a lone
 * surrogate as U+FFFD, merging sessions) and the same id always does.
 */
export function sessionKeyOf(source: string, id: string): string {
  if (!textProblem(id, MAX_RECORD_KEY_LENGTH)) return `${source}:${id}`;
  return `${source}:sha256-${crypto.createHash('sha256').update(Buffer.from(id, 'utf16le')).digest('hex')}`;
}

/** Text a transcript gives for a task's name or prompt, or why it cannot be used (a NUL, a lone surrogate, too long). */
export function usableText(value: unknown, maxLength: number): { text: string | null; problem?: string } {
  if (typeof value !== 'string') return { text: null };
  const problem = textProblem(value, maxLength);
  return problem ? { text: null, problem } : { text: value };
}

/** The text a person wrote in a message: the content itself when it is a string, else its first text block. */
export function firstText(content: unknown): string | null {
  if (typeof content === 'string') return content;
  const block = Array.isArray(content) ? content.map(asRecord).find((b) => b?.type === 'text' && typeof b.text === 'string') : undefined;
  return (block?.text as string | undefined) ?? null;
}

type Block = Record<string, unknown>;

/** The content's blocks (objects only), or none when the content is a string. */
export function blocksOf(content: unknown): Block[] {
  return Array.isArray(content) ? content.map(asRecord).filter((b): b is Block => b !== null) : [];
}

/** Tool calls and tool results of a message's content, as its `toolCalls`, in block order. */
export function toolCallsOf(content: unknown): Record<string, unknown>[] {
  return blocksOf(content).flatMap((b): Record<string, unknown>[] => {
    if (b.type === 'tool_use') return [{ type: 'tool_use', id: b.id, name: b.name, input: b.input }];
    if (b.type === 'tool_result') return [{ type: 'tool_result', toolUseId: b.tool_use_id, isError: b.is_error === true, content: b.content }];
    return [];
  });
}

/** TOOL_CALL and TOOL_RESULT events for the tool blocks of a message, so search finds shell commands. */
export function toolEventsOf(m: DraftMessage): DraftEvent[] {
  return ((m.toolCalls as Record<string, unknown>[] | null) ?? []).map((call) =>
    call.type === 'tool_use'
      ? { messageKey: m.key, type: 'TOOL_CALL' as const, createdAt: m.createdAt, line: m.line, data: compact({ toolUseId: call.id, name: call.name, input: call.input })! }
      : { messageKey: m.key, type: 'TOOL_RESULT' as const, createdAt: m.createdAt, line: m.line, data: compact({ toolUseId: call.toolUseId, isError: call.isError, content: call.content })! },
  );
}

/** A time from a transcript, or null when it is missing or not a time. */
export function parseTime(value: unknown): Date | null {
  if (typeof value !== 'string' && typeof value !== 'number') return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** The record as an object, or null for anything else (an array, a number, null). */
export function asRecord(value: unknown): Record<string, unknown> | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

/** `value` without its undefined entries, or null when nothing is left. */
export function compact(value: Record<string, unknown>): Record<string, unknown> | null {
  const out = Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
  return Object.keys(out).length ? out : null;
}

/** Lines of a JSONL text, 1-based, blank lines left out, each with its (trimmed) text; a line that is not JSON is `torn`. */
export function* jsonLines(content: string): Generator<{ line: number; value: unknown; text: string } | { line: number; torn: string }> {
  const lines = content.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i].trim();
    if (text === '') continue;
    try {
      yield { line: i + 1, value: JSON.parse(text), text };
    } catch (err) {
      yield { line: i + 1, torn: `torn line: not valid JSON (${(err as Error).message.slice(0, 80)})` };
    }
  }
}

/**
 * The head of a message tree: the most recent leaf (latest createdAt, then latest in the file) among
 * messages that are not a sub-agent's; among all leaves when every message is a sub-agent's.
 */
export function mostRecentLeaf(messages: DraftMessage[]): string | null {
  const parentsIn = (list: DraftMessage[]) => new Set(list.map((m) => m.parentKey).filter((k): k is string => k !== null));
  const mainLine = messages.filter((m) => !m.sidechain);
  const mainParents = parentsIn(mainLine);
  const allParents = parentsIn(messages);
  const pool = mainLine.length ? mainLine.filter((m) => !mainParents.has(m.key)) : messages.filter((m) => !allParents.has(m.key));
  let best: DraftMessage | null = null;
  for (const m of pool) {
    if (!best || (m.createdAt?.getTime() ?? 0) >= (best.createdAt?.getTime() ?? 0)) best = m;
  }
  return best?.key ?? null;
}
