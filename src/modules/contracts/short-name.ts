// A contract's short name (docs/design.md §16): what people type to name it (`makima task create
// calc …`). Given at creation, or derived from the name — its slug, made unique among the owner's
// contracts with -2, -3… — and always unique per owner (a unique index says so).
import type { Tx } from '../../db/change.js';
import { BadInputError, ConflictError } from '../../errors.js';

export const MAX_SHORT_NAME_LENGTH = 40;
const SHORT_NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/** The slug of a name: lower-case letters and digits, runs of anything else as one `-`; `contract` when nothing is left. Same as the backfill in prisma/migrations/20261205070000_*. */
export function slugOf(name: string): string {
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_SHORT_NAME_LENGTH)
    .replace(/-+$/, '');
  return slug || 'contract';
}

/** A short name as given: lower-case letters, digits and single inner dashes, at most 40 characters; BAD_USER_INPUT otherwise. */
export function assertShortName(shortName: string, field = 'shortName'): string {
  if (shortName.length > MAX_SHORT_NAME_LENGTH) throw new BadInputError(`${field} is longer than ${MAX_SHORT_NAME_LENGTH} characters`, field);
  if (!SHORT_NAME.test(shortName)) {
    throw new BadInputError(`${field} "${shortName}" may hold only lower-case letters, digits and single dashes between them (like ${slugOf(shortName)})`, field);
  }
  return shortName;
}

/**
 * The short name a new contract of `ownerId` gets: `given` when it is free (CONFLICT when another
 * of their contracts has it), else the first free one of slug, slug-2, slug-3… The caller holds
 * the owner's row lock (lockOwner), so two contracts created at once never pick the same one.
 */
export async function chooseShortName(tx: Tx, ownerId: string, name: string, given?: string | null): Promise<string> {
  if (given != null) {
    const wanted = assertShortName(given);
    const taken = await tx.contract.findFirst({ where: { ownerId, shortName: wanted }, select: { id: true } });
    if (taken) throw new ConflictError(`the short name "${wanted}" is taken by your contract ${taken.id}; choose another`, { field: 'shortName' });
    return wanted;
  }
  const base = slugOf(name);
  const existing = await tx.contract.findMany({ where: { ownerId, shortName: { startsWith: base } }, select: { shortName: true } });
  const taken = new Set(existing.map((c) => c.shortName));
  if (!taken.has(base)) return base;
  for (let n = 2; ; n += 1) {
    const suffix = `-${n}`;
    const candidate = `${base.slice(0, MAX_SHORT_NAME_LENGTH - suffix.length).replace(/-+$/, '')}${suffix}`;
    if (!taken.has(candidate)) {
      if (candidate.startsWith(base)) return candidate;
      // A base cut short to make room for the suffix: look its candidates up too.
      const clash = await tx.contract.findFirst({ where: { ownerId, shortName: candidate }, select: { id: true } });
      if (!clash) return candidate;
    }
  }
}

/** Locks the owner's row until the transaction ends: their contracts' short names and tasks' numbers are chosen one at a time. */
export async function lockOwner(tx: Tx, ownerId: string): Promise<void> {
  await tx.$queryRaw`SELECT id FROM users WHERE id = ${ownerId}::uuid FOR UPDATE`;
}
