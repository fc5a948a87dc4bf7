// The embedded database's data directory belongs to one live process (docs/operations.md, "Configuration"): a
// live owner keeps it however slow or stopped, a dead owner's lock is taken over at once, and an
// owner whose lock file is removed or replaced stops cleanly. Real processes and real signals.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { postGraphql, tempDir } from '../harness.js';
import { cleanEnv, runMakima, spawnMakima, type Spawned } from '../cli/run.js';

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGCONT');
      c.kill('SIGKILL');
    }
  }
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function freshDataDir(): string {
  const d = tempDir();
  dirs.push(d);
  return path.join(d, 'data');
}

const lockFile = (dataDir: string) => path.join(dataDir, 'makima.lock');
const readLock = (dataDir: string) => JSON.parse(fs.readFileSync(lockFile(dataDir), 'utf8')) as { pid: number; hostname: string; nonce: string };

function spawned(args: string[], env: Record<string, string>): Spawned {
  const s = spawnMakima(args, env);
  children.push(s.child);
  return s;
}

/**
 * `makima serve --json` on `dataDir`, once it serves. An embedded server's start (PGlite's wasm,
 * the migrations, a recovery after kill -9) has taken over a minute on a 2-core machine under a
 * test suite and a benchmark: the wait is a guard against a hang, not a measure.
 */
async function serve(dataDir: string): Promise<{ server: Spawned; url: string; token: string }> {
  const server = spawned(['serve', '--json'], { MAKIMA_DATA_DIR: dataDir, PORT: '0' });
  const [line] = await server.waitFor(/^\{"url".*\}$/m, 150_000);
  const info = JSON.parse(line) as { url: string; localToken: string };
  return { server, url: info.url, token: info.localToken };
}

/** The exit code of a process that is ending (or has ended) on its own. */
function exitCode(s: Spawned): Promise<number | null> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return Promise.resolve(s.child.exitCode);
  return new Promise((resolve) => s.child.once('exit', (code) => resolve(code)));
}

async function health(url: string): Promise<unknown> {
  const res = await fetch(url.replace(/\/graphql$/, '/health'));
  return { status: res.status, body: await res.json() };
}

async function viewerName(url: string, token: string): Promise<string | undefined> {
  const result = await postGraphql<{ viewer: { name: string } }>(url, `{ viewer { name } }`, undefined, token);
  return result.data?.viewer.name;
}

/** The pid of a process that has run and exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

function writeLock(dataDir: string, owner: { pid: number; start: string | null }): void {
  fs.mkdirSync(dataDir, { recursive: true });
  const lock = { ...owner, hostname: os.hostname(), since: '2020-01-01T00:00:00.000Z', nonce: 'deadbeef' };
  fs.writeFileSync(lockFile(dataDir), `${JSON.stringify(lock)}\n`);
}

const IN_USE = (pid: number) => new RegExp(`in use by another makima process \\(pid ${pid}, since [^)]+\\)\\. Stop that process`);

/** Runs `makima user create` and expects it to be refused with one line naming `pid`. */
async function expectRefused(dataDir: string, pid: number): Promise<void> {
  const second = await runMakima(['user', 'create', '--name', 'second'], { MAKIMA_DATA_DIR: dataDir });
  expect(second.code).toBe(1);
  expect(second.stderr).toMatch(IN_USE(pid));
  expect(second.stderr.trim().split('\n')).toHaveLength(1);
}

describe('the data directory lock', () => {
  it('is taken over at once after kill -9, and the restarted server has the same data', { timeout: 360_000 }, async () => {
    const dataDir = freshDataDir();
    const first = await serve(dataDir);
    expect(readLock(dataDir).pid).toBe(first.server.child.pid);
    first.server.child.kill('SIGKILL');
    expect(await exitCode(first.server)).toBe(null);
    expect(fs.existsSync(lockFile(dataDir))).toBe(true); // left behind by the dead owner

    const again = await serve(dataDir);
    expect(await health(again.url)).toEqual({ status: 200, body: { status: 'ok', database: 'pglite' } });
    expect(again.token).toBe(first.token); // the same local user: not a new database
    expect(await viewerName(again.url, first.token)).toBe('local');
    expect(readLock(dataDir).pid).toBe(again.server.child.pid);
    expect(await again.server.stop('SIGINT')).toBe(0);
    expect(fs.existsSync(lockFile(dataDir))).toBe(false);
    expect(fs.readdirSync(dataDir).filter((n) => n.startsWith('makima.lock'))).toEqual([]);
  });

  it('stays with a stopped (SIGSTOP) owner: a second server is refused, and the owner serves on after SIGCONT', { timeout: 180_000 }, async () => {
    const dataDir = freshDataDir();
    const first = await serve(dataDir);
    const pid = first.server.child.pid!;
    first.server.child.kill('SIGSTOP');
    try {
      const second = spawned(['serve', '--json'], { MAKIMA_DATA_DIR: dataDir, PORT: '0' });
      expect(await exitCode(second)).toBe(1);
      expect(second.output()).toMatch(IN_USE(pid));
      expect(second.output()).not.toMatch(/\n\s+at /);
    } finally {
      first.server.child.kill('SIGCONT');
    }
    expect(await health(first.url)).toEqual({ status: 200, body: { status: 'ok', database: 'pglite' } });
    expect(await viewerName(first.url, first.token)).toBe('local');
    expect(readLock(dataDir).pid).toBe(pid);
    expect(await first.server.stop('SIGINT')).toBe(0);
    expect(first.server.output()).not.toMatch(/ECOMPROMISED|unexpected error/);
  });

  it('stays with a busy owner whose event loop is blocked, however old its lock file looks', { timeout: 120_000 }, async () => {
    const dataDir = freshDataDir();
    const go = path.join(path.dirname(dataDir), 'go');
    // Opens the database, then blocks its event loop (no timer runs) until the file `go` appears.
    const script = `
      import fs from 'node:fs';
      const [databaseJs, dataDir, go] = process.argv.slice(1);
      const { openDatabase } = await import(databaseJs);
      const db = await openDatabase({ dataDir });
      let lost = false;
      db.onLockLost(() => (lost = true));
      console.log('holding');
      const nap = new Int32Array(new SharedArrayBuffer(4));
      while (!fs.existsSync(go)) Atomics.wait(nap, 0, 0, 20);
      await db.query('SELECT 1');
      await new Promise((resolve) => setTimeout(resolve, 0));
      await db.close();
      console.log(lost ? 'lost' : 'kept');
    `;
    const databaseJs = pathToFileURL(fileURLToPath(new URL('../../dist/db/database.js', import.meta.url))).href;
    const owner = spawn(process.execPath, ['--input-type=module', '-e', script, databaseJs, dataDir, go], { env: cleanEnv() });
    children.push(owner);
    let out = '';
    const waiters = new Set<() => void>();
    owner.stdout.on('data', (d) => ((out += d), waiters.forEach((w) => w())));
    owner.stderr.on('data', (d) => ((out += d), waiters.forEach((w) => w())));
    const ended = new Promise<number | null>((resolve) => owner.on('exit', (code) => resolve(code)));
    const seen = (pattern: RegExp) =>
      new Promise<void>((resolve, reject) => {
        const check = () => pattern.test(out) && (waiters.delete(check), resolve());
        waiters.add(check);
        void ended.then(() => (pattern.test(out) ? resolve() : reject(new Error(`owner exited before ${pattern}: ${out}`))));
        check();
      });
    await seen(/holding/);

    const before = fs.readFileSync(lockFile(dataDir), 'utf8');
    const anHourAgo = new Date(Date.now() - 3_600_000);
    fs.utimesSync(lockFile(dataDir), anHourAgo, anHourAgo); // a time-based lock would call this stale
    await expectRefused(dataDir, owner.pid!);
    expect(fs.readFileSync(lockFile(dataDir), 'utf8')).toBe(before);

    fs.writeFileSync(go, '');
    await seen(/^(kept|lost)$/m);
    expect(await ended).toBe(0);
    expect(out.trim()).toBe('holding\nkept');
    expect(fs.existsSync(lockFile(dataDir))).toBe(false);
  });

  it('takes over at once the lock of a dead pid, of a recycled pid, and of an earlier makima version', { timeout: 120_000 }, async () => {
    const dead = freshDataDir();
    writeLock(dead, { pid: await deadPid(), start: '1' });
    const created = await runMakima(['user', 'create', '--name', 'after-crash', '--json'], { MAKIMA_DATA_DIR: dead });
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(fs.existsSync(lockFile(dead))).toBe(false);

    if (process.platform === 'linux') {
      // A live pid (this test's) whose start time is not the one in the lock: the pid was recycled.
      const recycled = freshDataDir();
      writeLock(recycled, { pid: process.pid, start: '1' });
      const r = await runMakima(['user', 'create', '--name', 'recycled', '--json'], { MAKIMA_DATA_DIR: recycled });
      expect([r.code, r.stderr]).toEqual([0, '']);
    }

    // makima's earlier lock (proper-lockfile) was a directory refreshed every 2 s; an old one is stale.
    const legacy = freshDataDir();
    fs.mkdirSync(lockFile(legacy), { recursive: true });
    const aMinuteAgo = new Date(Date.now() - 60_000);
    fs.utimesSync(lockFile(legacy), aMinuteAgo, aMinuteAgo);
    const l = await runMakima(['user', 'create', '--name', 'legacy', '--json'], { MAKIMA_DATA_DIR: legacy });
    expect([l.code, l.stderr]).toEqual([0, '']);
  });

  it('refuses a live owner named in the lock, and an owner on another host', async () => {
    const dataDir = freshDataDir();
    writeLock(dataDir, { pid: process.pid, start: null }); // this test process: alive
    await expectRefused(dataDir, process.pid);

    fs.writeFileSync(lockFile(dataDir), JSON.stringify({ pid: await deadPid(), hostname: `not-${os.hostname()}`, start: '1', since: 'then', nonce: 'abc' }));
    const other = await runMakima(['user', 'create', '--name', 'x'], { MAKIMA_DATA_DIR: dataDir });
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/in use by another makima process \(pid \d+ on host not-.*delete .*makima\.lock\.\n$/);
    expect(other.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('lets exactly one of several servers racing for a dead lock take it', { timeout: 180_000 }, async () => {
    const dataDir = freshDataDir();
    writeLock(dataDir, { pid: await deadPid(), start: '1' });
    const starters = [0, 1, 2].map(() => spawned(['serve', '--json'], { MAKIMA_DATA_DIR: dataDir, PORT: '0' }));
    const outcomes = await Promise.all(
      starters.map((s) =>
        s.waitFor(/^\{"url".*\}$/m, 90_000).then(
          () => 'serving' as const,
          async () => ({ code: await exitCode(s), output: s.output() }),
        ),
      ),
    );
    const winners = starters.filter((_, i) => outcomes[i] === 'serving');
    expect(winners).toHaveLength(1);
    const winner = winners[0].child.pid!;
    for (const o of outcomes) {
      if (o === 'serving') continue;
      expect(o.code).toBe(1);
      expect(o.output).toMatch(new RegExp(`in use by another makima process \\(pid ${winner},|being opened by another makima process`));
    }
    expect(readLock(dataDir).pid).toBe(winner);
    const code = await winners[0].stop('SIGINT');
    expect(code, `${winners[0].child.signalCode} ${winners[0].output()}`).toBe(0);
  });

  it('stops a server cleanly (exit 1, one line) when its lock file is removed, and a restart has the same data', { timeout: 180_000 }, async () => {
    const dataDir = freshDataDir();
    const first = await serve(dataDir);
    fs.rmSync(lockFile(dataDir));
    expect(await exitCode(first.server)).toBe(1);
    // `serve --json` reports its failure as one JSON object on stderr (docs/cli.md, "Errors and exit codes").
    const errors = first.server
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{"error"'))
      .map((l) => (JSON.parse(l) as { error: { message: string; exitCode: number } }).error);
    expect(errors).toEqual([
      expect.objectContaining({
        exitCode: 1,
        message:
          `the embedded database in ${dataDir} is no longer this process's: its lock file ${lockFile(dataDir)} was removed; ` +
          'the server stopped so that two processes never write the same database.',
      }),
    ]);
    expect(first.server.output()).toContain('makima stopped');

    const again = await serve(dataDir);
    expect(again.token).toBe(first.token);
    expect(await viewerName(again.url, first.token)).toBe('local');
    expect(await again.server.stop('SIGTERM')).toBe(0);
  });

  it('stops a server whose lock file is replaced by another owner, leaving the files to that owner', { timeout: 180_000 }, async () => {
    const dataDir = freshDataDir();
    const first = await serve(dataDir);
    const replacement = `${JSON.stringify({ pid: process.pid, hostname: os.hostname(), start: null, since: 'now', nonce: 'feed' })}\n`;
    fs.writeFileSync(`${lockFile(dataDir)}.new`, replacement);
    fs.renameSync(`${lockFile(dataDir)}.new`, lockFile(dataDir));
    expect(await exitCode(first.server)).toBe(1);
    expect(first.server.output()).toMatch(new RegExp(`was replaced \\(it now names process ${process.pid}\\); the server stopped`));
    expect(fs.readFileSync(lockFile(dataDir), 'utf8')).toBe(replacement); // not removed by the stopping server

    // The stand-in owner goes away; the database opens again (PGlite recovers as after a crash).
    fs.rmSync(lockFile(dataDir));
    const again = await serve(dataDir);
    expect(await viewerName(again.url, first.token)).toBe('local');
    expect(await again.server.stop('SIGINT')).toBe(0);
  });
});
