// What a text or jsonb column can hold. PostgreSQL refuses the NUL character in both, and an
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

/** Whether a key or string anywhere in `value` is text that unstorableText refuses (iterative). */
function hasUnstorableText(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (unstorableText(v)) return true;
    } else if (Array.isArray(v)) {
      for (const item of v) stack.push(item);
    } else if (v !== null && typeof v === 'object') {
      for (const [key, item] of Object.entries(v)) {
        if (unstorableText(key)) return true;
        stack.push(item);
      }
    }
  }
  return false;
}

/**
 * The size in bytes of `value` as JSON text, after checking that a jsonb column can store it (no
 * deeper than MAX_JSON_DEPTH, no NUL or unpaired surrogate in a key or string) and that it fits in
 * `maxBytes`. `field` names the value in the error a client gets.
 */
export function storableJsonSize(value: unknown, field: string, maxBytes: number): number {
  const deep = jsonTooDeep(value);
  if (deep) throw new BadInputError(`${field} ${deep}`, field);
  if (hasUnstorableText(value)) {
    throw new BadInputError(`${field} contains a NUL character (\\u0000) or an unpaired surrogate, which JSON storage cannot hold`, field);
  }
  const text = JSON.stringify(value);
  const size = Buffer.byteLength(text ?? 'null');
  if (size > maxBytes) throw new BadInputError(`${field} is ${size} bytes; the limit is ${maxBytes} bytes (MAKIMA_MAX_MESSAGE_BYTES)`, field);
  return size;
}
