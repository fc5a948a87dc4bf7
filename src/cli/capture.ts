// `makima capture`: the Claude Code hook (docs/claude-code.md). Claude Code runs it at every hook
// event with the event's JSON on stdin; it must return fast and never fail the agent, so it does only
// what must happen at that instant — the transcript's new whole lines as one spool file written with
// an fsync — then leaves the rest to detached processes and exits 0: the network to the drainer
// (capture-drain.ts), and at Stop the commit of the user's working tree to a snapshot process
// (capture-snapshot.ts), which every later event of the session waits for before it goes on. After
// an edit (with --checkpoint-every edit) the hook commits the tree itself: the agent's next tool call
// comes before any later event of capture's. Loaded without the CLI (bin/makima.js), so it imports
// only Node and client-config.ts: docs/design.md §17.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { configDir } from './client-config.js';
import { repoAt } from './working-tree.js';

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

/** Per-session state, written by the hook, and by the snapshot it waits for (one at a time). */
export interface SessionState {
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

/** Where pending snapshots of working trees wait, and their owners' locks (capture-snapshot.ts). */
export function snapshotsDir(dir: string): string {
  return path.join(dir, 'snapshots');
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
export function sessionFile(session: string): string {
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

/** A commit of the working tree owed for an event: what the snapshot process takes (capture-snapshot.ts). */
export interface SnapshotJob {
  /** Unique per job, so that the locks of an old job never stand for a new one. */
  job: string;
  session: string;
  event: string;
  message: string;
  cwd: string;
  transcriptPath: string;
  /** When the event happened (ms): the commit's date, so that taking the snapshot again makes the same commit. */
  at: number;
}

export interface CaptureOptions {
  /** `edit`: also checkpoint after each file-editing tool call; `stop` (default): at each turn's end. */
  checkpointEvery: 'stop' | 'edit';
  dir: string;
  /** How to start the drainer (the hook does not wait for it). */
  startDrainer: (dir: string) => void;
  /** Starts the snapshot process of the owed `job` (the hook does not wait for it). */
  startSnapshot: (dir: string, job: SnapshotJob) => void;
  /** Takes the owed `job` in the hook itself. */
  snapshotHere: (dir: string, job: SnapshotJob) => Promise<void>;
  /** Returns once no snapshot of `session` is owed: waits for a running one, takes a dead one's itself. */
  awaitSnapshot: (dir: string, session: string, by: string) => Promise<void>;
}

/** The file that says a snapshot of `session` is owed (a SnapshotJob), there until it is taken. */
export function snapshotMarker(dir: string, session: string): string {
  return path.join(snapshotsDir(dir), `${sessionFile(session)}.json`);
}

export function stateFile(dir: string, session: string): string {
  return path.join(dir, 'sessions', `${sessionFile(session)}.json`);
}

/** The session's state, and its text as read (to write it only when it changed). */
export function readState(dir: string, session: string): { state: SessionState; text: string } {
  try {
    const text = fs.readFileSync(stateFile(dir, session), 'utf8');
    return { state: { ...{ offset: 0 }, ...(JSON.parse(text) as Partial<SessionState>) }, text };
  } catch {
    return { state: { offset: 0 }, text: '' }; // a first event of this session
  }
}

/** Writes `entry` to the spool under a name that sorts in the order the events happened. */
export function spoolEntry(dir: string, entry: SpoolEntry, piece = 0): void {
  const name = `${Date.now().toString().padStart(15, '0')}-${process.hrtime.bigint().toString().padStart(20, '0')}-${piece}.json`;
  writeDurably(path.join(spoolDir(dir), name), JSON.stringify(entry));
}

/**
 * Handles one hook event: once no snapshot of the session is owed any more (the working tree the
 * last one commits is the one the agent left, since Claude Code waits for this hook before it goes
 * on), spools the event's new transcript lines; a checkpointing event then owes a snapshot, which
 * at Stop a detached process takes, and after an edit this hook; then the drainer is started.
 */
export async function captureEvent(input: HookInput, options: CaptureOptions): Promise<void> {
  if (typeof input?.session_id !== 'string' || typeof input.transcript_path !== 'string' || typeof input.cwd !== 'string') {
    throw new Error('the hook input has no session_id, transcript_path or cwd');
  }
  const { dir } = options;
  const event = input.hook_event_name;
  fs.mkdirSync(path.join(dir, 'sessions'), { recursive: true });
  fs.mkdirSync(spoolDir(dir), { recursive: true });
  await options.awaitSnapshot(dir, input.session_id, event);
  const { state: last, text: previous } = readState(dir, input.session_id);
  let state = last;
  const read = newLines(input.transcript_path, state.offset);
  const checkpointNow = event === 'Stop' || (options.checkpointEvery === 'edit' && event === 'PostToolUse' && EDIT_TOOLS.has(input.tool_name ?? ''));
  // The repository's top level, from the last event when the cwd is the same: the snapshot process asks git again.
  const repo = state.cwd === input.cwd && state.repo ? state.repo : (await repoAt(input.cwd)).repo;
  state = { ...state, cwd: input.cwd, repo };
  if (read.lines) {
    const pieces = chunks(read.lines);
    pieces.forEach((lines, i) => spoolEntry(dir, { session: input.session_id, event, repo, transcriptPath: input.transcript_path, lines }, i));
  }
  let job: SnapshotJob | undefined;
  if (checkpointNow) {
    // Owed before the offset moves: a death between the two takes the snapshot and sends the lines again (imported once).
    const message = event === 'Stop' ? 'end of turn (makima capture)' : `after ${input.tool_name} (makima capture)`;
    const id = `${sessionFile(input.session_id)}.${Date.now().toString(36)}${crypto.randomBytes(4).toString('hex')}`;
    job = { job: id, session: input.session_id, event, message, cwd: input.cwd, transcriptPath: input.transcript_path, at: Date.now() };
    fs.mkdirSync(snapshotsDir(dir), { recursive: true });
    writeDurably(snapshotMarker(dir, input.session_id), JSON.stringify(job));
  }
  // The offset moves only once the lines are in the spool: a death between the two sends them twice, which the import takes once.
  const next = JSON.stringify({ ...state, offset: read.offset });
  if (next !== previous) writeDurably(stateFile(dir, input.session_id), next);
  // At Stop the agent's next step is the next prompt, whose hook waits for the snapshot; after an
  // edit it is the next tool call, which no hook of capture's comes before: that snapshot is taken here.
  if (job && event === 'Stop') return options.startSnapshot(dir, job); // it drains once its checkpoint is spooled
  if (job) await options.snapshotHere(dir, job);
  if (read.lines || job || fs.readdirSync(spoolDir(dir)).some((f) => f.endsWith('.json'))) options.startDrainer(dir);
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
