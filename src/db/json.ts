// What a text, jsonb or timestamptz column can hold. PostgreSQL refuses the NUL character in both, and an
// unpaired UTF-16 surrogate has no UTF-8 encoding (the driver would silently store U+FFFD in its
// place); such values are refused up front as bad input instead of failing as a masked database
// error or being changed on the way in. JSON is also bounded in nesting, so that nothing that
// walks it recursively (JSON.stringify here, the database driver, PostgreSQL's parser) can run out
// of stack, and every JSON payload is measured against a byte limit.
import { BadInputError } from '../errors.js';

/** How deeply JSON values (message content, tool calls, event data, snapshot metadata) may nest. */
export const MAX_JSON_DEPTH = 100;

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** What keeps `text` out of a text or jsonb column: a NUL character, an unpaired surrogate, or nothing. */
export function unstorableText(text: string): 'NUL' | 'surrogate' | undefined {
  if (text.includes('\u0000')) return 'NUL';
  if (LONE_SURROGATE.test(text)) return 'surrogate';
  return undefined;
}

/** The earliest and latest time makima stores: years 1 to 9999, what RFC 3339 (the API's DateTime) writes and PostgreSQL reads back. */
export const EARLIEST_TIME = new Date('0001-01-01T00:00:00.000Z');
export const LATEST_TIME = new Date('9999-12-31T23:59:59.999Z');

/** Why a time cannot be stored (phrased to follow a field name), or undefined. */
export function unstorableTime(date: Date): string | undefined {
  const ms = date.getTime();
  if (Number.isNaN(ms)) return 'is not a time';
  if (ms < EARLIEST_TIME.getTime() || ms > LATEST_TIME.getTime()) return `is ${date.toISOString()}, outside the years 0001 to 9999 that are stored`;
  return undefined;
}

/**
 * Why `text` cannot be stored in a text column of at most `maxLength` characters (phrased to follow
 * a field name), or undefined: the one rule for text the API's arguments and imported records share.
 */
export function textProblem(text: string, maxLength: number): string | undefined {
  if (text.length > maxLength) return `is ${text.length} characters long; at most ${maxLength} are accepted`;
  const problem = unstorableText(text);
  if (problem === 'NUL') return 'contains a NUL character (\\u0000)';
  if (problem) return 'contains an unpaired UTF-16 surrogate';
  return undefined;
}

/** `text` cut to at most `max` characters without splitting a surrogate pair (a cut pair would be unstorable). */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = /[\ud800-\udbff]/.test(text[max - 1]) ? max - 1 : max;
  return text.slice(0, end);
}

/**
 * Why `value` is nested more deeply than `maxDepth` (phrased to follow a field name), or undefined.
 * Iterative, so that a value nested a million levels deep is measured without recursion.
 */
export function jsonTooDeep(value: unknown, maxDepth = MAX_JSON_DEPTH): string | undefined {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > maxDepth) return `is nested more than ${maxDepth} levels deep: flatten it`;
    for (const item of Array.isArray(v) ? v : Object.values(v)) if (item !== null && typeof item === 'object') stack.push([item, depth + 1]);
  }
  return undefined;
}

/**
 * Where text that unstorableText refuses sits in `value` (iterative): a key or a string, its path
 * below the value (`.a[2]`, `["the key"]`) and the problem; undefined when every key and string is storable.
 */
export function unstorableJsonText(value: unknown): { where: 'key' | 'string'; at: string; problem: 'NUL' | 'surrogate' } | undefined {
  const stack: [unknown, string][] = [[value, '']];
  while (stack.length) {
    const [v, at] = stack.pop()!;
    if (typeof v === 'string') {
      const problem = unstorableText(v);
      if (problem) return { where: 'string', at, problem };
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => stack.push([item, `${at}[${i}]`]));
    } else if (v !== null && typeof v === 'object') {
      for (const [key, item] of Object.entries(v)) {
        const problem = unstorableText(key);
        if (problem) return { where: 'key', at, problem };
        stack.push([item, `${at}${/^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key.slice(0, 40))}]`}`]);
      }
    }
  }
  return undefined;
}

/** Why a JSON value at `field` cannot be stored (phrased to follow the field name), or undefined. */
export function unstorableJsonReason(value: unknown): string | undefined {
  const found = unstorableJsonText(value);
  if (!found) return undefined;
  const what = found.problem === 'NUL' ? 'a NUL character (\\u0000)' : 'an unpaired UTF-16 surrogate';
  const place = found.where === 'key' ? `a key${found.at ? ` inside ${found.at}` : ''}` : `the text${found.at ? ` at ${found.at}` : ''}`;
  return `holds ${what} in ${place}, which JSON storage cannot hold: remove it`;
}

/**
 * The size in bytes of `value` as JSON text, after checking that a jsonb column can store it (no
 * deeper than MAX_JSON_DEPTH, no NUL or unpaired surrogate in a key or string) and that it fits in
 * `maxBytes`. `field` names the value in the error a client gets.
 */
export function storableJsonSize(value: unknown, field: string, maxBytes: number): number {
  const deep = jsonTooDeep(value);
  if (deep) throw new BadInputError(`${field} ${deep}`, field);
  const unstorable = unstorableJsonReason(value);
  if (unstorable) throw new BadInputError(`${field} ${unstorable}`, field);
  const text = JSON.stringify(value);
  const size = Buffer.byteLength(text ?? 'null');
  if (size > maxBytes) throw new BadInputError(`${field} is ${size} bytes; the limit is ${maxBytes} bytes (MAKIMA_MAX_MESSAGE_BYTES)`, field);
  return size;
}
