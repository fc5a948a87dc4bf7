// `makima capture`: the Claude Code hook (docs/claude-code.md). Claude Code runs it at every hook
// event with the event's JSON on stdin; it must return fast and never fail the agent, so it does only
// what must happen at that instant — the transcript's new whole lines, and at Stop (or after an edit,
// with --checkpoint-every edit) a commit of the user's working tree through a temporary index — as
// one spool file written with an fsync, then leaves the network to a detached drainer
// (capture-drain.ts) and exits 0. Loaded without the CLI (bin/makima.js), so it imports only Node
// and client-config.ts: docs/design.md §17.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { configDir } from '../client-config.js';
import { commitTree, git, repoAt, withStagedWorkingTree, type RepoAt } from './working-tree.js';

/** What Claude Code sends on stdin (the fields capture reads). */
export interface HookInput {
  session_id: string;
  transcript_path: string;
  cwd: string;
  hook_event_name: string;
  tool_name?: string;
}

/** One spooled event: what the drainer sends, in the order of the spool's file names. */
export interface SpoolEntry {
  session: string;
  event: string;
  repo: string;
  transcriptPath: string;
  /** Whole new lines of the transcript (none: only a checkpoint). */
  lines: string;
  checkpoint?: { sha: string; message: string };
}

/** Per-session state, written by the hook only. */
interface SessionState {
  offset: number;
  /** The hook's cwd and its repository's top level, last time (a git call saved on events that make no checkpoint). */
  cwd?: string;
  repo?: string;
  /** The last capture commit and its tree, and the HEAD it was made on. */
  commit?: string;
  tree?: string;
  head?: string;
}

const EDIT_TOOLS = new Set(['Write', 'Edit', 'MultiEdit', 'NotebookEdit']);
/**
 * A spool entry holds at most this many characters of transcript, so that its request, JSON-escaped,
 * stays within the server's default body limit (MAKIMA_MAX_BODY_BYTES, 8 MiB).
 */
const MAX_CHUNK_CHARS = 2 * 1024 * 1024;

/** Where capture keeps its spool, per-session offsets, log and drainer lock: `<config dir>/capture`. */
export function captureDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(configDir(env), 'capture');
}

export function spoolDir(dir: string): string {
  return path.join(dir, 'spool');
}

/** Appends a line to the capture log: capture never prints (stdout is Claude Code's to read). */
export function logProblem(dir: string, what: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.appendFileSync(path.join(dir, 'capture.log'), `${new Date().toISOString()} ${what}\n`);
  } catch {
    // Nowhere left to say it; the hook still succeeds.
  }
}

/** A session id as a file name (Claude Code's are UUIDs; anything else is hashed). */
function sessionFile(session: string): string {
  return /^[A-Za-z0-9_-]{1,100}$/.test(session) ? session : crypto.createHash('sha256').update(session).digest('hex');
}

/** Writes `text` to `file` so that it is whole or absent: a temporary file, fsync, rename. */
export function writeDurably(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/** The transcript's whole lines after `offset` (a torn last line waits for the next event), and the offset after them. */
function newLines(file: string, offset: number): { lines: string; offset: number } {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return { lines: '', offset };
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size < offset) offset = 0; // the file was replaced: read it again (the import keeps what it has)
    if (size === offset) return { lines: '', offset };
    const buffer = Buffer.alloc(size - offset);
    const read = fs.readSync(fd, buffer, 0, buffer.length, offset);
    const end = buffer.subarray(0, read).lastIndexOf(0x0a);
    if (end < 0) return { lines: '', offset };
    return { lines: buffer.subarray(0, end + 1).toString('utf8'), offset: offset + end + 1 };
  } finally {
    fs.closeSync(fd);
  }
}

/** Whole lines cut into pieces of at most MAX_CHUNK_CHARS (a longer single line is its own piece). */
function chunks(lines: string): string[] {
  if (lines.length <= MAX_CHUNK_CHARS) return [lines];
  const out: string[] = [];
  let current = '';
  for (const line of lines.split(/(?<=\n)/)) {
    if (current && current.length + line.length > MAX_CHUNK_CHARS) {
      out.push(current);
      current = '';
    }
    current += line;
  }
  if (current) out.push(current);
  return out;
}

/**
 * Commits the working tree as it is (tracked and untracked, .gitignore respected) without touching
 * the user's index, HEAD, branch or stash (working-tree.ts): `commit-tree` on the previous capture
 * (and on HEAD when the user committed since), and `update-ref` of refs/makima/capture/<session>.
 * Returns null when nothing changed since the last capture.
 */
async function commitWorkingTree(at: RepoAt, session: string, state: SessionState, message: string): Promise<{ sha: string; tree: string } | null> {
  const { repo, head } = at;
  return withStagedWorkingTree(at, async ({ tree }) => {
    // Unchanged since the last capture (or, before the first, since HEAD): no checkpoint.
    if (state.commit ? tree === state.tree && head === state.head : tree === at.headTree) return null;
    const parents = state.commit ? [state.commit, ...(head && head !== state.head ? [head] : [])] : head ? [head] : [];
    const sha = await commitTree(repo, tree, parents, message);
    await git(repo, ['update-ref', '-m', 'makima capture', `refs/makima/capture/${sessionFile(session)}`, sha, ...(state.commit ? [state.commit] : [])]);
    return { sha, tree };
  });
}

export interface CaptureOptions {
  /** `edit`: also checkpoint after each file-editing tool call; `stop` (default): at each turn's end. */
  checkpointEvery: 'stop' | 'edit';
  dir: string;
  /** How to start the drainer (the hook does not wait for it). */
  startDrainer: (dir: string) => void;
}

/** Handles one hook event: spools its new transcript lines and checkpoint, then starts the drainer. */
export async function captureEvent(input: HookInput, options: CaptureOptions): Promise<void> {
  if (typeof input?.session_id !== 'string' || typeof input.transcript_path !== 'string' || typeof input.cwd !== 'string') {
    throw new Error('the hook input has no session_id, transcript_path or cwd');
  }
  const { dir } = options;
  const sessions = path.join(dir, 'sessions');
  const spool = spoolDir(dir);
  fs.mkdirSync(sessions, { recursive: true });
  fs.mkdirSync(spool, { recursive: true });
  const stateFile = path.join(sessions, `${sessionFile(input.session_id)}.json`);
  let state: SessionState = { offset: 0 };
  let previous = '';
  try {
    previous = fs.readFileSync(stateFile, 'utf8');
    state = { ...state, ...(JSON.parse(previous) as SessionState) };
  } catch {
    // A first event of this session.
  }
  const read = newLines(input.transcript_path, state.offset);
  const event = input.hook_event_name;
  const checkpointNow = event === 'Stop' || (options.checkpointEvery === 'edit' && event === 'PostToolUse' && EDIT_TOOLS.has(input.tool_name ?? ''));
  const at = checkpointNow || state.cwd !== input.cwd || !state.repo ? await repoAt(input.cwd) : { repo: state.repo, gitDir: '', head: null, headTree: null };
  state = { ...state, cwd: input.cwd, repo: at.repo };
  let checkpoint: SpoolEntry['checkpoint'];
  if (checkpointNow) {
    const message = event === 'Stop' ? 'end of turn (makima capture)' : `after ${input.tool_name} (makima capture)`;
    const made = await commitWorkingTree(at, input.session_id, state, message);
    if (made) {
      checkpoint = { sha: made.sha, message };
      state = { ...state, commit: made.sha, tree: made.tree, head: at.head ?? undefined };
    }
  }
  if (read.lines || checkpoint) {
    const pieces = read.lines ? chunks(read.lines) : [''];
    pieces.forEach((lines, i) => {
      const entry: SpoolEntry = { session: input.session_id, event, repo: at.repo, transcriptPath: input.transcript_path, lines, ...(i === pieces.length - 1 && checkpoint ? { checkpoint } : {}) };
      // Named so that the file names sort in the order the events happened.
      const name = `${Date.now().toString().padStart(15, '0')}-${process.hrtime.bigint().toString().padStart(20, '0')}-${i}.json`;
      writeDurably(path.join(spool, name), JSON.stringify(entry));
    });
  }
  // The offset moves only once the lines are in the spool: a death between the two sends them twice, which the import takes once.
  const next = JSON.stringify({ ...state, offset: read.offset });
  if (next !== previous) writeDurably(stateFile, next);
  if (read.lines || checkpoint || fs.readdirSync(spool).some((f) => f.endsWith('.json'))) options.startDrainer(dir);
}

/** Whether a live drainer holds the lock (then it picks up what was just spooled). */
export function drainerRunning(dir: string): boolean {
  try {
    const pid = Number(fs.readFileSync(path.join(dir, 'drain.lock'), 'utf8'));
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts `node <script> capture --drain` detached, unless a drainer runs already. */
export function spawnDrainer(script: string): (dir: string) => void {
  return (dir) => {
    if (drainerRunning(dir)) return;
    const child = spawn(process.execPath, [script, 'capture', '--drain'], { detached: true, stdio: 'ignore', env: process.env });
    child.on('error', (err) => logProblem(dir, `could not start the drainer: ${err.message}`));
    child.unref();
  };
}
