// Following history live: the viewer's timeline and one contract's history, as catch-up after the
// client's cursor then live events (live/follow.ts).
import type { ServiceContext } from '../../context.js';
import type { HistoryEvent } from '../../generated/prisma/client.js';
import { catchUpThenLive, CATCH_UP_PAGE, type FollowOptions, type Live } from '../../live/follow.js';
import { findOwnContract } from '../contracts/index.js';
import { historyWhere, matchesHistoryFilter, type HistoryFilter } from '../history/index.js';

/** The viewer's history events matching `filter`, oldest first after the cursor, then live. */
export function followTimeline(ctx: ServiceContext, input: { filter: HistoryFilter; options: FollowOptions }): AsyncGenerator<Live<HistoryEvent>> {
  const { viewer } = ctx;
  const { filter, options } = input;
  const where = historyWhere(viewer.id, filter); // validates the filter before anything starts
  return catchUpThenLive({
    after: options.after,
    seqOf: (event) => event.seq,
    follow: () => ctx.live.followHistory(viewer.id, (event) => matchesHistoryFilter(event, viewer.id, filter), options.onOverflow),
    readPage: (from, to) =>
      ctx.prisma.historyEvent.findMany({ where: { AND: [where, { seq: { gt: from, lte: to } }] }, orderBy: { seq: 'asc' }, take: CATCH_UP_PAGE }),
  });
}

/** One contract's history events; another user's contract is NOT_FOUND. */
export async function followContractHistory(ctx: ServiceContext, input: { contractId: string; options: FollowOptions }): Promise<AsyncGenerator<Live<HistoryEvent>>> {
  await findOwnContract(ctx.prisma, ctx.viewer, input.contractId);
  return followTimeline(ctx, { filter: { contractId: input.contractId }, options: input.options });
}
