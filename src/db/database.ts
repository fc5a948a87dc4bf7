// Opens the one database makima uses: embedded PGlite under the data directory, or PostgreSQL when
// DATABASE_URL is set. Both are reached through Prisma (driver adapters) plus a small raw interface
// for migrations and LISTEN/NOTIFY.
import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import lockfile from 'proper-lockfile';
import { PrismaClient } from '../generated/prisma/client.js';

export type Engine = 'pglite' | 'postgres';

/** Runs SQL outside Prisma, on one connection, in one transaction. */
export interface RawTransaction {
  exec(sql: string): Promise<void>;
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
}

export interface Database {
  engine: Engine;
  prisma: PrismaClient;
  /** Raw query on any connection (no transaction). */
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  rawTransaction<T>(fn: (tx: RawTransaction) => Promise<T>): Promise<T>;
  /** Subscribes to a NOTIFY channel; returns the function that unsubscribes. */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export class DataDirLockedError extends Error {}

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
}

export async function openDatabase(options: OpenOptions): Promise<Database> {
  if (options.databaseUrl) return openPostgres(options.databaseUrl, options.onQuery);
  return openPGlite(options);
}

function createPrisma(adapter: PrismaPg | PrismaPGlite, onQuery: OpenOptions['onQuery']): PrismaClient {
  if (!onQuery) return new PrismaClient({ adapter });
  // Query events cost a serialization of every query's parameters, so they are only on when asked for.
  const client = new PrismaClient({ adapter, log: [{ emit: 'event', level: 'query' }] });
  client.$on('query', (e) => onQuery(e.query, e.params));
  return client as unknown as PrismaClient;
}

async function openPostgres(url: string, onQuery: OpenOptions['onQuery']): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  pool.on('error', () => undefined); // an idle client's error is reported again on its next use
  const prisma = createPrisma(new PrismaPg(pool), onQuery);
  const handlers = new Map<string, Set<(payload: string) => void>>();
  let listener: Promise<pg.Client> | undefined;
  let closed = false;

  // One connection carries every LISTEN. If it drops, it is reopened (retrying every second),
  // every channel is listened to again, and every handler gets RESYNC: notifications sent while
  // it was down are lost, so listeners must re-read what they track.
  function listenerClient(): Promise<pg.Client> {
    listener ??= (async () => {
      const client = new pg.Client({ connectionString: url, application_name: LISTENER_APPLICATION_NAME });
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
    async query(sql, params) {
      return (await pool.query(sql, params as unknown[])).rows;
    },
    async rawTransaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn({
          exec: async (sql) => void (await client.query(sql)),
          query: async (sql, params) => (await client.query(sql, params as unknown[])).rows,
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
      closed = true;
      await prisma.$disconnect();
      const client = await listener?.catch(() => undefined);
      listener = undefined;
      await client?.end().catch(() => undefined);
      await pool.end();
    },
  };
}

async function openPGlite(options: OpenOptions): Promise<Database> {
  let release: (() => Promise<void>) | undefined;
  let db = options.pglite;
  if (!db) {
    fs.mkdirSync(options.dataDir, { recursive: true });
    release = await lockDataDir(options.dataDir);
    try {
      db = await PGlite.create(path.join(options.dataDir, 'pgdata'));
    } catch (err) {
      await release();
      throw err;
    }
  }
  const pglite = db;
  const prisma = createPrisma(new PrismaPGlite(pglite), options.onQuery);
  return {
    engine: 'pglite',
    prisma,
    async query(sql, params) {
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
    async listen(channel, onPayload) {
      const unlisten = await pglite.listen(channel, onPayload);
      return async () => unlisten();
    },
    async close() {
      await prisma.$disconnect();
      await pglite.close();
      await release?.();
    },
  };
}

/** PGlite is one process: a second process opening the same data directory would corrupt it. */
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  try {
    return await lockfile.lock(dataDir, { lockfilePath: path.join(dataDir, 'makima.lock'), stale: 10_000, update: 2_000 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOCKED') {
      throw new DataDirLockedError(
        `the embedded database in ${dataDir} is in use by another makima process (a running server?).\n` +
          'Stop that process, use another MAKIMA_DATA_DIR, or set DATABASE_URL to share a PostgreSQL database.',
      );
    }
    throw err;
  }
}
