// Keyset pagination for `prismaConnection` lists ordered by a sequence column. Pothos turns
// `after`/`before` into Prisma's `cursor` option, which Prisma runs as
// `seq <= (SELECT seq … WHERE seq = <cursor>) … OFFSET 1`: that skips a row that should be on the
// page when the cursor's own row is not in the filtered list (an event cursor from the timeline
// passed to Task.history, say), and it needs the cursor's row to exist. A plain `seq < cursor`
// condition has neither problem and never uses OFFSET.
import { BadInputError } from '../errors.js';

export interface CursorPageQuery {
  cursor?: unknown;
  skip?: number;
  take?: number;
}

export type SeqCondition<K> = { lt: K } | { gt: K };

/**
 * Splits the query Pothos built into the page to pass on (selection and `take`, no cursor, no
 * skip) and the keyset condition on the ordered column, read from the cursor by `key`.
 */
export function keysetPage<Q extends CursorPageQuery, K>(
  query: Q,
  order: 'asc' | 'desc',
  key: (cursor: NonNullable<Q['cursor']>) => K | undefined,
): { page: Omit<Q, 'cursor' | 'skip'>; seq: SeqCondition<K> | undefined } {
  const { cursor, skip: _skip, ...page } = query;
  if (cursor == null) return { page, seq: undefined };
  const value = key(cursor as NonNullable<Q['cursor']>);
  if (value === undefined || value === null) throw new BadInputError('the cursor does not belong to this list', 'after');
  // A negative take is a backward page (`before`/`last`): the rows before the cursor in list order.
  const forward = (query.take ?? 1) >= 0;
  const greater = (order === 'asc') === forward;
  return { page, seq: greater ? { gt: value } : { lt: value } };
}
