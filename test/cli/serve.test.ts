// `npm start` / `makima serve`, `makima user create` and `makima migrate` as a new user runs them.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postGraphql, tempDir, TEST_DATABASE_URL } from '../harness.js';
import { Viewer } from '../fixtures.js';
import { runMakima, spawnMakima, type Spawned } from './run.js';

const dirs: string[] = [];
const servers: Spawned[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function freshDataDir(): string {
  const d = tempDir();
  dirs.push(d);
  return path.join(d, 'data');
}

describe('makima serve (embedded database)', () => {
  it('creates a local user on first start, says how to use its token, and stops cleanly on Ctrl-C', async () => {
    const dataDir = freshDataDir();
    const env = { MAKIMA_DATA_DIR: dataDir, PORT: '0' };
    const first = spawnMakima(['serve'], env);
    servers.push(first);
    const [, url] = await first.waitFor(/serving GraphiQL and the API on (http:\/\/\S+)/);
    const [, token] = await first.waitFor(/MAKIMA_TOKEN=(mk_[\w-]+)/);
    // The banner arrives in pieces: wait for its GraphiQL line rather than read what came so far.
    await first.waitFor(new RegExp(`\\{"Authorization": "Bearer ${token}"\\}`));
    expect(fs.readFileSync(path.join(dataDir, 'local-token'), 'utf8').trim()).toBe(token);
    const viewer = await postGraphql(url, Viewer, undefined, token);
    expect(viewer.data?.viewer.name).toBe('local');

    // The running server holds the embedded database: `user create` goes through it (no downtime),
    // found by the URL it wrote in the data directory, with the local user's token.
    const second = await runMakima(['user', 'create', '--name', 'second', '--json'], env);
    expect([second.code, second.stderr]).toEqual([0, '']);
    const created = JSON.parse(second.stdout) as { name: string; token: string };
    expect(created.name).toBe('second');
    expect((await postGraphql(url, Viewer, undefined, created.token)).data?.viewer.name).toBe('second');

    expect(await first.stop('SIGINT')).toBe(0);
    expect(fs.existsSync(path.join(dataDir, 'server-url'))).toBe(false);

    const again = spawnMakima(['serve'], env);
    servers.push(again);
    const [, url2] = await again.waitFor(/serving GraphiQL and the API on (http:\/\/\S+)/);
    expect(again.output()).not.toContain('created the local user');
    const still = await postGraphql(url2, Viewer, undefined, token);
    expect(still.data?.viewer.name).toBe('local');
    expect(await again.stop('SIGTERM')).toBe(0);
  });
});

describe('makima serve --json', () => {
  it('prints one JSON line with the URLs, the database and the local token, which works', async () => {
    const server = spawnMakima(['serve', '--json'], { MAKIMA_DATA_DIR: freshDataDir(), PORT: '0' });
    servers.push(server);
    const [line] = await server.waitFor(/^\{.*\}$/m);
    const info = JSON.parse(line);
    expect(Object.keys(info).sort()).toEqual(['database', 'localToken', 'url', 'wsUrl']);
    expect(info).toMatchObject({ database: 'pglite', wsUrl: info.url.replace('http', 'ws') });
    const viewer = await postGraphql(info.url, Viewer, undefined, info.localToken);
    expect(viewer.data?.viewer.name).toBe('local');
    expect(await server.stop('SIGINT')).toBe(0);
    expect(server.output()).not.toContain('stopping:'); // nothing but JSON on stdout
  });
});

describe.runIf(TEST_DATABASE_URL)('makima serve (PostgreSQL)', () => {
  it('serves a DATABASE_URL database, migrating it at start, and user create works beside it', async () => {
    const db = await createTestDatabase();
    try {
      const env = { DATABASE_URL: db.url!, MAKIMA_DATA_DIR: freshDataDir(), PORT: '0' };
      const created = await runMakima(['user', 'create', '--name', 'pg', '--json'], env);
      expect(created.code).toBe(0);
      const server = spawnMakima(['serve'], env);
      servers.push(server);
      const [, url] = await server.waitFor(/serving GraphiQL and the API on (http:\/\/\S+)/);
      await server.waitFor(/database: PostgreSQL \(DATABASE_URL\)/); // the next line of output, maybe in the next chunk
      // With a shared database, a second process is fine: it goes through PostgreSQL, not a data dir.
      const second = await runMakima(['user', 'create', '--name', 'pg2', '--json'], env);
      expect(second.code).toBe(0);
      const viewer = await postGraphql(url, Viewer, undefined, JSON.parse(second.stdout).token);
      expect(viewer.data?.viewer.name).toBe('pg2');
      expect(await server.stop()).toBe(0);
    } finally {
      await db.drop();
    }
  });
});

describe('makima user create', () => {
  it('prints a single JSON object with the token once, and the token works', async () => {
    const dataDir = freshDataDir();
    const env = { MAKIMA_DATA_DIR: dataDir, PORT: '0' };
    const created = await runMakima(['user', 'create', '--name', 'Ada', '--json'], env);
    expect(created.code).toBe(0);
    const user = JSON.parse(created.stdout);
    expect(Object.keys(user).sort()).toEqual(['id', 'name', 'token']);
    expect(user.name).toBe('Ada');
    const server = spawnMakima(['serve'], env);
    servers.push(server);
    const [, url] = await server.waitFor(/serving GraphiQL and the API on (http:\/\/\S+)/);
    const viewer = await postGraphql(url, Viewer, undefined, user.token);
    expect(viewer.data?.viewer.name).toBe('Ada');
    expect(await server.stop()).toBe(0);
  });

  it('refuses an empty name with a one-line error', async () => {
    const result = await runMakima(['user', 'create', '--name', ' '], { MAKIMA_DATA_DIR: freshDataDir() });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('makima migrate', () => {
  it('applies the migrations once, then reports the database up to date', async () => {
    const env = { MAKIMA_DATA_DIR: freshDataDir() };
    const first = await runMakima(['migrate', '--json'], env);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout).applied.length).toBeGreaterThan(0);
    const second = await runMakima(['migrate'], env);
    expect(second.stdout.trim()).toBe('the database is up to date');
  });

  it('rejects invalid configuration with a clear message', async () => {
    const result = await runMakima(['migrate'], { MAKIMA_DATA_DIR: freshDataDir(), PORT: 'eighty' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/invalid configuration[\s\S]*PORT/);
  });
});
