// What a jsonb column can hold. PostgreSQL refuses the NUL character and unpaired UTF-16 surrogates
// in JSON text; such values are refused up front as bad input instead of failing as a masked
// database error, and every JSON payload is measured against a byte limit the same way.
import { BadInputError } from '../errors.js';

const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * The size in bytes of `value` as JSON text, after checking that a jsonb column can store it and
 * that it fits in `maxBytes`. `field` names the value in the error a client gets.
 */
export function storableJsonSize(value: unknown, field: string, maxBytes: number): number {
  let unstorable = false;
  const text = JSON.stringify(value, (key, v: unknown) => {
    if (UNSTORABLE.test(key) || (typeof v === 'string' && UNSTORABLE.test(v))) unstorable = true;
    return v;
  });
  if (unstorable) {
    throw new BadInputError(`${field} contains a NUL character (\\u0000) or an unpaired surrogate, which JSON storage cannot hold`, field);
  }
  const size = Buffer.byteLength(text ?? 'null');
  if (size > maxBytes) throw new BadInputError(`${field} is ${size} bytes; the limit is ${maxBytes} bytes (MAKIMA_MAX_MESSAGE_BYTES)`, field);
  return size;
}
