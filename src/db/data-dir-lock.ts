// The embedded database's data directory lock (docs/design.md §2: PGlite is one process).
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The embedded database's data directory is held by another live process (or cannot be taken). */
export class DataDirLockedError extends Error {}

// The data directory lock. PGlite is one process: a second process opening the same data directory
// would corrupt it. `makima.lock` names its owner (pid, hostname, the kernel's start time of the
// process, a random nonce). Nothing in it expires: a live owner keeps the directory however slow or
// stopped it is, and a dead owner's lock is taken over at once, because a starter checks whether
// the owner still runs instead of how old the lock is.
//
// - Taking: the lock is written to a temporary file and hard-linked to `makima.lock` (link(2) fails
//   when the name exists), so it appears whole and only one process can create it.
// - Taking over a dead owner's lock: only the holder of the newest claim on that lock may remove it.
//   A claim is `makima.lock.takeover-<nonce>-<k>`, created the same exclusive way, and claim k+1 is
//   made only after seeing that the maker of claim k is dead. Claims are never removed while the lock
//   they name is in place, so of two (or more) starters racing for one dead lock exactly one removes
//   it (after checking it is still that lock) and the link decides who takes the directory.
// - Losing: the owner rereads the file every LOCK_CHECK_MS; if it was removed or replaced it tells
//   its listeners (`Database.onLockLost`) instead of going on as if it still owned the directory.

const LOCK_FILE = 'makima.lock';
const LOCK_CHECK_MS = 1000;
/** makima's earlier lock (proper-lockfile) was a directory of that name, touched every 2 s by its owner. */
const LEGACY_STALE_MS = 10_000;
const TRY_AGAIN_SUFFIX = 'Stop that process, use another MAKIMA_DATA_DIR, or set DATABASE_URL to share a PostgreSQL database.';

interface LockOwner {
  pid: number;
  hostname: string;
  /** /proc/<pid>/stat field 22 (clock ticks after boot), so that a recycled pid is not the owner; null off Linux. */
  start: string | null;
  /** When the lock was taken, for people. */
  since: string;
  nonce: string;
}

export interface DataDirLock {
  onLost(listener: (message: string) => void): void;
  stopChecking(): void;
  /** Whether another live process holds the lock now (so ours was lost). */
  heldByAnother(): boolean;
  /** Removes the lock file if it is still ours. */
  release(): void;
}

type Holder =
  | { kind: 'none' }
  | { kind: 'owner'; owner: LockOwner }
  | { kind: 'legacy'; ageMs: number }
  | { kind: 'unreadable' };

export function lockDataDir(dataDir: string): DataDirLock {
  const file = path.join(dataDir, LOCK_FILE);
  const me: LockOwner = {
    pid: process.pid,
    hostname: os.hostname(),
    start: startTimeOf(process.pid) ?? null,
    since: new Date().toISOString(),
    nonce: crypto.randomBytes(8).toString('hex'),
  };
  const content = `${JSON.stringify(me)}\n`;
  for (let attempt = 1; !createExclusive(dataDir, file, content); attempt++) {
    // Each turn of this loop follows a change made by another process; a few are plenty.
    if (attempt > 50) throw new DataDirLockedError(`could not lock the embedded database in ${dataDir}: ${file} keeps changing. ${TRY_AGAIN_SUFFIX}`);
    const held = readHolder(file);
    if (held.kind === 'none') continue; // released meanwhile
    if (held.kind === 'unreadable') {
      throw new DataDirLockedError(`the embedded database in ${dataDir} is locked by ${file}, which is not a makima lock file; if no makima process uses this directory, delete that file.`);
    }
    if (held.kind === 'legacy') {
      if (held.ageMs < LEGACY_STALE_MS) throw new DataDirLockedError(`the embedded database in ${dataDir} is in use by another makima process (an earlier makima version). ${TRY_AGAIN_SUFFIX}`);
      removeLegacyLock(file);
      continue;
    }
    if (isAlive(held.owner)) throw new DataDirLockedError(inUseMessage(dataDir, file, held.owner));
    takeOver(dataDir, file, held.owner, content);
  }
  safely(() => sweep(dataDir), undefined); // tidying only

  const listeners: ((message: string) => void)[] = [];
  let lostMessage: string | undefined;
  const check = () => {
    let now: string | undefined;
    try {
      now = fs.readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'EISDIR') return; // cannot tell now (EMFILE, EIO…): look again next time
    }
    if (now === content) return;
    clearInterval(timer);
    const held = safely(() => readHolder(file), { kind: 'unreadable' });
    const by = held.kind === 'owner' ? ` (it now names process ${held.owner.pid}${held.owner.hostname === me.hostname ? '' : ` on host ${held.owner.hostname}`})` : '';
    lostMessage = `the embedded database in ${dataDir} is no longer this process's: its lock file ${file} was ${held.kind === 'none' ? 'removed' : 'replaced'}${by}`;
    for (const listener of listeners.splice(0)) listener(lostMessage);
  };
  const timer = setInterval(check, LOCK_CHECK_MS);
  timer.unref();

  return {
    onLost(listener) {
      if (lostMessage !== undefined) listener(lostMessage);
      else listeners.push(listener);
    },
    stopChecking: () => clearInterval(timer),
    heldByAnother() {
      const held = safely(() => readHolder(file), { kind: 'unreadable' });
      return held.kind === 'legacy' || (held.kind === 'owner' && held.owner.nonce !== me.nonce && isAlive(held.owner));
    },
    release() {
      clearInterval(timer);
      try {
        if (fs.readFileSync(file, 'utf8') === content) fs.unlinkSync(file);
      } catch {
        // gone already, or not ours to remove
      }
    },
  };
}

function safely<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    return fallback;
  }
}

function inUseMessage(dataDir: string, file: string, owner: LockOwner): string {
  const who = `another makima process (pid ${owner.pid}`;
  if (owner.hostname !== os.hostname()) {
    return (
      `the embedded database in ${dataDir} is in use by ${who} on host ${owner.hostname}, since ${owner.since}); ` +
      `a process on another host cannot be checked from here, so it counts as running. Stop it there, or if it is gone, delete ${file}.`
    );
  }
  return `the embedded database in ${dataDir} is in use by ${who}, since ${owner.since}). ${TRY_AGAIN_SUFFIX}`;
}

/**
 * Creates `file` holding `content` unless it exists, all at once: readers never see it half written.
 * Returns false when it exists.
 */
function createExclusive(dir: string, file: string, content: string): boolean {
  const tmp = path.join(dir, `${LOCK_FILE}.tmp-${crypto.randomBytes(8).toString('hex')}`);
  const fd = fs.openSync(tmp, 'wx');
  try {
    fs.writeSync(fd, content);
    fs.fsyncSync(fd); // a lock that survives a power cut must not come back empty
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
    // A file system without hard links: create the name exclusively and write into it.
    try {
      fs.writeFileSync(file, content, { flag: 'wx' });
      return true;
    } catch (err2) {
      if ((err2 as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err2;
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

function readHolder(file: string): Holder {
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'none' };
    if (code !== 'EISDIR') throw err;
    try {
      return { kind: 'legacy', ageMs: Date.now() - fs.statSync(file).mtimeMs };
    } catch {
      return { kind: 'none' };
    }
  }
  const owner = parseOwner(raw);
  return owner ? { kind: 'owner', owner } : { kind: 'unreadable' };
}

function parseOwner(raw: string): LockOwner | undefined {
  try {
    const o = JSON.parse(raw) as Partial<LockOwner>;
    if (!Number.isSafeInteger(o.pid) || (o.pid as number) <= 0) return undefined;
    if (typeof o.hostname !== 'string' || typeof o.nonce !== 'string' || !/^[0-9a-f]+$/.test(o.nonce)) return undefined;
    if (o.start !== null && typeof o.start !== 'string') return undefined;
    return { pid: o.pid as number, hostname: o.hostname, start: o.start, since: String(o.since ?? 'an unknown time'), nonce: o.nonce };
  } catch {
    return undefined;
  }
}

/**
 * Removes a dead owner's lock, if this process wins the claim on it; otherwise leaves it (the caller
 * then looks at the lock again). Throws DataDirLockedError while another live process is taking it over.
 */
function takeOver(dataDir: string, file: string, dead: LockOwner, content: string): void {
  const prefix = `${LOCK_FILE}.takeover-${dead.nonce}-`;
  const newest = Math.max(
    0,
    ...fs
      .readdirSync(dataDir)
      .filter((name) => name.startsWith(prefix))
      .map((name) => Number(name.slice(prefix.length)))
      .filter((k) => Number.isSafeInteger(k) && k > 0),
  );
  if (newest > 0) {
    const claimant = readHolder(path.join(dataDir, prefix + newest));
    // A claim that cannot be read is being written (only without hard links): count it as alive.
    if (claimant.kind === 'unreadable' || (claimant.kind === 'owner' && isAlive(claimant.owner))) {
      const pid = claimant.kind === 'owner' ? ` (pid ${claimant.owner.pid})` : '';
      throw new DataDirLockedError(`the embedded database in ${dataDir} is being opened by another makima process${pid}. ${TRY_AGAIN_SUFFIX}`);
    }
  }
  const claim = path.join(dataDir, prefix + (newest + 1));
  if (!createExclusive(dataDir, claim, content)) return; // another starter claimed it first
  try {
    // The newest claim is ours and its maker before us is dead: no one else removes this lock now.
    const held = readHolder(file);
    if (held.kind === 'owner' && held.owner.nonce === dead.nonce) fs.unlinkSync(file);
  } finally {
    fs.rmSync(claim, { force: true });
  }
}

function removeLegacyLock(file: string): void {
  try {
    fs.rmdirSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
  }
}

/** Removes what dead processes left behind: temporary files and takeover claims (all of them are ours to judge now). */
function sweep(dataDir: string): void {
  for (const name of fs.readdirSync(dataDir)) {
    if (!name.startsWith(`${LOCK_FILE}.tmp-`) && !name.startsWith(`${LOCK_FILE}.takeover-`)) continue;
    const held = readHolder(path.join(dataDir, name));
    if (held.kind === 'owner' && !isAlive(held.owner)) fs.rmSync(path.join(dataDir, name), { force: true });
  }
}

/**
 * The start time of process `pid` (field 22 of /proc/<pid>/stat) on Linux; undefined when there is
 * no such process (or only its zombie); null when it cannot be known here.
 */
function startTimeOf(pid: number): string | null | undefined {
  if (process.platform !== 'linux') return null;
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null; // no /proc, or one that hides other users' processes: ask the kernel instead
  }
  // "pid (comm) state …": comm may hold spaces and parentheses, so count from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
  return fields[19] ?? null;
}

/** Whether the owner of a lock still runs. A process on another host cannot be checked: it counts as running. */
function isAlive(owner: LockOwner): boolean {
  if (owner.hostname !== os.hostname()) return true;
  const start = startTimeOf(owner.pid);
  if (start === undefined) return false;
  if (start !== null && owner.start !== null) return start === owner.start;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
