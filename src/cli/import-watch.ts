// `makima import --watch <dir>…` (docs/cli.md, "Following session folders"): follows Claude Code's
// project folders (~/.claude/projects/**/*.jsonl) and Codex's (~/.codex/sessions/**/rollout-*.jsonl)
// and imports the new lines of each session as it grows, until Ctrl-C.
//
// Only whole lines are sent: a line still being written (no newline yet) waits for the rest. Each
// file keeps the byte offset of its last whole line. A Claude Code file sends only its new lines
// (importTranscript keys each record by its uuid and finds parents imported earlier), preceded by
// as many empty lines as came before, so skipped lines keep their numbers. A Codex rollout is sent
// whole (up to its last newline) each time it grows: its records have no ids and are keyed by line
// number, and reading one needs what came before (the session_meta's id, turn_context's model, the
// call an output answers, the message a line replies to); importing it again adds only what is new.
// A Claude Code chunk with a message record lacking a `parentUuid` key is sent whole too: such
// records chain in file order, which only the whole file gives.
//
// fs.watch (recursive: supported on Linux since Node 20) wakes the scan early; a scan every
// POLL_MS also runs, so events lost by the platform (a full inotify queue, a network mount) only
// delay an import. Scans never overlap; a request that fails leaves the offset where it was, so the
// next scan sends the lines again.
//
// The offsets outlive the process: each import that moves one writes them all to a state file
// (watchStateFile: one per server, token, contract and --source, so that another target starts from
// the beginning), whole or not at all. Started again, a watcher sends only what is new; a file
// replaced since (another inode, or shorter) is read from its start, and an unreadable state file
// is no state — importing again is idempotent, only slower.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { configDir } from './client-config.js';
import { writeDurably } from './capture.js';
import { ApiError } from './client.js';
import { color, println } from './output.js';

export type WatchSource = 'CLAUDE_CODE_JSONL' | 'CODEX_JSONL' | 'MAKIMA_JSONL';

/** How often the folders are scanned even without an event, in milliseconds. */
const POLL_MS = 1000;
const CONVERSATION = new Set(['user', 'assistant', 'system']);

export interface Imported {
  task: { id: string; name: string; messageCount: number };
  messageCount: number;
  skipped: { line: number; reason: string }[];
}

interface FileState {
  /** Bytes read so far: up to and including the last newline seen. */
  offset: number;
  /** Lines before `offset`. */
  lines: number;
  /** The file's inode when it was read: another one is another file under the same name. */
  ino?: number;
  /** The last failure said about this file: said once, not at every scan that meets it again. */
  lastError?: string;
}

/** Where a watcher keeps its offsets: `<config dir>/import-watch/<hash of server, token, contract and source>.json`. */
export function watchStateFile(target: { url: string; token: string; contract: string; source?: WatchSource }, env: NodeJS.ProcessEnv = process.env): string {
  const key = crypto.createHash('sha256').update(JSON.stringify([target.url, target.token, target.contract, target.source ?? null])).digest('hex').slice(0, 32);
  return path.join(configDir(env), 'import-watch', `${key}.json`);
}

function readState(file: string | undefined): Map<string, FileState> {
  if (!file) return new Map();
  try {
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { files?: Record<string, FileState> };
    const valid = Object.entries(saved.files ?? {}).filter(([, f]) => Number.isSafeInteger(f?.offset) && Number.isSafeInteger(f?.lines) && f.offset >= 0 && f.lines >= 0);
    return new Map(valid.map(([name, f]) => [name, { offset: f.offset, lines: f.lines, ino: f.ino }]));
  } catch {
    return new Map(); // none yet, or unreadable: every file from its start
  }
}

export interface WatchOptions {
  dirs: string[];
  /** The source for every file; by name when unset (rollout-*.jsonl: Codex, other *.jsonl: Claude Code). */
  source?: WatchSource;
  json: boolean;
  importTranscript(source: WatchSource, content: string): Promise<Imported>;
  /** Where the offsets are kept between runs (watchStateFile); none: in memory only. */
  stateFile?: string;
}

/** Every *.jsonl below `dir`, at any depth; a folder that vanished mid-walk holds none. */
function jsonlBelow(dir: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return jsonlBelow(full);
    return e.isFile() && e.name.endsWith('.jsonl') ? [full] : [];
  });
}

function sourceOf(file: string, given: WatchSource | undefined): WatchSource {
  return given ?? (/^rollout-.*\.jsonl$/.test(path.basename(file)) ? 'CODEX_JSONL' : 'CLAUDE_CODE_JSONL');
}

/** The bytes of `file` from `offset` to its end, or null when it cannot be read (gone, or not ours). */
function readFrom(file: string, offset: number): Buffer | null {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size < offset) return Buffer.alloc(0);
    const buffer = Buffer.alloc(size - offset);
    let read = 0;
    while (read < buffer.length) {
      const n = fs.readSync(fd, buffer, read, buffer.length - read, offset + read);
      if (n === 0) break;
      read += n;
    }
    return buffer.subarray(0, read);
  } finally {
    fs.closeSync(fd);
  }
}

/** What of a Claude Code chunk matters before sending it: whether it holds a message, and one without a parentUuid key. */
function claudeChunk(text: string): { messages: boolean; unchained: boolean } {
  let messages = false;
  let unchained = false;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      continue;
    }
    const r = record as Record<string, unknown> | null;
    if (r === null || typeof r !== 'object' || !CONVERSATION.has(r.type as string)) continue;
    messages = true;
    if (!('parentUuid' in r)) unchained = true;
  }
  return { messages, unchained };
}

export class SessionWatcher {
  private readonly files: Map<string, FileState>;
  private watchers: fs.FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private dirty = false;
  private scanning: Promise<void> | null = null;
  private stopped = false;
  /** Messages imported since the start, and from how many files. */
  readonly totals = { messages: 0, files: new Set<string>() };

  constructor(private readonly options: WatchOptions) {
    this.files = readState(options.stateFile);
  }

  /** Starts following; the first scan imports what the folders already hold. */
  start(): { watching: 'events' | 'polling' } {
    let watching: 'events' | 'polling' = 'events';
    for (const dir of this.options.dirs) {
      try {
        this.watchers.push(fs.watch(dir, { recursive: true }, () => this.wake()).on('error', () => undefined));
      } catch {
        // No recursive watch here (an old Node, an unsupported file system): the periodic scan does it all.
        watching = 'polling';
      }
    }
    this.timer = setInterval(() => this.wake(), POLL_MS);
    this.wake();
    return { watching };
  }

  /** Stops watching; resolves once the import in flight (if any) is done and its offsets are kept. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    for (const w of this.watchers) w.close();
    this.watchers = [];
    await this.scanning;
  }

  private wake(): void {
    if (this.stopped) return;
    this.dirty = true;
    this.scanning ??= this.drain().finally(() => (this.scanning = null));
  }

  private async drain(): Promise<void> {
    while (this.dirty && !this.stopped) {
      this.dirty = false;
      for (const dir of this.options.dirs) {
        for (const file of jsonlBelow(dir).sort()) {
          if (this.stopped) return;
          await this.follow(dir, file);
        }
      }
    }
  }

  /** Imports the whole lines `file` gained since it was last read. */
  private async follow(dir: string, file: string): Promise<void> {
    const state = this.files.get(file) ?? { offset: 0, lines: 0 };
    this.files.set(file, state);
    const ino = fs.statSync(file, { throwIfNoEntry: false })?.ino;
    if (ino !== undefined && state.ino !== undefined && ino !== state.ino) Object.assign(state, { offset: 0, lines: 0 });
    state.ino = ino;
    let fresh = readFrom(file, state.offset);
    if (fresh === null) return;
    if (fresh.length === 0 && fs.existsSync(file) && fs.statSync(file).size < state.offset) {
      // Truncated or replaced: read it again from the start (importing is idempotent).
      Object.assign(state, { offset: 0, lines: 0 });
      fresh = readFrom(file, 0) ?? Buffer.alloc(0);
    }
    const end = fresh.lastIndexOf(0x0a);
    if (end < 0) return;
    const chunk = fresh.subarray(0, end + 1).toString('utf8');
    const newLines = chunk.split('\n').length - 1;
    const source = sourceOf(file, this.options.source);
    let content: string;
    if (source === 'CLAUDE_CODE_JSONL') {
      const seen = claudeChunk(chunk);
      if (!seen.messages) return this.advance(state, end, newLines);
      content = seen.unchained ? (readFrom(file, 0) ?? Buffer.alloc(0)).subarray(0, state.offset + end + 1).toString('utf8') : '\n'.repeat(state.lines) + chunk;
    } else {
      content = (readFrom(file, 0) ?? Buffer.alloc(0)).subarray(0, state.offset + end + 1).toString('utf8');
    }
    try {
      const result = await this.options.importTranscript(source, content);
      // A whole file sent again reports its old skipped lines again: only the new ones are said.
      const first = state.lines;
      result.skipped = result.skipped.filter((s) => s.line > first || (s.line === 0 && first === 0));
      state.lastError = undefined;
      this.advance(state, end, newLines);
      this.report(path.relative(dir, file), result);
    } catch (err) {
      // Nothing in these lines is a message (a Codex rollout holding only its session_meta so far):
      // they are passed, and the file is imported once it holds one. Any other failure (the server
      // unreachable) leaves the offset, so the next scan sends the lines again.
      const notYet = err instanceof ApiError && err.codes.includes('BAD_USER_INPUT');
      if (notYet) this.advance(state, end, newLines);
      const message = (err as Error).message;
      if (state.lastError !== message) this.fail(path.relative(dir, file), message, notYet);
      state.lastError = message;
    }
  }

  private advance(state: FileState, end: number, newLines: number): void {
    state.offset += end + 1;
    state.lines += newLines;
    this.save();
  }

  /** Writes every file's offset to the state file, whole or not at all. */
  private save(): void {
    const file = this.options.stateFile;
    if (!file) return;
    const files = Object.fromEntries([...this.files].map(([name, f]) => [name, { offset: f.offset, lines: f.lines, ino: f.ino }]));
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      writeDurably(file, JSON.stringify({ files }));
    } catch (err) {
      if (this.options.json) return println(JSON.stringify({ stateFile: file, error: (err as Error).message }));
      println(`${color.red('offsets not saved')} to ${file}: ${(err as Error).message} (a restart reads the files again)`);
    }
  }

  private report(file: string, r: Imported): void {
    if (r.messageCount > 0) {
      this.totals.messages += r.messageCount;
      this.totals.files.add(file);
    }
    if (this.options.json) return println(JSON.stringify({ file, task: r.task, added: r.messageCount, skipped: r.skipped }));
    if (r.messageCount === 0 && r.skipped.length === 0) return;
    println(`${file} → ${color.bold(r.task.name)} ${color.dim(r.task.id)}: ${r.messageCount} messages added, ${r.task.messageCount} on the conversation`);
    for (const s of r.skipped) println(color.dim(`  skipped line ${s.line}: ${s.reason}`));
  }

  private fail(file: string, message: string, notYet: boolean): void {
    if (this.options.json) return println(JSON.stringify({ file, error: message, retrying: !notYet }));
    println(notYet ? color.dim(`${file}: nothing to import yet (${message})`) : `${color.red('failed')} ${file}: ${message} (trying again)`);
  }
}
