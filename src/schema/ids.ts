// Decodes the IDs clients pass: an opaque global ID of the expected type, or the raw UUID (docs/design.md §5).
import { decodeGlobalID } from '@pothos/plugin-relay';
import { BadInputError, NotFoundError } from '../errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** Returns the UUID inside `id`, which must name an object of type `typename` (or be a UUID). */
export function decodeId(id: string, typename: string, field = 'id'): string {
  if (isUuid(id)) return id.toLowerCase();
  let decoded: { typename: string; id: string };
  try {
    decoded = decodeGlobalID(id);
  } catch {
    throw new BadInputError(`${field}: "${truncate(id)}" is not a valid ${typename} ID`, field);
  }
  if (decoded.typename !== typename || !isUuid(decoded.id)) {
    throw new BadInputError(`${field}: "${truncate(id)}" is not a ${typename} ID`, field);
  }
  return decoded.id.toLowerCase();
}

export function decodeOptionalId(id: string | null | undefined, typename: string, field: string): string | undefined {
  return id == null ? undefined : decodeId(id, typename, field);
}

/**
 * The UUID that a lookup's `id` or `ref` argument names — exactly one of them (BAD_USER_INPUT
 * otherwise). An id is decoded here; a ref (what a person types: a number, a name, a prefix) is the
 * domain's to resolve (docs/design.md §16).
 */
export async function byIdOrRef(args: { id?: string | number | null; ref?: string | null }, typename: string, resolveRef: (ref: string) => Promise<string>): Promise<string> {
  const hasId = args.id != null;
  const hasRef = args.ref != null;
  if (hasId === hasRef) throw new BadInputError(`give exactly one of id and ref to find a ${typename}`, hasId ? 'ref' : 'id');
  return hasId ? decodeId(String(args.id), typename) : resolveRef(String(args.ref));
}

function truncate(value: string): string {
  return value.length > 60 ? `${value.slice(0, 60)}…` : value;
}

/**
 * The `where` of a node lookup scoped to its owner. A malformed id is NOT_FOUND, like another
 * user's object, so that `node(id)` never reveals anything and never reaches the database with it.
 */
export function nodeWhere<W extends object>(id: string, typename: string, scope: W): { id: string } & W {
  if (!isUuid(id)) throw new NotFoundError(typename, id);
  return { id, ...scope };
}
