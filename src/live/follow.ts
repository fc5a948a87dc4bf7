// Following a stream live (docs/design.md §6): first every item after the client's cursor, read
// from the database, then the hub's live items — in seq order, with no gap and no duplicate, so
// that a client that reconnects with its last cursor misses nothing. Used by the timeline and
// contract history subscriptions (modules/timeline) and by task events (modules/events).
import { SubscriberTooSlowError } from '../errors.js';
import type { LiveFeed } from './hub.js';

/**
 * What a live stream yields: events, and at most one SubscriberTooSlowError, last, when the
 * subscriber fell too far behind — so that the transport sends it as a result before completing.
 */
export type Live<T> = T | SubscriberTooSlowError;

/** Rows per catch-up query; the consumer pulls them, so a slow client slows only its own reads. */
export const CATCH_UP_PAGE = 100;

export interface FollowOptions {
  /** The seq of the client's last event: start right after it. Without it, only live events. */
  after?: bigint;
  /** Called when the subscriber fell too far behind and its feed was dropped. */
  onOverflow: () => void;
}

export interface Source<T> {
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
export async function* catchUpThenLive<T>(source: Source<T>): AsyncGenerator<Live<T>> {
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
