// The live hub, one per server: it LISTENs for committed history events and task events, reads
// each new batch ONCE for all of this instance's subscribers, and fans it out in memory. Several
// instances on one PostgreSQL each run a hub; NOTIFY tells every one of them (docs/design.md §6).
// A notification is sent after its commit (db/notifier.ts) and is only a wake-up: every
// `recheckMs` the hub also compares where each followed stream stands with what it delivered, so a
// notification that was lost (its writer died after the commit) or read too early only delays.
// History is followed per owner (a subscription only ever sees its viewer's events): each owner's
// seqs commit in order (db/change.ts), so reading past the last delivered seq never skips one, and
// an instance reads only for owners that have subscribers on it.
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { repeatEvery } from '../lib/repeat.js';
import { RESYNC, type Database } from '../db/database.js';
import { HISTORY_CHANNEL, TASK_EVENTS_CHANNEL } from '../db/change.js';
import { SubscriberTooSlowError } from '../errors.js';
import type { HistoryEvent, PrismaClient, TaskEvent } from '../generated/prisma/client.js';

/** Rows read per stream and query; a burst larger than this is read in several batches, in order. */
const BATCH_SIZE = 500;
/** Streams read per query: the new events of that many owners (or tasks) come back in one result. */
const READ_KEYS = 100;

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

type Matches<Row> = (row: Row) => boolean;
type Seq = bigint | number;

/** What one kind of stream reads: where a stream's source stands now, and its rows after a seq. */
interface StreamSource<Row, S extends Seq> {
  /** The largest seq of `key`'s rows now (0 when there is none): a new stream's starting point. */
  last(key: string): Promise<S>;
  /** The largest seq of each of `keys` now (absent or 0 when there is none), in one query. */
  lasts(keys: string[]): Promise<Map<string, S>>;
  /**
   * For each [key, position], up to BATCH_SIZE of `key`'s rows after `position`, none of them ever
   * skipped, in one query; each key's rows in seq order.
   */
  after(positions: [key: string, position: S][]): Promise<Row[]>;
  /** The key of a row's stream. */
  keyOf(row: Row): string;
}

/** One owner's history, or one task's events, as this hub follows it while it has subscribers here. */
interface Stream<Row, S extends Seq> {
  key: string;
  /** The largest seq delivered; undefined until the stream's starting point is read. */
  position: S | undefined;
  ready: Promise<void>;
  feeds: Map<LiveFeed<Row>, Matches<Row>>;
  /** Marks the stream to be read by the next read of its kind (one query for every stream marked). */
  drain: () => void;
}

/** The streams of one kind, by key (owner id, task id): opened by their first feed, dropped with their last. */
class Streams<Row extends { seq: S }, S extends Seq> {
  private readonly streams = new Map<string, Stream<Row, S>>();
  /** Streams to read: notified (or found behind) since the read under way, if any, began. */
  private readonly marked = new Set<Stream<Row, S>>();
  private readonly readMarked: () => void;

  constructor(
    private readonly source: StreamSource<Row, S>,
    private readonly stopped: () => boolean,
    private readonly readFailed: (err: unknown) => void,
  ) {
    this.readMarked = serialized(() => this.read(), readFailed);
  }

  get(key: string): Stream<Row, S> | undefined {
    return this.streams.get(key);
  }

  feedCount(): number {
    let count = 0;
    for (const stream of this.streams.values()) count += stream.feeds.size;
    return count;
  }

  drainAll(): void {
    for (const stream of this.streams.values()) stream.drain();
  }

  /**
   * Reads every stream whose source has moved past what it delivered when it was asked (a missed
   * notification); returns how many were behind.
   */
  async recheck(): Promise<number> {
    const started = [...this.streams].filter(([, stream]) => stream.position !== undefined);
    if (started.length === 0) return 0;
    const lasts = await this.source.lasts(started.map(([key]) => key));
    let behind = 0;
    for (const [key, stream] of started) {
      const last = lasts.get(key);
      // Compared with the position now: a read that caught up during the query was woken by its notification.
      if (last === undefined || this.streams.get(key) !== stream || last <= stream.position!) continue;
      behind++;
      stream.drain();
    }
    return behind;
  }

  closeAll(): void {
    for (const stream of this.streams.values()) for (const feed of stream.feeds.keys()) feed.close();
  }

  /**
   * Adds `feed` to `key`'s stream (opening it when it is the first) and resolves once the feed's
   * `liveFrom` is known. A running stream delivers to a new feed from its current position; a new
   * one sets every waiting feed's position once it has read where the stream stands.
   */
  async follow(key: string, feed: LiveFeed<Row>, matches: Matches<Row>): Promise<void> {
    const stream = this.streams.get(key) ?? this.open(key);
    stream.feeds.set(feed, matches);
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

  detach(key: string, feed: LiveFeed<Row>): void {
    const stream = this.streams.get(key);
    stream?.feeds.delete(feed);
    if (stream?.feeds.size === 0) this.streams.delete(key);
  }

  private open(key: string): Stream<Row, S> {
    const stream: Stream<Row, S> = {
      key,
      position: undefined,
      feeds: new Map(),
      ready: Promise.resolve(),
      drain: () => {
        this.marked.add(stream);
        if (stream.position !== undefined) this.readMarked();
      },
    };
    stream.ready = (async () => {
      try {
        stream.position = await this.source.last(key);
      } catch (err) {
        if (this.streams.get(key) === stream) this.streams.delete(key);
        throw err;
      }
      for (const feed of stream.feeds.keys()) feed.liveFrom = BigInt(stream.position);
      // Notified while its starting point was being read: read past it now.
      if (this.marked.has(stream)) this.readMarked();
    })();
    this.streams.set(key, stream);
    return stream;
  }

  /**
   * Reads every marked stream (that knows its starting point) in one query per READ_KEYS streams,
   * and delivers the rows. A stream marked while a read is under way is read again afterwards (its
   * commit may not have been visible to the query), and so is one that got a full BATCH_SIZE.
   */
  private async read(): Promise<void> {
    for (;;) {
      if (this.stopped()) return;
      const batch: Stream<Row, S>[] = [];
      for (const stream of this.marked) {
        if (this.streams.get(stream.key) !== stream) this.marked.delete(stream); // its last feed left
        else if (stream.position !== undefined) {
          this.marked.delete(stream);
          batch.push(stream);
          if (batch.length === READ_KEYS) break;
        } // else: read once its starting point is known (open)
      }
      if (batch.length === 0) return;
      const rows = await this.source.after(batch.map((stream) => [stream.key, stream.position!]));
      const byKey = new Map(batch.map((stream) => [stream.key, stream]));
      const counts = new Map<Stream<Row, S>, number>();
      for (const row of rows) {
        const stream = byKey.get(this.source.keyOf(row))!;
        counts.set(stream, (counts.get(stream) ?? 0) + 1);
        stream.position = row.seq;
        for (const [feed, matches] of stream.feeds) if (matches(row)) feed.push(row);
      }
      // A full batch may have more behind it; a dropped stream (its last feed left) is read no more.
      for (const [stream, count] of counts) if (count >= BATCH_SIZE && this.streams.get(stream.key) === stream) this.marked.add(stream);
    }
  }
}

/**
 * The history events of several owners after a seq each, as Prisma's HistoryEvent (camelCase; seq
 * as text: PGlite and pg parse int8 differently; enums by their Prisma names, each its database
 * value in capitals: prisma/schema.prisma), ordered by seq: each owner's in order.
 */
const HISTORY_AFTER_SQL = `SELECT e.id, e.seq::text AS seq, e.owner_id AS "ownerId", e.contract_id AS "contractId", e.task_id AS "taskId",
  upper(e.event_type::text) AS "eventType", e.event_subtype AS "eventSubtype", upper(e.phase::text) AS phase, e.event_data AS "eventData", e.actor,
  e.created_at AS "createdAt"
FROM unnest($1::uuid[], $2::bigint[]) AS s(owner_id, after)
CROSS JOIN LATERAL (SELECT * FROM history_events h WHERE h.owner_id = s.owner_id AND h.seq > s.after ORDER BY h.seq LIMIT ${BATCH_SIZE}) e
ORDER BY e.seq`;

type HistoryEventRow = Omit<HistoryEvent, 'seq'> & { seq: string };

function historyEvent(row: HistoryEventRow): HistoryEvent {
  const event = row as unknown as HistoryEvent;
  event.seq = BigInt(row.seq);
  return event;
}

/** The events of several tasks after a seq each, as Prisma's TaskEvent; each task's in seq order. */
const TASK_EVENTS_AFTER_SQL = `SELECT e.id, e.task_id AS "taskId", e.seq, upper(e.type::text) AS type, e.data, e.created_at AS "createdAt"
FROM unnest($1::uuid[], $2::int[]) AS s(task_id, after)
CROSS JOIN LATERAL (SELECT * FROM task_events t WHERE t.task_id = s.task_id AND t.seq > s.after ORDER BY t.seq LIMIT ${BATCH_SIZE}) e
ORDER BY e.task_id, e.seq`;

export interface LiveHubOptions {
  db: Database;
  prisma: PrismaClient;
  logger: Logger;
  /** Live items a subscriber may have waiting before it is closed as too slow. */
  subscriberBuffer: number;
  /** How often followed streams are compared with the tables, for a notification that never came (MAKIMA_LIVE_RECHECK_MS). */
  recheckMs: number;
}

/**
 * Emits 'slow-subscriber' (ownerId) whenever it drops a feed that overflowed, and carries
 * 'lease-lapsed' (task ids) from the lease sweep (workers/sweep.ts) to whoever counts them.
 */
export class LiveHub extends EventEmitter {
  /** Queries made to read new events: one per batch, however many subscribers share it. */
  readonly reads = { history: 0, taskEvents: 0 };
  /** Streams found behind by a re-check, i.e. notifications that were lost or read too early. */
  readonly recovered = { history: 0, taskEvents: 0 };
  /** Re-checks completed. */
  rechecks = 0;
  private readonly unlisten: (() => Promise<void>)[] = [];
  private stopped = false;
  private stopRecheck: (() => Promise<void>) | undefined;
  private readonly ownerStreams: Streams<HistoryEvent, bigint>;
  private readonly taskStreams: Streams<TaskEvent, number>;

  constructor(private readonly options: LiveHubOptions) {
    super();
    const { db, prisma } = options;
    const stopped = () => this.stopped;
    const readFailed = (err: unknown) => this.readFailed(err);
    this.ownerStreams = new Streams<HistoryEvent, bigint>(
      {
        last: async (ownerId) => {
          const [{ max }] = await db.query<{ max: string | null }>('SELECT max(seq)::text AS max FROM history_events WHERE owner_id = $1', [ownerId]);
          return BigInt(max ?? 0);
        },
        lasts: async (ownerIds) => {
          const rows = await db.query<{ key: string; max: string | null }>(
            'SELECT o::text AS key, (SELECT max(seq) FROM history_events WHERE owner_id = o)::text AS max FROM unnest($1::uuid[]) AS o',
            [ownerIds],
          );
          return new Map(rows.map((r) => [r.key, BigInt(r.max ?? 0)]));
        },
        // The owner's seqs commit in order (its history lock is held from drawing a seq to COMMIT):
        // a seq visible now has every smaller seq of this owner committed or rolled back.
        after: async (positions) => {
          this.reads.history++;
          const rows = await db.query<HistoryEventRow>(HISTORY_AFTER_SQL, [positions.map(([key]) => key), positions.map(([, seq]) => String(seq))]);
          return rows.map(historyEvent);
        },
        keyOf: (event) => event.ownerId,
      },
      stopped,
      readFailed,
    );
    this.taskStreams = new Streams<TaskEvent, number>(
      {
        last: async (taskId) => {
          const last = await prisma.taskEvent.findFirst({ where: { taskId }, orderBy: { seq: 'desc' }, select: { seq: true } });
          return last?.seq ?? 0;
        },
        lasts: async (taskIds) => {
          const rows = await db.query<{ key: string; max: number | null }>(
            'SELECT t::text AS key, (SELECT max(seq) FROM task_events WHERE task_id = t) AS max FROM unnest($1::uuid[]) AS t',
            [taskIds],
          );
          return new Map(rows.map((r) => [r.key, r.max ?? 0]));
        },
        // A task's seq is allocated as max + 1 while holding the task's row: seq N+1 cannot exist
        // before N is committed, so reading past the last delivered seq never skips one.
        after: (positions) => {
          this.reads.taskEvents++;
          return db.query<TaskEvent>(TASK_EVENTS_AFTER_SQL, [positions.map(([key]) => key), positions.map(([, seq]) => seq)]);
        },
        keyOf: (event) => event.taskId,
      },
      stopped,
      readFailed,
    );
  }

  /** Whether the hub listens for new events: started and not stopped (readiness). */
  get listening(): boolean {
    return this.unlisten.length > 0 && !this.stopped;
  }

  /** Live feeds open now: history (timeline, history subscriptions) and task events (metrics). */
  subscriberCounts(): { history: number; taskEvents: number } {
    return { history: this.ownerStreams.feedCount(), taskEvents: this.taskStreams.feedCount() };
  }

  /** LISTENs first: a stream's starting point is read afterwards, so no commit falls between the two. */
  async start(): Promise<void> {
    const { db } = this.options;
    this.unlisten.push(await db.listen(HISTORY_CHANNEL, (payload) => this.onHistoryNotification(payload)));
    this.unlisten.push(
      await db.listen(TASK_EVENTS_CHANNEL, (taskId) => {
        // RESYNC (the LISTEN connection was restored): any stream may have missed its notification.
        if (taskId === RESYNC) this.taskStreams.drainAll();
        else this.taskStreams.get(taskId)?.drain();
      }),
    );
    this.stopRecheck = repeatEvery(this.options.recheckMs, () => this.recheck(), (err) => this.readFailed(err));
  }

  /** Reads every followed stream that is behind its table, whatever the notifications said. */
  async recheck(): Promise<void> {
    this.recovered.history += await this.ownerStreams.recheck();
    this.recovered.taskEvents += await this.taskStreams.recheck();
    this.rechecks++;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.stopRecheck?.();
    for (const unlisten of this.unlisten.splice(0)) await unlisten();
    this.ownerStreams.closeAll();
    this.taskStreams.closeAll();
  }

  /**
   * A live feed of the owner's history events that `matches` accepts; resolves once the feed's
   * `liveFrom` is known (everything after it reaches the feed).
   */
  async followHistory(ownerId: string, matches: Matches<HistoryEvent>, onOverflow: () => void): Promise<HistoryFeed> {
    const feed = new LiveFeed<HistoryEvent>(this.options.subscriberBuffer, (f) => this.ownerStreams.detach(ownerId, f), () => this.overflowed(ownerId, onOverflow));
    await this.ownerStreams.follow(ownerId, feed, matches);
    return feed;
  }

  /** A live feed of one task's events; resolves once the feed's `liveFrom` is known. */
  async followTaskEvents(taskId: string, ownerId: string, onOverflow: () => void): Promise<TaskEventFeed> {
    const feed = new LiveFeed<TaskEvent>(this.options.subscriberBuffer, (f) => this.taskStreams.detach(taskId, f), () => this.overflowed(ownerId, onOverflow));
    await this.taskStreams.follow(taskId, feed, everything);
    return feed;
  }

  private onHistoryNotification(payload: string): void {
    if (payload === RESYNC) {
      this.ownerStreams.drainAll();
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

const everything = (): boolean => true;

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
