// Opens the one database makima uses: embedded PGlite under the data directory, or PostgreSQL when
// DATABASE_URL is set. Both are reached through Prisma (driver adapters) plus a small raw interface
// for migrations, LISTEN/NOTIFY and the one-statement hot writes (docs/design.md §9).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.js';
import { lockDataDir, type DataDirLock } from './data-dir-lock.js';
import { TRANSACTION_TIMEOUT_MS } from './transaction.js';
import { ServerBusyError } from '../errors.js';
import { Notifier, NOTIFY_BATCH_SQL, registerNotifier } from './notifier.js';

export { DataDirLockedError } from './data-dir-lock.js';

export type Engine = 'pglite' | 'postgres';

/** Runs SQL outside Prisma, on one connection, in one transaction. */
export interface RawTransaction {
  exec(sql: string): Promise<void>;
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
}

export interface Database {
  engine: Engine;
  prisma: PrismaClient;
  /**
   * Raw query on any connection (no transaction). `prepared`: a hot statement sent again and again
   * (a history page); on PostgreSQL it is then a named prepared statement, parsed once per connection
   * and afterwards sent as Bind/Execute only (see preparedName).
   */
  query<R = Record<string, unknown>>(sql: string, params?: unknown[], options?: { prepared?: boolean }): Promise<R[]>;
  rawTransaction<T>(fn: (tx: RawTransaction) => Promise<T>): Promise<T>;
  /**
   * One statement in a transaction of its own, its parameters bound: on PostgreSQL one round trip
   * (autocommit), which is what a hot write's latency and CPU are made of (docs/design.md §9). A
   * connection is waited for as a transaction's is (SERVER_BUSY past MAKIMA_TRANSACTION_MAX_WAIT_MS).
   */
  atomic<R = Record<string, unknown>>(sql: string, params: unknown[]): Promise<R[]>;
  /** Sends notifications after commit, coalesced (db/notifier.ts); close() sends what waits. */
  notifier: Notifier;
  /** Subscribes to a NOTIFY channel; returns the function that unsubscribes. */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  /**
   * Calls `listener` once, with a one-line message, if the embedded database loses its data
   * directory: its lock file was removed or replaced by someone else while this process held it.
   * The process must then stop using the database (`makima serve` stops). Never called for PostgreSQL.
   */
  onLockLost(listener: (message: string) => void): void;
  close(): Promise<void>;
}

/** The payload a listener gets after its LISTEN connection was lost and restored: re-read everything. */
export const RESYNC = '';

/** The application_name of the connection that carries LISTEN (visible in pg_stat_activity). */
export const LISTENER_APPLICATION_NAME = 'makima-listen';

export interface OpenOptions {
  databaseUrl?: string;
  dataDir: string;
  /** An already-open PGlite (tests clone a migrated template); the data dir is then not used. */
  pglite?: PGlite;
  /** Called with every query Prisma sends and its parameters as JSON (tests count queries to prove there is no N+1). */
  onQuery?: (sql: string, params: string) => void;
  /** PostgreSQL: connections in the pool, besides the one that carries LISTEN (MAKIMA_PG_POOL_SIZE; default 10). */
  poolSize?: number;
  /** PostgreSQL: how long opening a connection may take (MAKIMA_PG_CONNECT_TIMEOUT_MS; default 10 s). */
  connectTimeoutMs?: number;
  /** How long a transaction may wait for a connection before it is SERVER_BUSY (MAKIMA_TRANSACTION_MAX_WAIT_MS; default 30 s). */
  transactionMaxWaitMs?: number;
}

/**
 * A connection of the pool for a raw transaction, as Prisma's maxWait bounds its own: one that
 * waited in the pool's queue longer than `maxWaitMs` (or than the pool's own connect timeout) is
 * ServerBusyError (db/transaction.ts); a late connection is handed back. A failure to open a new
 * connection (nothing queued) is the database's fault and stays as it is.
 */
async function connectWithin(pool: pg.Pool, poolSize: number, maxWaitMs: number): Promise<pg.PoolClient> {
  const queued = pool.idleCount === 0 && pool.totalCount >= poolSize;
  const connecting = pool.connect();
  if (!queued) return connecting;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new ServerBusyError()), maxWaitMs)));
  try {
    return await Promise.race([connecting, late]);
  } catch (err) {
    connecting.then((client) => client.release(), () => undefined);
    if (err instanceof ServerBusyError) throw err;
    throw new ServerBusyError();
  } finally {
    clearTimeout(timer);
  }
}

export async function openDatabase(options: OpenOptions): Promise<Database> {
  if (options.databaseUrl) return openPostgres(options.databaseUrl, options);
  return openPGlite(options);
}

function createPrisma(adapter: PrismaPg | PrismaPGlite, { onQuery, transactionMaxWaitMs = 30_000 }: OpenOptions): PrismaClient {
  // Every transaction's bounds (db/transaction.ts): one wait for a connection, one run time.
  const transactionOptions = { maxWait: transactionMaxWaitMs, timeout: TRANSACTION_TIMEOUT_MS };
  if (!onQuery) return new PrismaClient({ adapter, transactionOptions });
  // Query events cost a serialization of every query's parameters, so they are only on when asked for.
  const client = new PrismaClient({ adapter, transactionOptions, log: [{ emit: 'event', level: 'query' }] });
  client.$on('query', (e) => onQuery(e.query, e.params));
  return client as unknown as PrismaClient;
}

/** The most distinct texts given a prepared statement's name; texts past them are sent unnamed. */
const PREPARED_TEXTS = 256;
const preparedNames = new Map<string, string>();

/**
 * The name of `sql` as a prepared statement: one per distinct text (a hash of it, so that a name
 * always means the same text on every connection, as pg requires). A connection keeps every statement
 * it prepared until it closes, so only the first PREPARED_TEXTS texts get a name; a text built from
 * input without bound (a page's LIMIT, a filter's shape) cannot fill a connection's memory.
 */
export function preparedName(sql: string): string | undefined {
  let name = preparedNames.get(sql);
  if (name === undefined && preparedNames.size < PREPARED_TEXTS) {
    name = `makima-${crypto.createHash('sha1').update(sql).digest('base64url').slice(0, 16)}`;
    preparedNames.set(sql, name);
  }
  return name;
}

async function openPostgres(url: string, options: OpenOptions): Promise<Database> {
  const { poolSize = 10, connectTimeoutMs = 10_000, transactionMaxWaitMs = 30_000 } = options;
  // Without a connect timeout a host that drops packets hangs every connection attempt (and a
  // start) for as long as the kernel retries: minutes.
  const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: connectTimeoutMs });
  pool.on('error', () => undefined); // an idle client's error is reported again on its next use
  const prisma = createPrisma(new PrismaPg(pool), options);
  const notifier = new Notifier(async (channels, payloads) => void (await pool.query(NOTIFY_BATCH_SQL, [channels, payloads])));
  registerNotifier(prisma, notifier);
  const handlers = new Map<string, Set<(payload: string) => void>>();
  let listener: Promise<pg.Client> | undefined;
  let closed = false;

  // One connection carries every LISTEN. If it drops, it is reopened (retrying every second),
  // every channel is listened to again, and every handler gets RESYNC: notifications sent while
  // it was down are lost, so listeners must re-read what they track.
  function listenerClient(): Promise<pg.Client> {
    listener ??= (async () => {
      const client = new pg.Client({ connectionString: url, application_name: LISTENER_APPLICATION_NAME, connectionTimeoutMillis: connectTimeoutMs });
      client.on('notification', (msg) => {
        for (const h of handlers.get(msg.channel) ?? []) h(msg.payload ?? '');
      });
      const lost = () => {
        if (closed || !listener) return;
        listener = undefined;
        void client.end().catch(() => undefined);
        void reconnect();
      };
      client.on('error', lost);
      client.on('end', lost);
      await client.connect();
      for (const channel of handlers.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      return client;
    })();
    listener.catch(() => (listener = undefined));
    return listener;
  }

  async function reconnect(): Promise<void> {
    while (!closed) {
      try {
        await listenerClient();
        for (const set of handlers.values()) for (const h of set) h(RESYNC);
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  return {
    engine: 'postgres',
    prisma,
    notifier,
    async query(sql, params, { prepared = false } = {}) {
      const name = prepared ? preparedName(sql) : undefined;
      if (name) return (await pool.query({ name, text: sql, values: params })).rows;
      return (await pool.query(sql, params as unknown[])).rows;
    },
    async rawTransaction(fn) {
      const client = await connectWithin(pool, poolSize, transactionMaxWaitMs);
      try {
        await client.query('BEGIN');
        const result = await fn({
          exec: async (sql) => void (await client.query(sql)),
          query: async (sql, params) => (await client.query(sql, params as unknown[])).rows as never[],
        });
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    async atomic(sql, params) {
      const client = await connectWithin(pool, poolSize, transactionMaxWaitMs);
      try {
        return (await client.query(sql, params)).rows;
      } finally {
        client.release();
      }
    },
    async listen(channel, onPayload) {
      let set = handlers.get(channel);
      if (!set) {
        set = new Set();
        handlers.set(channel, set);
        const client = await listenerClient();
        await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      }
      set.add(onPayload);
      return async () => {
        set.delete(onPayload);
      };
    },
    async close() {
      await notifier.close();
      closed = true;
      await prisma.$disconnect();
      const client = await listener?.catch(() => undefined);
      listener = undefined;
      await client?.end().catch(() => undefined);
      await pool.end();
    },
    onLockLost() {}, // a PostgreSQL server is shared, not owned
  };
}

/** The longest PGlite's queue may hold the event loop before it lets it poll its sockets once. */
const PGLITE_SLICE_MS = 10;

/**
 * PGlite runs on this thread, one query or transaction at a time, and hands the next one its turn
 * with a resolved promise: a queue of hundreds of queries (a burst of requests) ran back to back as
 * microtasks, and the event loop did not poll its sockets until the whole queue was done — seconds.
 * Meanwhile a keep-alive connection whose response was sent could reach its keep-alive timeout
 * while its next request sat unread, and was closed under it (the client saw ECONNRESET). Here each
 * query, script and transaction waits for the previous one, and once the queue has held the thread
 * for PGLITE_SLICE_MS, for one turn of the event loop (setImmediate), so sockets are read between
 * slices (docs/design.md §2).
 */
export function takingTurns(pglite: PGlite): PGlite {
  let previous: Promise<unknown> = Promise.resolve();
  let sliceStart = performance.now();
  const turn = async (): Promise<void> => {
    if (performance.now() - sliceStart < PGLITE_SLICE_MS) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    sliceStart = performance.now();
  };
  const afterTurn = <T>(run: () => Promise<T>): Promise<T> => {
    const result = previous.then(turn).then(run);
    previous = result.catch(() => undefined);
    return result;
  };
  const queued = new Set<PropertyKey>(['query', 'exec', 'transaction']);
  return new Proxy(pglite, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      if (queued.has(property)) return (...args: unknown[]) => afterTurn(() => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args));
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
}

async function openPGlite(options: OpenOptions): Promise<Database> {
  let lock: DataDirLock | undefined;
  let db = options.pglite;
  if (!db) {
    fs.mkdirSync(options.dataDir, { recursive: true });
    lock = lockDataDir(options.dataDir);
    try {
      db = await PGlite.create(path.join(options.dataDir, 'pgdata'));
    } catch (err) {
      lock.release();
      throw err;
    }
  }
  const pglite = takingTurns(db);
  const prisma = createPrisma(new PrismaPGlite(pglite), options);
  const notifier = new Notifier(async (channels, payloads) => void (await pglite.query(NOTIFY_BATCH_SQL, [channels, payloads])));
  registerNotifier(prisma, notifier);
  return {
    engine: 'pglite',
    prisma,
    notifier,
    async query(sql, params) {
      // PGlite has no connection to keep a statement on: `prepared` changes nothing here.
      return (await pglite.query(sql, params as unknown[])).rows as never[];
    },
    async rawTransaction(fn) {
      return pglite.transaction((tx) =>
        fn({
          exec: async (sql) => void (await tx.exec(sql)),
          query: async (sql, params) => (await tx.query(sql, params as unknown[])).rows as never[],
        }),
      );
    },
    async atomic(sql, params) {
      // Like every query, it waits for a transaction under way (PGlite runs one at a time).
      return (await pglite.query(sql, params)).rows as never[];
    },
    async listen(channel, onPayload) {
      const unlisten = await pglite.listen(channel, onPayload);
      return async () => unlisten();
    },
    onLockLost(listener) {
      lock?.onLost(listener);
    },
    async close() {
      await notifier.close();
      lock?.stopChecking();
      await prisma.$disconnect();
      // Closing PGlite ends its backend, which writes to its files (a shutdown checkpoint). If another
      // live process has taken the directory since our lock was lost, the files are its own now:
      // leave them alone (the next owner recovers them as after a crash).
      if (!lock?.heldByAnother()) await pglite.close();
      lock?.release();
    },
  };
}
