// Runs the real `makima` command (bin/makima.js) as a child process, as a user would.
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/makima.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runMakima(args: string[], env: Record<string, string>, input?: string, cwd?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...cleanEnv(), ...env }, stdio: ['pipe', 'pipe', 'pipe'], cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

let stateDirs = 0;

/**
 * The environment without the developer's makima settings, so tests are independent of them. Each
 * command gets a worker state directory of its own (docs/design.md §15): a worker one test killed
 * is never cleaned up after by a worker another test starts. A test that wants two workers to share
 * one passes MAKIMA_WORKER_STATE_DIR or --state-dir.
 */
export function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith('MAKIMA_') || k === 'DATABASE_URL' || k === 'PORT' || k === 'HOST' || k === 'COLUMNS') continue;
    env[k] = v;
  }
  const stateDir = path.join(os.tmpdir(), `makima-test-worker-state-${process.pid}`, String(++stateDirs));
  return { ...env, NO_COLOR: '1', MAKIMA_WORKER_STATE_DIR: stateDir };
}

export interface Spawned {
  child: ChildProcess;
  output(): string;
  /** Resolves with the first match of `pattern` in stdout. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with what `check` first finds in the output (checked again at each new output). */
  waitUntil<T>(check: (output: string) => T | undefined, what: string, timeoutMs?: number): Promise<T>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function spawnMakima(args: string[], env: Record<string, string>): Spawned {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...cleanEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const waiters: (() => void)[] = [];
  const onData = (d: Buffer) => {
    out += d.toString();
    waiters.splice(0).forEach((w) => w());
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    waitFor(pattern, timeoutMs = 30_000) {
      return this.waitUntil((text) => text.match(pattern) ?? undefined, String(pattern), timeoutMs);
    },
    waitUntil(check, what, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; output:\n${out}`)), timeoutMs);
        const attempt = () => {
          const found = check(out);
          if (found !== undefined) {
            clearTimeout(timer);
            resolve(found);
          } else waiters.push(attempt);
        };
        exited.then(() => {
          if (check(out) === undefined) {
            clearTimeout(timer);
            reject(new Error(`process exited before ${what}; output:\n${out}`));
          }
        });
        attempt();
      });
    },
    async stop(signal = 'SIGINT') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}
