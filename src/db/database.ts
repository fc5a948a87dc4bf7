// Opens the one database makima uses: embedded PGlite under the data directory, or PostgreSQL when
// DATABASE_URL is set. Both are reached through Prisma (driver adapters) plus a small raw interface
// for migrations and LISTEN/NOTIFY.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.js';

export type Engine = 'pglite' | 'postgres';

/** Runs SQL outside Prisma, on one connection, in one transaction. */
export interface RawTransaction {
  exec(sql: string): Promise<void>;
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  /**
   * The transaction's last statement, committed with it: on PostgreSQL both travel in one round
   * trip (as BEGIN travels with the first statement), which is what a hot path's latency and CPU
   * are made of (docs/design.md §9). Nothing may run in the transaction after it.
   */
  queryAndCommit<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
}

/**
 * `sql` with each `$n` replaced by params[n-1] as a SQL literal, for the simple query protocol
 * (which carries several statements in one round trip but no parameters). Only for makima's own
 * statements, whose text never has `$n` inside a string.
 */
export function inlineParams(sql: string, params: unknown[] = []): string {
  return sql.replace(/\$(\d+)/g, (_, n: string) => sqlLiteral(params[Number(n) - 1]));
}

function sqlLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (value instanceof Date) return pg.escapeLiteral(value.toISOString());
  if (typeof value === 'string') return pg.escapeLiteral(value);
  return pg.escapeLiteral(JSON.stringify(value));
}

export interface Database {
  engine: Engine;
  prisma: PrismaClient;
  /** Raw query on any connection (no transaction). */
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  rawTransaction<T>(fn: (tx: RawTransaction) => Promise<T>): Promise<T>;
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

/** The embedded database's data directory is held by another live process (or cannot be taken). */
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
  /** PostgreSQL: connections in the pool, besides the one that carries LISTEN (MAKIMA_PG_POOL_SIZE; default 10). */
  poolSize?: number;
  /** PostgreSQL: how long opening a connection may take (MAKIMA_PG_CONNECT_TIMEOUT_MS; default 10 s). */
  connectTimeoutMs?: number;
}

export async function openDatabase(options: OpenOptions): Promise<Database> {
  if (options.databaseUrl) return openPostgres(options.databaseUrl, options.onQuery, options.poolSize, options.connectTimeoutMs);
  return openPGlite(options);
}

function createPrisma(adapter: PrismaPg | PrismaPGlite, onQuery: OpenOptions['onQuery']): PrismaClient {
  if (!onQuery) return new PrismaClient({ adapter });
  // Query events cost a serialization of every query's parameters, so they are only on when asked for.
  const client = new PrismaClient({ adapter, log: [{ emit: 'event', level: 'query' }] });
  client.$on('query', (e) => onQuery(e.query, e.params));
  return client as unknown as PrismaClient;
}

async function openPostgres(url: string, onQuery: OpenOptions['onQuery'], poolSize = 10, connectTimeoutMs = 10_000): Promise<Database> {
  // Without a connect timeout a host that drops packets hangs every connection attempt (and a
  // start) for as long as the kernel retries: minutes.
  const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: connectTimeoutMs });
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
    async query(sql, params) {
      return (await pool.query(sql, params as unknown[])).rows;
    },
    async rawTransaction(fn) {
      const client = await pool.connect();
      // BEGIN travels with the first statement and COMMIT with queryAndCommit's, as one simple-protocol
      // query each: a hot path's five round trips become three.
      let state = 'new' as 'new' | 'open' | 'committed';
      const run = async (sql: string, params: unknown[] | undefined, commit: boolean): Promise<never[]> => {
        if (state === 'committed') throw new Error('the transaction was already committed');
        const begin = state === 'new';
        state = commit ? 'committed' : 'open';
        if (!begin && !commit) return (await client.query(sql, params as unknown[])).rows as never[];
        const results = (await client.query(`${begin ? 'BEGIN; ' : ''}${inlineParams(sql, params)}${commit ? '; COMMIT' : ''}`)) as unknown as pg.QueryResult | pg.QueryResult[];
        const all = Array.isArray(results) ? results : [results];
        return all[begin ? 1 : 0].rows as never[];
      };
      try {
        const result = await fn({
          exec: async (sql) => void (await run(sql, undefined, false)),
          query: async (sql, params) => run(sql, params, false),
          queryAndCommit: async (sql, params) => run(sql, params, true),
        });
        if (state === 'open') await client.query('COMMIT');
        return result;
      } catch (err) {
        if (state !== 'new') await client.query('ROLLBACK').catch(() => undefined);
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
    onLockLost() {}, // a PostgreSQL server is shared, not owned
  };
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
          // In-process: no round trips to save; the transaction commits when fn returns.
          queryAndCommit: async (sql, params) => (await tx.query(sql, params as unknown[])).rows as never[],
        }),
      );
    },
    async listen(channel, onPayload) {
      const unlisten = await pglite.listen(channel, onPayload);
      return async () => unlisten();
    },
    onLockLost(listener) {
      lock?.onLost(listener);
    },
    async close() {
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

// The data directory lock. PGlite is one process: a second process opening the same data directory
// would corrupt it. `makima.lock` names its owner (pid, hostname, the kernel's start time of the
// process, a random nonce). Nothing in it expires: a live owner keeps the directory however slow or
// stopped it is, and a dead owner's lock is taken over at once, because a starter checks whether
// the owner still runs instead of how old the lock is.
//
// - Taking: the lock is written to a temporary file and hard-linked to `makima.lock` (link(2) fails
//   when the name exists), so it appears whole and only one process can create it.
// - Taking over a dead owner's lock: only the holder of the newest claim on that lock may remove it.
//   A claim is `makima.lock.takeover-<nonce>-<k>`, created the same exclusive way, and claim k+1 is
//   made only after seeing that the maker of claim k is dead. Claims are never removed while the lock
//   they name is in place, so of two (or more) starters racing for one dead lock exactly one removes
//   it (after checking it is still that lock) and the link decides who takes the directory.
// - Losing: the owner rereads the file every LOCK_CHECK_MS; if it was removed or replaced it tells
//   its listeners (`Database.onLockLost`) instead of going on as if it still owned the directory.

const LOCK_FILE = 'makima.lock';
const LOCK_CHECK_MS = 1000;
/** makima's earlier lock (proper-lockfile) was a directory of that name, touched every 2 s by its owner. */
const LEGACY_STALE_MS = 10_000;
const TRY_AGAIN_SUFFIX = 'Stop that process, use another MAKIMA_DATA_DIR, or set DATABASE_URL to share a PostgreSQL database.';

interface LockOwner {
  pid: number;
  hostname: string;
  /** /proc/<pid>/stat field 22 (clock ticks after boot), so that a recycled pid is not the owner; null off Linux. */
  start: string | null;
  /** When the lock was taken, for people. */
  since: string;
  nonce: string;
}

interface DataDirLock {
  onLost(listener: (message: string) => void): void;
  stopChecking(): void;
  /** Whether another live process holds the lock now (so ours was lost). */
  heldByAnother(): boolean;
  /** Removes the lock file if it is still ours. */
  release(): void;
}

type Holder =
  | { kind: 'none' }
  | { kind: 'owner'; owner: LockOwner }
  | { kind: 'legacy'; ageMs: number }
  | { kind: 'unreadable' };

function lockDataDir(dataDir: string): DataDirLock {
  const file = path.join(dataDir, LOCK_FILE);
  const me: LockOwner = {
    pid: process.pid,
    hostname: os.hostname(),
    start: startTimeOf(process.pid) ?? null,
    since: new Date().toISOString(),
    nonce: crypto.randomBytes(8).toString('hex'),
  };
  const content = `${JSON.stringify(me)}\n`;
  for (let attempt = 1; !createExclusive(dataDir, file, content); attempt++) {
    // Each turn of this loop follows a change made by another process; a few are plenty.
    if (attempt > 50) throw new DataDirLockedError(`could not lock the embedded database in ${dataDir}: ${file} keeps changing. ${TRY_AGAIN_SUFFIX}`);
    const held = readHolder(file);
    if (held.kind === 'none') continue; // released meanwhile
    if (held.kind === 'unreadable') {
      throw new DataDirLockedError(`the embedded database in ${dataDir} is locked by ${file}, which is not a makima lock file; if no makima process uses this directory, delete that file.`);
    }
    if (held.kind === 'legacy') {
      if (held.ageMs < LEGACY_STALE_MS) throw new DataDirLockedError(`the embedded database in ${dataDir} is in use by another makima process (an earlier makima version). ${TRY_AGAIN_SUFFIX}`);
      removeLegacyLock(file);
      continue;
    }
    if (isAlive(held.owner)) throw new DataDirLockedError(inUseMessage(dataDir, file, held.owner));
    takeOver(dataDir, file, held.owner, content);
  }
  safely(() => sweep(dataDir), undefined); // tidying only

  const listeners: ((message: string) => void)[] = [];
  let lostMessage: string | undefined;
  const check = () => {
    let now: string | undefined;
    try {
      now = fs.readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'EISDIR') return; // cannot tell now (EMFILE, EIO…): look again next time
    }
    if (now === content) return;
    clearInterval(timer);
    const held = safely(() => readHolder(file), { kind: 'unreadable' });
    const by = held.kind === 'owner' ? ` (it now names process ${held.owner.pid}${held.owner.hostname === me.hostname ? '' : ` on host ${held.owner.hostname}`})` : '';
    lostMessage = `the embedded database in ${dataDir} is no longer this process's: its lock file ${file} was ${held.kind === 'none' ? 'removed' : 'replaced'}${by}`;
    for (const listener of listeners.splice(0)) listener(lostMessage);
  };
  const timer = setInterval(check, LOCK_CHECK_MS);
  timer.unref();

  return {
    onLost(listener) {
      if (lostMessage !== undefined) listener(lostMessage);
      else listeners.push(listener);
    },
    stopChecking: () => clearInterval(timer),
    heldByAnother() {
      const held = safely(() => readHolder(file), { kind: 'unreadable' });
      return held.kind === 'legacy' || (held.kind === 'owner' && held.owner.nonce !== me.nonce && isAlive(held.owner));
    },
    release() {
      clearInterval(timer);
      try {
        if (fs.readFileSync(file, 'utf8') === content) fs.unlinkSync(file);
      } catch {
        // gone already, or not ours to remove
      }
    },
  };
}

function safely<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    return fallback;
  }
}

function inUseMessage(dataDir: string, file: string, owner: LockOwner): string {
  const who = `another makima process (pid ${owner.pid}`;
  if (owner.hostname !== os.hostname()) {
    return (
      `the embedded database in ${dataDir} is in use by ${who} on host ${owner.hostname}, since ${owner.since}); ` +
      `a process on another host cannot be checked from here, so it counts as running. Stop it there, or if it is gone, delete ${file}.`
    );
  }
  return `the embedded database in ${dataDir} is in use by ${who}, since ${owner.since}). ${TRY_AGAIN_SUFFIX}`;
}

/**
 * Creates `file` holding `content` unless it exists, all at once: readers never see it half written.
 * Returns false when it exists.
 */
function createExclusive(dir: string, file: string, content: string): boolean {
  const tmp = path.join(dir, `${LOCK_FILE}.tmp-${crypto.randomBytes(8).toString('hex')}`);
  const fd = fs.openSync(tmp, 'wx');
  try {
    fs.writeSync(fd, content);
    fs.fsyncSync(fd); // a lock that survives a power cut must not come back empty
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
    // A file system without hard links: create the name exclusively and write into it.
    try {
      fs.writeFileSync(file, content, { flag: 'wx' });
      return true;
    } catch (err2) {
      if ((err2 as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err2;
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

function readHolder(file: string): Holder {
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'none' };
    if (code !== 'EISDIR') throw err;
    try {
      return { kind: 'legacy', ageMs: Date.now() - fs.statSync(file).mtimeMs };
    } catch {
      return { kind: 'none' };
    }
  }
  const owner = parseOwner(raw);
  return owner ? { kind: 'owner', owner } : { kind: 'unreadable' };
}

function parseOwner(raw: string): LockOwner | undefined {
  try {
    const o = JSON.parse(raw) as Partial<LockOwner>;
    if (!Number.isSafeInteger(o.pid) || (o.pid as number) <= 0) return undefined;
    if (typeof o.hostname !== 'string' || typeof o.nonce !== 'string' || !/^[0-9a-f]+$/.test(o.nonce)) return undefined;
    if (o.start !== null && typeof o.start !== 'string') return undefined;
    return { pid: o.pid as number, hostname: o.hostname, start: o.start, since: String(o.since ?? 'an unknown time'), nonce: o.nonce };
  } catch {
    return undefined;
  }
}

/**
 * Removes a dead owner's lock, if this process wins the claim on it; otherwise leaves it (the caller
 * then looks at the lock again). Throws DataDirLockedError while another live process is taking it over.
 */
function takeOver(dataDir: string, file: string, dead: LockOwner, content: string): void {
  const prefix = `${LOCK_FILE}.takeover-${dead.nonce}-`;
  const newest = Math.max(
    0,
    ...fs
      .readdirSync(dataDir)
      .filter((name) => name.startsWith(prefix))
      .map((name) => Number(name.slice(prefix.length)))
      .filter((k) => Number.isSafeInteger(k) && k > 0),
  );
  if (newest > 0) {
    const claimant = readHolder(path.join(dataDir, prefix + newest));
    // A claim that cannot be read is being written (only without hard links): count it as alive.
    if (claimant.kind === 'unreadable' || (claimant.kind === 'owner' && isAlive(claimant.owner))) {
      const pid = claimant.kind === 'owner' ? ` (pid ${claimant.owner.pid})` : '';
      throw new DataDirLockedError(`the embedded database in ${dataDir} is being opened by another makima process${pid}. ${TRY_AGAIN_SUFFIX}`);
    }
  }
  const claim = path.join(dataDir, prefix + (newest + 1));
  if (!createExclusive(dataDir, claim, content)) return; // another starter claimed it first
  try {
    // The newest claim is ours and its maker before us is dead: no one else removes this lock now.
    const held = readHolder(file);
    if (held.kind === 'owner' && held.owner.nonce === dead.nonce) fs.unlinkSync(file);
  } finally {
    fs.rmSync(claim, { force: true });
  }
}

function removeLegacyLock(file: string): void {
  try {
    fs.rmdirSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
  }
}

/** Removes what dead processes left behind: temporary files and takeover claims (all of them are ours to judge now). */
function sweep(dataDir: string): void {
  for (const name of fs.readdirSync(dataDir)) {
    if (!name.startsWith(`${LOCK_FILE}.tmp-`) && !name.startsWith(`${LOCK_FILE}.takeover-`)) continue;
    const held = readHolder(path.join(dataDir, name));
    if (held.kind === 'owner' && !isAlive(held.owner)) fs.rmSync(path.join(dataDir, name), { force: true });
  }
}

/**
 * The start time of process `pid` (field 22 of /proc/<pid>/stat) on Linux; undefined when there is
 * no such process (or only its zombie); null when it cannot be known here.
 */
function startTimeOf(pid: number): string | null | undefined {
  if (process.platform !== 'linux') return null;
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null; // no /proc, or one that hides other users' processes: ask the kernel instead
  }
  // "pid (comm) state …": comm may hold spaces and parentheses, so count from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
  return fields[19] ?? null;
}

/** Whether the owner of a lock still runs. A process on another host cannot be checked: it counts as running. */
function isAlive(owner: LockOwner): boolean {
  if (owner.hostname !== os.hostname()) return true;
  const start = startTimeOf(owner.pid);
  if (start === undefined) return false;
  if (start !== null && owner.start !== null) return start === owner.start;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
