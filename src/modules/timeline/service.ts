// Following history and task events live: first every matching event after the client's cursor,
// read from the database, then the hub's live events — in seq order, with no gap and no duplicate,
// so that a client that reconnects with its last cursor misses nothing (DESIGN §6).
import type { AppContext, Viewer } from '../../context.js';
import type { HistoryEvent, TaskEvent } from '../../generated/prisma/client.js';
import { findOwnContract } from '../contracts/service.js';
import { historyWhere, matchesHistoryFilter, type HistoryFilter } from '../history/service.js';
import { findOwnTask } from '../tasks/service.js';
import { SubscriberTooSlowError } from '../../errors.js';
import type { LiveFeed } from './live.js';

/**
 * What a live stream yields: events, and at most one SubscriberTooSlowError, last, when the
 * subscriber fell too far behind — so that the transport sends it as a result before completing.
 */
export type Live<T> = T | SubscriberTooSlowError;

/** Rows per catch-up query; the consumer pulls them, so a slow client slows only its own reads. */
const CATCH_UP_PAGE = 100;

export interface FollowOptions {
  /** The seq of the client's last event: start right after it. Without it, only live events. */
  after?: bigint;
  /** Called when the subscriber fell too far behind and its feed was dropped. */
  onOverflow: () => void;
}

/** The viewer's history events matching `filter`, oldest first after the cursor, then live. */
export function followTimeline(ctx: AppContext, viewer: Viewer, filter: HistoryFilter, options: FollowOptions): AsyncGenerator<Live<HistoryEvent>> {
  const where = historyWhere(viewer.id, filter); // validates the filter before anything starts
  return catchUpThenLive({
    after: options.after,
    seqOf: (event) => event.seq,
    follow: async () => ctx.live.followHistory(viewer.id, (event) => matchesHistoryFilter(event, viewer.id, filter), options.onOverflow),
    readPage: (from, to) =>
      ctx.prisma.historyEvent.findMany({ where: { AND: [where, { seq: { gt: from, lte: to } }] }, orderBy: { seq: 'asc' }, take: CATCH_UP_PAGE }),
  });
}

/** One contract's history events; another user's contract is NOT_FOUND. */
export async function followContractHistory(ctx: AppContext, viewer: Viewer, contractId: string, options: FollowOptions): Promise<AsyncGenerator<Live<HistoryEvent>>> {
  await findOwnContract(ctx, viewer, contractId);
  return followTimeline(ctx, viewer, { contractId }, options);
}

/** One task's raw event stream; another user's task is NOT_FOUND. */
export async function followTaskEvents(ctx: AppContext, viewer: Viewer, taskId: string, options: FollowOptions): Promise<AsyncGenerator<Live<TaskEvent>>> {
  await findOwnTask(ctx.prisma, viewer, taskId);
  return catchUpThenLive({
    after: options.after,
    seqOf: (event) => BigInt(event.seq),
    follow: () => ctx.live.followTaskEvents(taskId, viewer.id, options.onOverflow),
    readPage: (from, to) =>
      ctx.prisma.taskEvent.findMany({ where: { taskId, seq: { gt: Number(from), lte: Number(to) } }, orderBy: { seq: 'asc' }, take: CATCH_UP_PAGE }),
  });
}

interface Source<T> {
  after: bigint | undefined;
  seqOf: (item: T) => bigint;
  follow: () => Promise<LiveFeed<T>>;
  /** Matching items with from < seq ≤ to, ascending, at most CATCH_UP_PAGE. */
  readPage: (from: bigint, to: bigint) => Promise<T[]>;
}

/**
 * The feed is opened first, so every event after its `liveFrom` reaches it; the catch-up then reads
 * exactly (after, liveFrom] — committed and final, since the hub has delivered up to there — and
 * the live part skips anything at or below the last seq sent. The feed is opened on the first pull,
 * so a subscription that is dropped before it starts leaves nothing registered.
 */
async function* catchUpThenLive<T>(source: Source<T>): AsyncGenerator<Live<T>> {
  const feed = await source.follow();
  try {
    let last = source.after ?? feed.liveFrom;
    while (last < feed.liveFrom) {
      const page = await source.readPage(last, feed.liveFrom);
      for (const item of page) {
        yield item;
        last = source.seqOf(item);
      }
      if (page.length < CATCH_UP_PAGE) break;
    }
    if (last < feed.liveFrom) last = feed.liveFrom;
    for (;;) {
      const item = await feed.next().catch((err: unknown) => {
        if (err instanceof SubscriberTooSlowError) return err;
        throw err;
      });
      if (item instanceof SubscriberTooSlowError) return yield item;
      if (item === undefined) return;
      const seq = source.seqOf(item);
      if (seq <= last) continue;
      last = seq;
      yield item;
    }
  } finally {
    feed.close();
  }
}
