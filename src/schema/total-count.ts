// `totalCount` on the connections where counting is cheap or bounded (docs/design.md §5; docs/api.md, "The
// schema documents itself"): a task's checkpoints, snapshots and forks, a contract's tasks, the
// viewer's contracts (an indexed count), and a conversation (its length is stored). Not on the
// history connections (an unbounded, arbitrarily filtered scan) nor on Task.events (`seq` of the
// last event already numbers the stream without gaps).

/** What a connection resolver leaves for `totalCount`: Pothos's prisma plugin gives a thunk, conversationPage a number. */
type Counted = { totalCount?: number | (() => number | Promise<number>) };

/** Resolves `totalCount` of a shared connection object; every field that returns it must count (`totalCount: true`). */
export function resolveTotalCount(connection: object): number | Promise<number> {
  const { totalCount } = connection as Counted;
  const count = typeof totalCount === 'function' ? totalCount() : totalCount;
  if (count === undefined) throw new Error('totalCount was asked of a connection whose field does not count: declare it with totalCount');
  return count;
}

export const TOTAL_COUNT_DESCRIPTION = 'How many items the whole list has (with its filters applied), whatever the page';
