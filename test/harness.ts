// The shared test harness: a real server on port 0 with a fresh database (a clone of a migrated
// PGlite, or a new database on the PostgreSQL in TEST_DATABASE_URL), temp dirs for repositories
// and worktrees, and typed GraphQL helpers. Each test makes its own users and data.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type ExecutionResult } from 'graphql';
import pg from 'pg';
import { simpleGit } from 'simple-git';
import { loadConfig, type Config } from '../src/config.js';
import { openDatabase, type Database } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { createUser } from '../src/modules/auth/service.js';
import { startServer, type RunningServer } from '../src/server.js';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || undefined;
export const ENGINE = TEST_DATABASE_URL ? 'postgres' : 'pglite';

let template: Promise<Blob> | undefined;

/**
 * A migrated PGlite's data directory, made once per test worker (the worker runs many files:
 * vitest.config.ts, docs/testing.md): each test database starts from it. The dump is taken once —
 * PGlite's own clone() dumps its source on every call.
 */
async function migratedTemplate(): Promise<Blob> {
  template ??= (async () => {
    const pglite = await PGlite.create();
    const db = await openDatabase({ dataDir: '', pglite });
    await migrate(db);
    const dump = await pglite.dumpDataDir('none');
    await db.close();
    return dump;
  })();
  return template;
}

export interface TestDatabase {
  db: Database;
  url?: string;
  drop(): Promise<void>;
}

/** A fresh, migrated database of the engine under test; `onQuery` sees every Prisma query. */
export async function createTestDatabase(options: { onQuery?: (sql: string, params: string) => void } = {}): Promise<TestDatabase> {
  if (!TEST_DATABASE_URL) {
    const pglite = await PGlite.create({ loadDataDir: await migratedTemplate() });
    const db = await openDatabase({ dataDir: '', pglite, onQuery: options.onQuery });
    return { db, drop: async () => db.close() };
  }
  const postgres = await createPostgresDatabase();
  const db = await openDatabase({ databaseUrl: postgres.url, dataDir: '', onQuery: options.onQuery });
  await migrate(db);
  return {
    db,
    url: postgres.url,
    drop: async () => {
      await db.close();
      await postgres.drop();
    },
  };
}

/** A new, empty database on the PostgreSQL of TEST_DATABASE_URL, and how to drop it. */
export async function createPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  if (!TEST_DATABASE_URL) throw new Error('createPostgresDatabase needs TEST_DATABASE_URL');
  const name = `makima_test_${crypto.randomBytes(6).toString('hex')}`;
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

export function tempDir(prefix = 'makima-test-'): string {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
}

type Doc<R, V> = TypedDocumentNode<R, V> | string;

export interface GqlResult<R> extends ExecutionResult<R> {
  data?: R | null;
}

export interface TestUser {
  id: string;
  name: string;
  token: string;
  /** Runs an operation as this user and returns the raw result (data and errors). */
  gql<R = any, V = Record<string, unknown>>(doc: Doc<R, V>, variables?: V): Promise<GqlResult<R>>;
  /** Runs an operation as this user and fails the test on any error. */
  ok<R = any, V = Record<string, unknown>>(doc: Doc<R, V>, variables?: V): Promise<R>;
}

export interface TestServer {
  server: RunningServer;
  config: Config;
  url: string;
  wsUrl: string;
  db: Database;
  reposRoot: string;
  createUser(name?: string): Promise<TestUser>;
  gql<R = any, V = Record<string, unknown>>(doc: Doc<R, V>, variables?: V, token?: string): Promise<GqlResult<R>>;
  /** A git repository with one commit, inside the repositories root. */
  makeRepo(files?: Record<string, string>): Promise<string>;
  /** A new empty directory for a test's own files (an agent's log, its acks), removed by stop() with the server's. */
  scratchDir(): string;
  /**
   * A server restart: stops the server, runs `whileDown`, then starts a new server on the same port
   * with the same database (t.server is the new one; t.url is unchanged).
   */
  restart(whileDown?: () => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

export async function postGraphql<R, V = Record<string, unknown>>(url: string, doc: Doc<R, V>, variables?: V, token?: string): Promise<GqlResult<R>> {
  const query = typeof doc === 'string' ? doc : print(doc);
  const send = () =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
  let res: Response;
  try {
    res = await send();
  } catch (err) {
    // fetch reuses an idle keep-alive connection, and a server may close such a connection just as
    // the next request is sent on it (its keep-alive timer, on a loaded machine); the request then
    // meets "other side closed" without having been read. A query is sent once more on a new
    // connection, as HTTP clients do; a mutation never is (the caller must see what happened to it).
    if (!isClosedReusedSocket(err) || !/^\s*(query\b|\{)/.test(query)) throw err;
    res = await send();
  }
  return (await res.json()) as GqlResult<R>;
}

/** fetch's error for a pooled connection the server had closed (undici's UND_ERR_SOCKET "other side closed"). */
function isClosedReusedSocket(err: unknown): boolean {
  const cause = (err as { cause?: { code?: string; message?: string } } | null)?.cause;
  return cause?.code === 'UND_ERR_SOCKET' && /other side closed/.test(cause.message ?? '');
}

export async function startTestServer(env: Record<string, string> = {}, existing?: TestDatabase): Promise<TestServer> {
  const root = tempDir();
  const reposRoot = path.join(root, 'repos');
  fs.mkdirSync(reposRoot);
  const testDb = existing ?? (await createTestDatabase());
  const config = loadConfig(
    {
      MAKIMA_DATA_DIR: path.join(root, 'data'),
      MAKIMA_REPOS_ROOT: reposRoot,
      PORT: '0',
      MAKIMA_LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      ...(testDb.url ? { DATABASE_URL: testDb.url } : {}),
      ...env,
    },
    root,
  );
  let server = await startServer({ config, db: testDb.db, keepDatabase: true });
  const gql = <R, V>(doc: Doc<R, V>, variables?: V, token?: string) => postGraphql(server.url, doc, variables, token);
  let repoCount = 0;
  let scratchCount = 0;
  const testServer: TestServer = {
    server,
    config,
    url: server.url,
    wsUrl: server.wsUrl,
    db: testDb.db,
    reposRoot,
    gql,
    async createUser(name = 'tester') {
      const user = await createUser(testDb.db.prisma, name);
      return {
        ...user,
        gql: (doc, variables) => gql(doc, variables, user.token),
        async ok(doc, variables) {
          const result = await gql(doc, variables, user.token);
          if (result.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors, null, 2)}`);
          return result.data as never;
        },
      };
    },
    async makeRepo(files = { 'README.md': '# test repository\n' }) {
      const dir = path.join(reposRoot, `repo-${++repoCount}`);
      await makeGitRepo(dir, files);
      return dir;
    },
    scratchDir() {
      const dir = path.join(root, `scratch-${++scratchCount}`);
      fs.mkdirSync(dir);
      return dir;
    },
    async restart(whileDown) {
      await server.stop();
      await whileDown?.();
      server = await startServer({ config: { ...config, port: server.port }, db: testDb.db, keepDatabase: true });
      testServer.server = server;
    },
    async stop() {
      await server.stop();
      if (!existing) await testDb.drop();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
  return testServer;
}

/** A real git repository with one commit containing `files`. */
export async function makeGitRepo(dir: string, files: Record<string, string>): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  const git = simpleGit(dir);
  await git.init(['--initial-branch=main']);
  await git.addConfig('user.name', 'test').addConfig('user.email', 'test@example.com');
  await git.add('.');
  await git.commit('initial commit');
}

/** The error codes of a result, in order. */
export function codes(result: { errors?: readonly { extensions?: Record<string, unknown> }[] }): unknown[] {
  return (result.errors ?? []).map((e) => e.extensions?.code);
}

/** The UUID inside an opaque global ID (for direct SQL checks in tests). */
export function rawId(globalId: string): string {
  return Buffer.from(globalId, 'base64').toString('utf8').split(':')[1];
}

/**
 * Polls `probe` until it returns something other than undefined/null/false, then returns it; fails
 * after `timeoutMs`. Only for state that changes with no event this process can await (a lease
 * lapsing by the database's clock, a claim starting to wait, another process's child exiting); each
 * use says why. Where the server records the change, await it instead: fixtures.taskEvent.
 */
export async function eventually<T>(probe: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 10_000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
