// A real `makima serve` for the fault suites (docs/design.md §9): its own data directory and
// repositories root in a temporary folder, the engine under test (a PostgreSQL database of its own
// with TEST_DATABASE_URL), and the test-only crash point file (MAKIMA_TEST_CRASH_FILE). The suite's
// hooks start it before the file's tests and stop and remove everything after them. State lives in
// the returned object, never in this module: a test worker runs many files one after another.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { runMakima, spawnMakima, type Spawned } from '../cli/run.js';
import { createPostgresDatabase, postGraphql, tempDir, TEST_DATABASE_URL } from '../harness.js';

export interface Served {
  root: string;
  reposRoot: string;
  crashFile: string;
  /** The server's environment: a test may swap it (and the token) for a server of its own, then restore it. */
  env: Record<string, string>;
  token: string;
  server: { process: Spawned; url: string } | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** A GraphQL request as the served user; GraphQL errors throw. */
  api<T = any>(query: string, variables?: Record<string, unknown>): Promise<T>;
  /** Runs `operation` with the server set to kill itself at `point`; waits for the death, then restarts it (`whileDown` runs in between). */
  crashAt(point: string, operation: () => Promise<unknown>, whileDown?: () => void): Promise<void>;
  /** A user of a new PostgreSQL database for a server of the test's own (`env` with DATABASE_URL), or undefined on PGlite. */
  ownDatabase(env: Record<string, string>, name: string): Promise<{ drop(): Promise<void>; token: string } | undefined>;
}

/** Registers the file's hooks and returns its served makima. `cleanUp` runs after the server stops, before the folder goes. */
export function servedMakima(name: string, options: { bootMs?: number; cleanUp?: (s: Served) => void } = {}): Served {
  const root = tempDir(`makima-${name}-`);
  const reposRoot = path.join(root, 'repos');
  fs.mkdirSync(reposRoot);
  let database: { drop(): Promise<void> } | undefined;
  const s: Served = {
    root,
    reposRoot,
    crashFile: path.join(root, 'crash-at'),
    env: {},
    token: '',
    server: undefined,
    async start() {
      const child = spawnMakima(['serve', '--json'], s.env);
      const [line] = await child.waitFor(/^\{.*"url".*\}$/m, options.bootMs ?? 150_000);
      const info = JSON.parse(line!) as { url: string; localToken: string | null };
      if (info.localToken) s.token = info.localToken;
      s.server = { process: child, url: info.url };
    },
    async stop() {
      await s.server?.process.stop('SIGINT');
      s.server = undefined;
    },
    async api<T = any>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
      const result = await postGraphql<T>(s.server!.url, query, variables, s.token);
      if (result.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
      return result.data as T;
    },
    async crashAt(point, operation, whileDown) {
      fs.writeFileSync(s.crashFile, point);
      const exit = new Promise<NodeJS.Signals | null>((resolve) => s.server!.process.child.once('exit', (_code, signal) => resolve(signal)));
      await operation().then(
        () => undefined,
        () => undefined, // the connection dies with the server
      );
      expect(await exit, `the server died at ${point}`).toBe('SIGKILL');
      expect(fs.existsSync(s.crashFile), `crash point ${point} was reached`).toBe(false);
      s.server = undefined;
      whileDown?.();
      await s.start();
    },
    async ownDatabase(env, user) {
      if (!TEST_DATABASE_URL) return undefined;
      const db = await createPostgresDatabase();
      env.DATABASE_URL = db.url;
      await runMakima(['migrate'], env);
      const created = await runMakima(['user', 'create', '--name', user, '--json'], env);
      return { drop: () => db.drop(), token: (JSON.parse(created.stdout) as { token: string }).token };
    },
  };

  beforeAll(async () => {
    s.env = { MAKIMA_DATA_DIR: path.join(root, 'data'), MAKIMA_REPOS_ROOT: reposRoot, PORT: '0', MAKIMA_TEST_CRASH_FILE: s.crashFile, MAKIMA_LOG_LEVEL: 'warn' };
    const own = await s.ownDatabase(s.env, name);
    if (own) {
      database = own;
      s.token = own.token;
    }
    await s.start();
  }, 180_000);

  afterAll(async () => {
    await s.stop();
    options.cleanUp?.(s);
    await database?.drop();
    fs.rmSync(root, { recursive: true, force: true });
  }, 60_000);

  return s;
}
