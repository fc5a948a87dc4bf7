// What people type to name a task (docs/design.md §16): its global ID or UUID, its number (`42`,
// `#42`), its name, or a unique prefix of its UUID or branch. Query.task(ref:) and every CLI
// argument that takes a task are resolved here. Only the viewer's own tasks are ever candidates.
import type { Viewer } from '../../context.js';
import type { Tx } from '../../db/change.js';
import { AmbiguousReferenceError, BadInputError, MakimaError, NotFoundError } from '../../errors.js';
import type { PrismaClient, Task } from '../../generated/prisma/client.js';
import { globalId, isUuid, parseGlobalId } from '../../global-id.js';

type Db = Tx | PrismaClient;

/** How many candidates an ambiguous reference lists. */
export const MAX_CANDIDATES = 10;
/** A UUID prefix shorter than this is not looked up (git's shortest abbreviation). */
const MIN_PREFIX = 4;
const NUMBER = /^#?(\d{1,9})$/;
const HEX_PREFIX = /^[0-9a-f-]+$/i;

type Candidate = Pick<Task, 'id' | 'number' | 'name' | 'branch' | 'status'>;
const CANDIDATE = { id: true, number: true, name: true, branch: true, status: true } as const;

/** `%`, `_` and `\` match themselves in a LIKE pattern. */
export function likePrefix(text: string): string {
  return `${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The LIKE pattern of the UUIDs `text` begins, or null when it is too short or not hexadecimal to be one's prefix. */
export function uuidPrefix(text: string): string | null {
  return text.length >= MIN_PREFIX && HEX_PREFIX.test(text) ? likePrefix(text.toLowerCase()) : null;
}

/**
 * The UUID of the viewer's task that `ref` names, trying in order: a global ID or UUID; a number
 * (`#42` always; `42` when one of their tasks has it);
 * a name (case-insensitive); a prefix of the UUID or of the branch (with or without `makima/`).
 * The first way that matches anything decides: one match is the task, several are BAD_USER_INPUT
 * listing them (AmbiguousReferenceError), none is NOT_FOUND.
 */
export async function resolveTaskRef(db: Db, viewer: Viewer, ref: string, field = 'ref'): Promise<string> {
  const text = ref.trim();
  if (!text) throw new BadInputError(`${field} must not be empty: give a task number (#42), name, id or branch prefix`, field);
  const global = parseGlobalId(text);
  if (global) {
    if (global.type !== 'Task') throw new BadInputError(`${field}: "${text.slice(0, 60)}" is a ${global.type} ID, not a Task ID`, field);
    return global.uuid;
  }
  if (isUuid(text)) return text.toLowerCase();

  // `#42` is only ever a number; a bare `42` that no task has may still be a name or an id prefix.
  const number = NUMBER.exec(text);
  if (number) {
    const task = await db.task.findFirst({ where: { ownerId: viewer.id, number: Number(number[1]) }, select: { id: true } });
    if (task) return task.id;
    if (text.startsWith('#')) throw new NotFoundError(`task #${Number(number[1])}`);
  }

  const named = await db.task.findMany({
    where: { ownerId: viewer.id, name: { equals: text, mode: 'insensitive' } },
    select: CANDIDATE,
    orderBy: { number: 'asc' },
    take: MAX_CANDIDATES + 1,
  });
  if (named.length) return one(named, text, field, 'names');

  const prefixed = await byPrefix(db, viewer, text);
  if (prefixed.length) return one(prefixed, text, field, 'begins the id or branch of');
  throw new MakimaError('NOT_FOUND', `no task of yours matches "${text.slice(0, 60)}" (as a number, name, or prefix of an id or branch)`);
}

async function byPrefix(db: Db, viewer: Viewer, text: string): Promise<Candidate[]> {
  const idPrefix = uuidPrefix(text);
  const branch = likePrefix(text);
  const qualified = likePrefix(`makima/${text}`);
  const rows = await db.$queryRaw<{ id: string }[]>`
    SELECT id FROM tasks
     WHERE owner_id = ${viewer.id}::uuid
       AND ((${idPrefix}::text IS NOT NULL AND id::text LIKE ${idPrefix}::text)
            OR branch LIKE ${branch}::text OR branch LIKE ${qualified}::text)
     ORDER BY number
     LIMIT ${MAX_CANDIDATES + 1}`;
  if (!rows.length) return [];
  return db.task.findMany({ where: { id: { in: rows.map((r) => r.id) } }, select: CANDIDATE, orderBy: { number: 'asc' } });
}

function one(candidates: Candidate[], text: string, field: string, how: string): string {
  if (candidates.length === 1) return candidates[0].id;
  const shown = candidates.slice(0, MAX_CANDIDATES);
  const more = candidates.length > MAX_CANDIDATES ? ' and more' : '';
  const list = shown.map((c) => `#${c.number} ${c.name}${c.branch ? ` (${c.branch})` : ''}`).join(', ');
  throw new AmbiguousReferenceError(
    `${field}: "${text.slice(0, 60)}" ${how} ${shown.length}${more} of your tasks: ${list}; name one by its number, like ${shown[0].number}`,
    field,
    shown.map((c) => ({ id: globalId('Task', c.id), number: c.number, name: c.name, branch: c.branch, status: c.status })),
  );
}
