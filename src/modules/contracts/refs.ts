// What people type to name a contract (docs/design.md §16): its global ID or UUID, its short name,
// its name, or a unique prefix of its UUID or short name. Query.contract(ref:) and every CLI
// argument that takes a contract are resolved here. Only the viewer's own contracts are candidates.
import type { Viewer } from '../../context.js';
import type { Tx } from '../../db/change.js';
import { AmbiguousReferenceError, BadInputError, MakimaError } from '../../errors.js';
import type { Contract, PrismaClient } from '../../generated/prisma/client.js';
import { globalId, isUuid, parseGlobalId } from '../../global-id.js';
import { likePrefix, MAX_CANDIDATES, uuidPrefix } from '../tasks/index.js';

type Db = Tx | PrismaClient;

type Candidate = Pick<Contract, 'id' | 'shortName' | 'name'>;
const CANDIDATE = { id: true, shortName: true, name: true } as const;

/**
 * The UUID of the viewer's contract that `ref` names, trying in order: a global ID or UUID; its
 * short name; its name (case-insensitive); a prefix of its UUID or short name. The first way that
 * matches anything decides: one match is the contract, several are BAD_USER_INPUT listing them,
 * none is NOT_FOUND.
 */
export async function resolveContractRef(db: Db, viewer: Viewer, ref: string, field = 'ref'): Promise<string> {
  const text = ref.trim();
  if (!text) throw new BadInputError(`${field} must not be empty: give a contract's short name, name or id`, field);
  const global = parseGlobalId(text);
  if (global) {
    if (global.type !== 'Contract') throw new BadInputError(`${field}: "${text.slice(0, 60)}" is a ${global.type} ID, not a Contract ID`, field);
    return global.uuid;
  }
  if (isUuid(text)) return text.toLowerCase();

  const short = await db.contract.findFirst({ where: { ownerId: viewer.id, shortName: text.toLowerCase() }, select: { id: true } });
  if (short) return short.id;

  const named = await db.contract.findMany({
    where: { ownerId: viewer.id, name: { equals: text, mode: 'insensitive' } },
    select: CANDIDATE,
    orderBy: { createdAt: 'asc' },
    take: MAX_CANDIDATES + 1,
  });
  if (named.length) return one(named, text, field, 'names');

  const idPrefix = uuidPrefix(text);
  const rows = await db.$queryRaw<{ id: string }[]>`
    SELECT id FROM contracts
     WHERE owner_id = ${viewer.id}::uuid
       AND ((${idPrefix}::text IS NOT NULL AND id::text LIKE ${idPrefix}::text) OR short_name LIKE ${likePrefix(text.toLowerCase())}::text)
     ORDER BY created_at
     LIMIT ${MAX_CANDIDATES + 1}`;
  if (rows.length) {
    const prefixed = await db.contract.findMany({ where: { id: { in: rows.map((r) => r.id) } }, select: CANDIDATE, orderBy: { createdAt: 'asc' } });
    return one(prefixed, text, field, 'begins the id or short name of');
  }
  throw new MakimaError('NOT_FOUND', `no contract of yours matches "${text.slice(0, 60)}" (as a short name, name, or prefix of an id or short name)`);
}

function one(candidates: Candidate[], text: string, field: string, how: string): string {
  if (candidates.length === 1) return candidates[0].id;
  const shown = candidates.slice(0, MAX_CANDIDATES);
  const more = candidates.length > MAX_CANDIDATES ? ' and more' : '';
  throw new AmbiguousReferenceError(
    `${field}: "${text.slice(0, 60)}" ${how} ${shown.length}${more} of your contracts: ${shown.map((c) => `${c.shortName} (${c.name})`).join(', ')}; name one by its short name`,
    field,
    shown.map((c) => ({ id: globalId('Contract', c.id), shortName: c.shortName, name: c.name })),
  );
}
