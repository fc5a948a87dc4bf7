// What an import reads from a transcript, whatever its source: a tree of messages keyed by the
// source's own record ids, the task events they imply, and the lines it could not use (with why).
import type { MessageRole, TaskEventType } from '../../generated/prisma/client.js';

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
  line: number;
}

export interface DraftEvent {
  /** The message this event came from (a tool call or result inside it), if any. */
  messageKey: string | null;
  type: TaskEventType;
  data: Record<string, unknown>;
  createdAt: Date | null;
}

export interface TranscriptSkip {
  line: number;
  reason: string;
}

export interface TranscriptDraft {
  /** `<source>:<session id>`: a second import of the same session adds to the same task. */
  sessionKey: string;
  name: string | null;
  prompt: string | null;
  messages: DraftMessage[];
  /** The message the task's head should point at (the most recent leaf of the main line). */
  headKey: string | null;
  events: DraftEvent[];
  skipped: TranscriptSkip[];
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

/** Lines of a JSONL text, 1-based, blank lines left out; a line that is not JSON is `torn`. */
export function* jsonLines(content: string): Generator<{ line: number; value: unknown } | { line: number; torn: string }> {
  const lines = content.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i].trim();
    if (text === '') continue;
    try {
      yield { line: i + 1, value: JSON.parse(text) };
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
