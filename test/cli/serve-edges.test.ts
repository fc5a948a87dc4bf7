// `makima serve` failing to start, as a user sees it: one line on stderr, a non-zero exit at once, and
// nothing created or left open. A busy port is found before the database is opened; a port taken
// after that check (the race the check leaves) still ends in the same line with the database closed;
// a PostgreSQL that is down, or a database that does not exist, is named in one line.
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually, tempDir, TEST_DATABASE_URL } from '../harness.js';
import { runMakima, spawnMakima, type Spawned } from './run.js';

const dirs: string[] = [];
const servers: Spawned[] = [];
const blockers: net.Server[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop('SIGKILL');
  for (const b of blockers) await new Promise((resolve) => b.close(resolve));
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function freshDir(): string {
  const d = tempDir();
  dirs.push(d);
  return d;
}

/** Listens on 127.0.0.1:`port` (0: any free port) the way another program holding it would. */
async function occupy(port = 0): Promise<number> {
  const server = net.createServer((socket) => socket.destroy());
  blockers.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return (server.address() as net.AddressInfo).port;
}

/** A port that is free now. */
async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Waits for a spawned makima to exit; its exit status and how long that took from now. */
async function exited(server: Spawned, timeoutMs: number): Promise<{ code: number | null; ms: number }> {
  const started = Date.now();
  const code = await Promise.race([
    new Promise<number | null>((resolve) => {
      if (server.child.exitCode !== null) resolve(server.child.exitCode);
      else server.child.once('exit', (c) => resolve(c));
    }),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`makima serve did not exit within ${timeoutMs} ms; output:\n${server.output()}`)), timeoutMs)),
  ]);
  return { code, ms: Date.now() - started };
}

/** A PostgreSQL database that nothing has touched (not migrated), dropped after the test. */
async function emptyPostgresDatabase(): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `makima_test_${crypto.randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(TEST_DATABASE_URL!);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

async function tableExists(url: string, table: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query('SELECT to_regclass($1) IS NOT NULL AS present', [table]);
    return rows[0].present as boolean;
  } finally {
    await c.end();
  }
}

describe('makima serve on a port that is in use', () => {
  it('says so in one line and exits 1 at once, without creating a data directory or a token (PGlite)', async () => {
    const port = await occupy();
    const dataDir = path.join(freshDir(), 'data');
    const started = Date.now();
    const result = await runMakima(['serve'], { MAKIMA_DATA_DIR: dataDir, PORT: String(port) });
    expect(result.stderr).toBe(`makima: port ${port} on 127.0.0.1 is in use; set PORT or --port\n`);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(fs.existsSync(dataDir)).toBe(false); // no database, no lock, no local-token
    // It used to open and migrate the database first, then take ~25 s to exit.
    expect(Date.now() - started).toBeLessThan(15_000);

    // Under --json the same failure is one JSON object on stderr, like every command's.
    const flag = await runMakima(['serve', '--port', String(port), '--json'], { MAKIMA_DATA_DIR: dataDir });
    expect(JSON.parse(flag.stderr)).toEqual({ error: { kind: 'ERROR', exitCode: 1, message: `port ${port} on 127.0.0.1 is in use; set PORT or --port` } });
    expect(flag.code).toBe(1);
    expect(flag.stdout).toBe('');
  });

  it('fails the same way when the port is taken after the check: the database is closed, no token is made', async () => {
    const dir = freshDir();
    const dataDir = path.join(dir, 'data');
    const port = await freePort();
    const server = spawnMakima(['serve'], { MAKIMA_DATA_DIR: dataDir, PORT: String(port) });
    servers.push(server);
    // The lock appears when the embedded database is being opened, after the port check passed and
    // seconds before the server listens (opening, migrating): take the port in between.
    await eventually(async () => fs.existsSync(path.join(dataDir, 'makima.lock')), 'the data directory lock', 60_000, 10);
    await occupy(port);
    const { code } = await exited(server, 60_000);
    expect(server.output()).toBe(`makima: port ${port} on 127.0.0.1 is in use; set PORT or --port\n`);
    expect(code).toBe(1);
    expect(fs.existsSync(path.join(dataDir, 'makima.lock'))).toBe(false); // released: the database was closed
    expect(fs.existsSync(path.join(dataDir, 'local-token'))).toBe(false);
    // The database is usable at once by the next process.
    const migrate = await runMakima(['migrate'], { MAKIMA_DATA_DIR: dataDir });
    expect(migrate.code).toBe(0);
  });
});

describe('makima serve with a database it cannot use', () => {
  it('names a PostgreSQL that is not running in one line and exits 1', async () => {
    const closed = await freePort();
    const url = `postgres://postgres:secret@127.0.0.1:${closed}/makima`;
    const result = await runMakima(['serve'], { DATABASE_URL: url, MAKIMA_DATA_DIR: path.join(freshDir(), 'data'), PORT: '0' });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `makima: cannot use the database postgres://postgres:***@127.0.0.1:${closed}/makima (DATABASE_URL): connect ECONNREFUSED 127.0.0.1:${closed}; ` +
        'check that PostgreSQL is running there and that DATABASE_URL is right\n',
    );
    expect(result.stdout).toBe('');
  });
});

describe.runIf(TEST_DATABASE_URL)('makima serve with DATABASE_URL (PostgreSQL)', () => {
  it('on a busy port: one line, exit 1 at once, the database not migrated', async () => {
    const db = await emptyPostgresDatabase();
    try {
      const port = await occupy();
      const started = Date.now();
      const result = await runMakima(['serve'], { DATABASE_URL: db.url, MAKIMA_DATA_DIR: path.join(freshDir(), 'data'), PORT: String(port) });
      expect(result.stderr).toBe(`makima: port ${port} on 127.0.0.1 is in use; set PORT or --port\n`);
      expect(result.code).toBe(1);
      expect(Date.now() - started).toBeLessThan(15_000); // it used never to exit
      expect(await tableExists(db.url, '_prisma_migrations')).toBe(false);
    } finally {
      await db.drop();
    }
  });

  it('on a port taken after the check: one line, and it exits (its pool and LISTEN connection are closed)', async () => {
    const db = await emptyPostgresDatabase();
    const holder = new pg.Client({ connectionString: db.url });
    try {
      // Hold the migration lock, so that the server stops at its first migration, port checked.
      await holder.connect();
      await holder.query('SELECT pg_advisory_lock(72707369)');
      const port = await freePort();
      const server = spawnMakima(['serve'], { DATABASE_URL: db.url, MAKIMA_DATA_DIR: path.join(freshDir(), 'data'), PORT: String(port) });
      servers.push(server);
      await eventually(
        async () => {
          const { rows } = await holder.query(
            `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
              WHERE l.locktype = 'advisory' AND NOT l.granted AND a.datname = $1`,
            [db.name],
          );
          return rows[0].n > 0;
        },
        'the server to wait for the migration lock',
        60_000,
      );
      await occupy(port);
      await holder.query('SELECT pg_advisory_unlock(72707369)');
      const { code, ms } = await exited(server, 60_000);
      expect(server.output()).toBe(`makima: port ${port} on 127.0.0.1 is in use; set PORT or --port\n`);
      expect(code).toBe(1);
      expect(ms).toBeLessThan(30_000);
    } finally {
      await holder.end().catch(() => undefined);
      await db.drop();
    }
  });

  it('names a database that does not exist in one line and exits 1', async () => {
    const url = new URL(TEST_DATABASE_URL!);
    url.pathname = '/makima_no_such_database';
    const result = await runMakima(['serve'], { DATABASE_URL: url.toString(), MAKIMA_DATA_DIR: path.join(freshDir(), 'data'), PORT: '0' });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `makima: cannot use the database ${url.toString()} (DATABASE_URL): database "makima_no_such_database" does not exist; ` +
        'create it (CREATE DATABASE makima_no_such_database) or correct DATABASE_URL\n',
    );
  });
});

describe('makima migrate and user create with a PostgreSQL they cannot use', () => {
  /** A TCP server that accepts and never answers: a PostgreSQL host that hangs. */
  async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      port: (server.address() as net.AddressInfo).port,
      close: () =>
        new Promise<void>((resolve) => {
          for (const s of sockets) s.destroy();
          server.close(() => resolve());
        }),
    };
  }

  it('say so in one line, within the connect timeout, for a refusing and for a silent host', async () => {
    const silent = await silentServer();
    try {
      const refusing = await freePort();
      for (const port of [refusing, silent.port]) {
        const env = { DATABASE_URL: `postgres://postgres:secret@127.0.0.1:${port}/makima`, MAKIMA_DATA_DIR: path.join(freshDir(), 'data'), MAKIMA_PG_CONNECT_TIMEOUT_MS: '1000' };
        for (const args of [['migrate'], ['user', 'create', '--name', 'x']]) {
          const started = Date.now();
          const result = await runMakima(args, env);
          const what = `${args.join(' ')} on port ${port}`;
          expect(result.code, what).toBe(1);
          expect(result.stderr, what).toMatch(
            new RegExp(`^makima: cannot use the database postgres://postgres:\\*\\*\\*@127\\.0\\.0\\.1:${port}/makima \\(DATABASE_URL\\): [^\\n]+; check that PostgreSQL is running there and that DATABASE_URL is right\\n$`),
          );
          expect(Date.now() - started, what).toBeLessThan(15_000);
        }
      }
    } finally {
      await silent.close();
    }
  }, 120_000);
});
