// The live hub, one per server: it LISTENs for committed history events and task events, reads
// each new batch ONCE for all of this instance's subscribers, and fans it out in memory. Several
// instances on one PostgreSQL each run a hub; NOTIFY tells every one of them (docs/design.md §6).
// History is followed per owner (a subscription only ever sees its viewer's events): each owner's
// seqs commit in order (db/change.ts), so reading past the last delivered seq never skips one, and
// an instance reads only for owners that have subscribers on it.
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { RESYNC, type Database } from '../db/database.js';
import { HISTORY_CHANNEL, TASK_EVENTS_CHANNEL } from '../db/change.js';
import { SubscriberTooSlowError } from '../errors.js';
import type { HistoryEvent, PrismaClient, TaskEvent } from '../generated/prisma/client.js';

/** Rows read per query; a burst larger than this is read in several batches, in order. */
const BATCH_SIZE = 500;

/**
 * One subscriber's live items: a bounded queue the hub pushes to without ever waiting. When the
 * consumer falls `limit` items behind, the feed is dropped from the hub and `onOverflow` runs.
 */
export class LiveFeed<T> {
  /** Every live item has a larger seq than this; older ones must be read from the database. */
  liveFrom = 0n;
  private readonly items: T[] = [];
  private wake: (() => void) | undefined;
  private state: 'open' | 'overflowed' | 'closed' = 'open';

  constructor(
    private readonly limit: number,
    private readonly detach: (feed: LiveFeed<T>) => void,
    private readonly onOverflow: () => void,
  ) {}

  push(item: T): void {
    if (this.state !== 'open') return;
    if (this.items.length >= this.limit) {
      this.state = 'overflowed';
      this.items.length = 0;
      this.detach(this);
      this.onOverflow();
    } else {
      this.items.push(item);
    }
    this.wake?.();
  }

  /** The next live item; undefined once closed; throws once overflowed. */
  async next(): Promise<T | undefined> {
    for (;;) {
      if (this.state === 'overflowed') throw new SubscriberTooSlowError();
      const item = this.items.shift();
      if (item !== undefined || this.state === 'closed') return item;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }

  close(): void {
    if (this.state === 'open') this.detach(this);
    if (this.state !== 'overflowed') this.state = 'closed';
    this.items.length = 0;
    this.wake?.();
  }
}

export type HistoryFeed = LiveFeed<HistoryEvent>;
export type TaskEventFeed = LiveFeed<TaskEvent>;

type Matches = (event: HistoryEvent) => boolean;

/** One owner's history as this hub follows it, while that owner has subscribers here. */
interface OwnerStream {
  /** The largest seq delivered; undefined until the stream's starting point is read. */
  position: bigint | undefined;
  ready: Promise<void>;
  feeds: Map<HistoryFeed, Matches>;
  drain: () => void;
}

interface TaskStream {
  /** The largest seq delivered; undefined until the stream's starting point is read. */
  position: number | undefined;
  ready: Promise<void>;
  feeds: Set<TaskEventFeed>;
  drain: () => void;
}

export interface LiveHubOptions {
  db: Database;
  prisma: PrismaClient;
  logger: Logger;
  /** Live items a subscriber may have waiting before it is closed as too slow. */
  subscriberBuffer: number;
}

/**
 * Emits 'slow-subscriber' (ownerId) whenever it drops a feed that overflowed, and carries
 * 'lease-lapsed' (task ids) from the lease sweep (workers/sweep.ts) to whoever counts them.
 */
export class LiveHub extends EventEmitter {
  /** Queries made to read new events: one per batch, however many subscribers share it. */
  readonly reads = { history: 0, taskEvents: 0 };
  private readonly ownerStreams = new Map<string, OwnerStream>();
  private readonly taskStreams = new Map<string, TaskStream>();
  private readonly unlisten: (() => Promise<void>)[] = [];
  private stopped = false;

  constructor(private readonly options: LiveHubOptions) {
    super();
  }

  /** Whether the hub listens for new events: started and not stopped (readiness). */
  get listening(): boolean {
    return this.unlisten.length > 0 && !this.stopped;
  }

  /** Live feeds open now: history (timeline, history subscriptions) and task events (metrics). */
  subscriberCounts(): { history: number; taskEvents: number } {
    let history = 0;
    let taskEvents = 0;
    for (const stream of this.ownerStreams.values()) history += stream.feeds.size;
    for (const stream of this.taskStreams.values()) taskEvents += stream.feeds.size;
    return { history, taskEvents };
  }

  /** LISTENs first: a stream's starting point is read afterwards, so no commit falls between the two. */
  async start(): Promise<void> {
    const { db } = this.options;
    this.unlisten.push(await db.listen(HISTORY_CHANNEL, (payload) => this.onHistoryNotification(payload)));
    this.unlisten.push(
      await db.listen(TASK_EVENTS_CHANNEL, (taskId) => {
        // RESYNC (the LISTEN connection was restored): any stream may have missed its notification.
        if (taskId === RESYNC) for (const stream of this.taskStreams.values()) stream.drain();
        else this.taskStreams.get(taskId)?.drain();
      }),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const unlisten of this.unlisten.splice(0)) await unlisten();
    for (const stream of this.ownerStreams.values()) for (const feed of stream.feeds.keys()) feed.close();
    for (const stream of this.taskStreams.values()) for (const feed of stream.feeds) feed.close();
  }

  /**
   * A live feed of the owner's history events that `matches` accepts; resolves once the feed's
   * `liveFrom` is known (everything after it reaches the feed).
   */
  async followHistory(ownerId: string, matches: Matches, onOverflow: () => void): Promise<HistoryFeed> {
    const stream = this.ownerStreams.get(ownerId) ?? this.openOwnerStream(ownerId);
    const feed = new LiveFeed<HistoryEvent>(this.options.subscriberBuffer, (f) => this.detachHistory(ownerId, f), () => this.overflowed(ownerId, onOverflow));
    stream.feeds.set(feed, matches);
    await this.startingPoint(stream, feed);
    return feed;
  }

  /** A live feed of one task's events; resolves once the feed's `liveFrom` is known. */
  async followTaskEvents(taskId: string, ownerId: string, onOverflow: () => void): Promise<TaskEventFeed> {
    const stream = this.taskStreams.get(taskId) ?? this.openTaskStream(taskId);
    const feed = new LiveFeed<TaskEvent>(this.options.subscriberBuffer, (f) => this.detachTaskFeed(taskId, f), () => this.overflowed(ownerId, onOverflow));
    stream.feeds.add(feed);
    await this.startingPoint(stream, feed);
    return feed;
  }

  /**
   * A running stream delivers to a new feed from its current position; a new one sets every waiting
   * feed's position once it has read where the stream stands.
   */
  private async startingPoint<T>(stream: { position: bigint | number | undefined; ready: Promise<void> }, feed: LiveFeed<T>): Promise<void> {
    if (stream.position !== undefined) {
      feed.liveFrom = BigInt(stream.position);
      return;
    }
    try {
      await stream.ready;
    } catch (err) {
      feed.close();
      throw err;
    }
  }

  private onHistoryNotification(payload: string): void {
    if (payload === RESYNC) {
      for (const stream of this.ownerStreams.values()) stream.drain();
      return;
    }
    // `<owner id> <largest seq of the commit>`: nothing to read without subscribers of that owner
    // here, or when that seq was already delivered.
    const [ownerId, seq] = payload.split(' ');
    const stream = this.ownerStreams.get(ownerId);
    if (!stream) return;
    if (stream.position !== undefined && /^\d+$/.test(seq ?? '') && BigInt(seq) <= stream.position) return;
    stream.drain();
  }

  private openOwnerStream(ownerId: string): OwnerStream {
    const stream: OwnerStream = {
      position: undefined,
      feeds: new Map(),
      ready: Promise.resolve(),
      drain: serialized(() => this.readHistory(ownerId, stream), (err) => this.readFailed(err)),
    };
    stream.ready = (async () => {
      try {
        const [{ max }] = await this.options.db.query<{ max: string | null }>('SELECT max(seq)::text AS max FROM history_events WHERE owner_id = $1', [ownerId]);
        stream.position = BigInt(max ?? 0);
      } catch (err) {
        if (this.ownerStreams.get(ownerId) === stream) this.ownerStreams.delete(ownerId);
        throw err;
      }
      for (const feed of stream.feeds.keys()) feed.liveFrom = stream.position;
    })();
    this.ownerStreams.set(ownerId, stream);
    return stream;
  }

  private async readHistory(ownerId: string, stream: OwnerStream): Promise<void> {
    await stream.ready;
    for (;;) {
      if (this.stopped || this.ownerStreams.get(ownerId) !== stream) return;
      // The owner's seqs commit in order (its history lock is held from drawing a seq to COMMIT):
      // a seq visible now has every smaller seq of this owner committed or rolled back.
      this.reads.history++;
      const rows = await this.options.prisma.historyEvent.findMany({
        where: { ownerId, seq: { gt: stream.position } },
        orderBy: { seq: 'asc' },
        take: BATCH_SIZE,
      });
      if (rows.length === 0) return;
      stream.position = rows[rows.length - 1].seq;
      for (const row of rows) for (const [feed, matches] of stream.feeds) if (matches(row)) feed.push(row);
      if (rows.length < BATCH_SIZE) return;
    }
  }

  private openTaskStream(taskId: string): TaskStream {
    const stream: TaskStream = {
      position: undefined,
      feeds: new Set(),
      ready: Promise.resolve(),
      drain: serialized(() => this.readTaskEvents(taskId, stream), (err) => this.readFailed(err)),
    };
    stream.ready = (async () => {
      try {
        const last = await this.options.prisma.taskEvent.findFirst({ where: { taskId }, orderBy: { seq: 'desc' }, select: { seq: true } });
        stream.position = last?.seq ?? 0;
      } catch (err) {
        if (this.taskStreams.get(taskId) === stream) this.taskStreams.delete(taskId);
        throw err;
      }
      for (const feed of stream.feeds) feed.liveFrom = BigInt(stream.position);
    })();
    this.taskStreams.set(taskId, stream);
    return stream;
  }

  private async readTaskEvents(taskId: string, stream: TaskStream): Promise<void> {
    await stream.ready;
    for (;;) {
      if (this.stopped || this.taskStreams.get(taskId) !== stream) return;
      // A task's seq is allocated as max + 1 while holding the task's row: seq N+1 cannot exist
      // before N is committed, so reading past the last delivered seq never skips one.
      this.reads.taskEvents++;
      const rows = await this.options.prisma.taskEvent.findMany({
        where: { taskId, seq: { gt: stream.position } },
        orderBy: { seq: 'asc' },
        take: BATCH_SIZE,
      });
      if (rows.length === 0) return;
      stream.position = rows[rows.length - 1].seq;
      for (const row of rows) for (const feed of stream.feeds) feed.push(row);
      if (rows.length < BATCH_SIZE) return;
    }
  }

  private detachHistory(ownerId: string, feed: HistoryFeed): void {
    const stream = this.ownerStreams.get(ownerId);
    stream?.feeds.delete(feed);
    if (stream?.feeds.size === 0) this.ownerStreams.delete(ownerId);
  }

  private detachTaskFeed(taskId: string, feed: TaskEventFeed): void {
    const stream = this.taskStreams.get(taskId);
    stream?.feeds.delete(feed);
    if (stream?.feeds.size === 0) this.taskStreams.delete(taskId);
  }

  private overflowed(ownerId: string, onOverflow: () => void): void {
    this.options.logger.warn({ ownerId, buffer: this.options.subscriberBuffer }, 'closed a subscriber that fell too far behind');
    onOverflow();
    this.emit('slow-subscriber', ownerId);
  }

  private readFailed(err: unknown): void {
    // A failed read is retried by the next notification: nothing is skipped, only delayed.
    if (!this.stopped) this.options.logger.error({ err }, 'reading live events failed');
  }
}

/**
 * Wraps `run` so that calls never overlap: a call while it runs makes it run once more afterwards
 * (notifications that arrive during a read are covered by one more read, not one each).
 */
function serialized(run: () => Promise<void>, onError: (err: unknown) => void): () => void {
  let running = false;
  let again = false;
  return function trigger() {
    if (running) {
      again = true;
      return;
    }
    running = true;
    again = false;
    run()
      .catch(onError)
      .finally(() => {
        running = false;
        if (again) trigger();
      });
  };
}
