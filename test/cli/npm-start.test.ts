// `npm start` under a supervisor: a signal sent to the pid of `npm start` must stop the server. npm runs
// the script with `sh -c`; the script `exec`s node so that no shell stands between npm and the server
// (Debian's dash does not exec a last command by itself: signalled, it died and left the server
// running), and npm forwards SIGTERM and SIGINT to its child. Ctrl-C in a terminal signals the whole
// process group, so the server then gets SIGINT twice (from the terminal, and forwarded by npm) and
// must still stop cleanly, once.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../harness.js';
import { cleanEnv, spawnMakima } from './run.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const dirs: string[] = [];
const groups: number[] = [];
afterAll(() => {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

interface NpmStart {
  npm: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The server's URL, from the --json line, once it serves. */
  url: Promise<string>;
}

/** `npm start -- --json` in its own process group (as a terminal or a supervisor would run it). */
function npmStart(): NpmStart {
  const dir = tempDir();
  dirs.push(dir);
  const env = { ...cleanEnv(), MAKIMA_DATA_DIR: path.join(dir, 'data'), PORT: '0', npm_config_update_notifier: 'false', npm_config_fund: 'false' };
  const npm = spawn('npm', ['start', '--', '--json'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  groups.push(npm.pid!);
  let out = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => npm.once('exit', (code, signal) => resolve({ code, signal })));
  const url = new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const line = out.match(/^\{.*"url":.*\}$/m);
      if (line) resolve(JSON.parse(line[0]).url as string);
    };
    npm.stdout!.on('data', onData);
    npm.stderr!.on('data', onData);
    void exited.then(() => reject(new Error(`npm start exited before serving; output:\n${out}`)));
    setTimeout(() => reject(new Error(`npm start did not serve within 90 s; output:\n${out}`)), 90_000).unref();
  });
  return { npm, output: () => out, exited, url };
}

/** The processes whose parent is `pid`, with their command lines. */
function children(pid: number): { pid: number; cmdline: string[] }[] {
  const found: { pid: number; cmdline: string[] }[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) found.push({ pid: Number(entry), cmdline: fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean) });
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(false)));
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Starts `npm start`, waits until it serves, and returns it with the server's pid and port. */
async function serving() {
  const started = npmStart();
  const url = await started.url;
  const port = Number(new URL(url).port);
  // npm's child is the server itself: the script's `exec` replaced the shell.
  const kids = children(started.npm.pid!);
  expect(kids).toHaveLength(1);
  expect(kids[0].cmdline.slice(1)).toEqual(['bin/makima.js', 'serve', '--json']);
  expect(await refused(port)).toBe(false);
  return { ...started, server: kids[0].pid, port };
}

describe.runIf(process.platform === 'linux')('npm start and signals', () => {
  it('stops the server when the pid of `npm start` gets SIGTERM (a supervisor stopping it)', async () => {
    const s = await serving();
    process.kill(s.npm.pid!, 'SIGTERM');
    const { code, signal } = await within(s.exited, 20_000, 'npm start stopping after SIGTERM');
    // npm exits once its child has exited, with the child's status: the server stopped cleanly.
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(alive(s.server)).toBe(false);
    expect(await refused(s.port)).toBe(true);
    expect(s.output().match(/"msg":"makima stopped"/g)).toHaveLength(1);
  });

  it('stops the server cleanly, once, on Ctrl-C (SIGINT to the whole process group: the server gets it twice)', async () => {
    const s = await serving();
    process.kill(-s.npm.pid!, 'SIGINT');
    const { code, signal } = await within(s.exited, 20_000, 'npm start stopping after Ctrl-C');
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(alive(s.server)).toBe(false);
    expect(await refused(s.port)).toBe(true);
    expect(s.output().match(/"msg":"makima stopped"/g)).toHaveLength(1);
    expect(s.output()).not.toMatch(/unexpected error|\n\s+at /);
  });
});

describe('makima serve and a repeated signal', () => {
  it('ignores SIGINT and SIGTERM that arrive while it stops, and still stops cleanly with status 0', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const server = spawnMakima(['serve'], { MAKIMA_DATA_DIR: path.join(dir, 'data'), PORT: '0' });
    groups.push(server.child.pid!);
    const [, url] = await server.waitFor(/serving GraphiQL and the API on (http:\/\/\S+)/, 90_000);
    // A request whose body is still coming: stopping waits for it, so the server is certainly
    // still stopping when the next signals arrive.
    const slow = net.connect(Number(new URL(url).port), '127.0.0.1');
    await new Promise((resolve) => slow.once('connect', resolve));
    const body = ['{"query":', '"{ __typename }"}'];
    slow.write(`POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.join('').length}\r\n\r\n${body[0]}`);
    await new Promise((resolve) => setTimeout(resolve, 200)); // let the server read the headers
    server.child.kill('SIGINT');
    await server.waitFor(/stopping: finishing requests/);
    server.child.kill('SIGINT');
    server.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 500)); // time for a default action to kill it
    expect(server.child.exitCode).toBe(null);
    expect(server.child.signalCode).toBe(null);
    slow.end(body[1]);
    const code = await within(new Promise((resolve) => server.child.once('exit', resolve)), 20_000, 'stopping');
    expect(code).toBe(0);
    expect(server.output().match(/stopping: finishing requests/g)).toHaveLength(1);
    expect(server.output().match(/"msg":"makima stopped"/g)).toHaveLength(1);
  });
});
