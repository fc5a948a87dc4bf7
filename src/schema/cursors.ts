// The kinds of cursor the API hands out, and what each must look like when it comes back. A list
// declares its kind (`extensions: { cursor }` on its connection type, or on a subscription field),
// and the argument check (arguments.ts) refuses an `after`/`before` of another kind, another
// encoding or an out-of-range number before anything runs — instead of letting it reach the
// database as a malformed key (docs/design.md §5).
import { isUuid } from './ids.js';

export interface CursorKind {
  /** What the list's cursors are, for the refusal ("a position in a conversation"). */
  what: string;
  accepts(cursor: string): boolean;
}

const INT4_MAX = 2n ** 31n - 1n;
const INT8_MAX = 2n ** 63n - 1n;

/**
 * The UTF-8 text inside `value` when it is canonical base64 — the only encoding the API writes —
 * or undefined (base64url, missing padding, stray characters, bytes that are not UTF-8).
 */
export function decodeCanonicalBase64(value: string): string | undefined {
  if (value.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) return undefined;
  const bytes = Buffer.from(value, 'base64');
  if (bytes.toString('base64') !== value) return undefined;
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? text : undefined;
}

/** Whether `text` is a non-negative decimal integer no larger than `max` (no sign, exponent or leading zero). */
export function isIntegerUpTo(text: string, max: bigint): boolean {
  return /^(0|[1-9][0-9]{0,18})$/.test(text) && BigInt(text) <= max;
}

function prismaCursor(what: string, accepts: (chunk: string) => boolean): CursorKind {
  return {
    what,
    accepts(cursor) {
      const text = decodeCanonicalBase64(cursor);
      return text !== undefined && text.startsWith('GPC:') && accepts(text.slice(4));
    },
  };
}

/** A connection ordered by a row's UUID (`cursor: 'id'`). */
export const ID_CURSOR = prismaCursor('an object cursor', (chunk) => chunk.startsWith('S:') && isUuid(chunk.slice(2)));

/** A history event's position (`seq`, a 64-bit integer): HistoryEvent.cursor and history connections. */
export const HISTORY_CURSOR = prismaCursor('a history event cursor', (chunk) => /^[IN]:/.test(chunk) && isIntegerUpTo(chunk.slice(2), INT8_MAX));

/** A task event's position in its task's stream (task id, seq): TaskEvent.cursor and Task.events. */
export const TASK_EVENT_CURSOR = prismaCursor('a task event cursor', (chunk) => {
  const tagged = chunk.startsWith('T:');
  if (!tagged && !chunk.startsWith('J:')) return false;
  let parts: unknown;
  try {
    parts = JSON.parse(chunk.slice(2));
  } catch {
    return false;
  }
  if (!Array.isArray(parts) || parts.length !== 2) return false;
  const [task, seq] = parts as unknown[];
  if (tagged) {
    return typeof task === 'string' && task.startsWith('S:') && isUuid(task.slice(2)) && typeof seq === 'string' && seq.startsWith('N:') && isIntegerUpTo(seq.slice(2), INT4_MAX);
  }
  return typeof task === 'string' && isUuid(task) && typeof seq === 'number' && Number.isInteger(seq) && seq >= 0 && seq <= Number(INT4_MAX);
});

export { INT4_MAX };
