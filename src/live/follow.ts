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
 *
 * A subscription ends when its socket or stream closes: the transport calls `return()`. An async
 * generator waiting inside `await` (for a live item that may never come, with a filter that never
 * matches) would only act on that `return()` after its next item, so the feed would stay in the
 * hub for good. The iterator handed out therefore closes the feed itself first: the waiting
 * `next()` ends at once and the generator finishes.
 */
export function catchUpThenLive<T>(source: Source<T>): AsyncGenerator<Live<T>> {
  const consumer: Consumer<T> = { gone: false };
  const items = follow(source, consumer);
  const release = () => {
    consumer.gone = true;
    consumer.feed?.close();
  };
  const iterator: AsyncGenerator<Live<T>> = {
    next: (...args) => items.next(...args),
    return: (value) => {
      release();
      return items.return(value);
    },
    throw: (err) => {
      release();
      return items.throw(err);
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

interface Consumer<T> {
  /** The transport ended the subscription. */
  gone: boolean;
  feed?: LiveFeed<T>;
}

async function* follow<T>(source: Source<T>, consumer: Consumer<T>): AsyncGenerator<Live<T>> {
  const feed = await source.follow();
  consumer.feed = feed;
  try {
    if (consumer.gone) return; // ended while the feed was being opened
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
