// The snapshot of `makima capture` (docs/claude-code.md, docs/design.md §12): the commit of the
// user's working tree that a Stop (or an edit, with --checkpoint-every edit) owes, taken by a
// detached process so that the hook returns at once. The hook leaves a marker (capture.ts's
// snapshotMarker) and every later event of the session waits until it is gone before it does
// anything: Claude Code waits for a hook before it goes on, so the agent cannot change the working
// tree between the event and its snapshot. Whoever takes a snapshot holds its lock first — a file
// naming its pid (and when that process started, as a pid is reused), made with link(2) so that it appears whole or not at all, numbered so that a dead
// holder's lock is superseded by the next number rather than removed (no two takers ever hold one);
// a later event that finds the holder dead takes the snapshot itself and says so in the log.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { logProblem, readState, sessionFile, snapshotMarker, snapshotsDir, spoolEntry, stateFile, writeDurably, type SessionState, type SnapshotJob } from './capture.js';
import { commitTree, git, repoAt, temporaryIndex, withStagedWorkingTree, type RepoAt } from './working-tree.js';

/** How long an event waits for a live snapshot process before it goes on without (and logs it): below Claude Code's hook timeout. */
const WAIT_LIMIT_MS = 30_000;
/** A wait this long is worth a line in the log: the agent stood still for it. */
const SLOW_WAIT_MS = 2_000;
const POLL_MS = 10;

function readJob(marker: string): SnapshotJob | undefined {
  try {
    return JSON.parse(fs.readFileSync(marker, 'utf8')) as SnapshotJob;
  } catch {
    return undefined; // none owed (it is written whole, through a rename, so never torn)
  }
}

/** A process's state and when it started (clock ticks since boot), from /proc/<pid>/stat (fields 3 and 22); undefined without /proc or once it is gone. */
function procStat(pid: number): { state: string; start: string } | undefined {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
    return { state: fields[0], start: fields[19] };
  } catch {
    return undefined;
  }
}

/** A lock's holder: its pid, and when that process started (a pid is reused; the pair is not). */
interface Holder {
  pid: number;
  start?: string;
}

/** What a lock held by `pid` says. */
function lockText(pid: number): string {
  return `${pid} ${procStat(pid)?.start ?? ''}`.trimEnd();
}

/** Whether the holder runs: its pid runs, as the process that started then, and is not a zombie (killed, its parent gone and not reaped yet). */
function alive(holder: Holder): boolean {
  const { pid } = holder;
  if (!Number.isInteger(pid) || pid <= 0) return false; // kill(0) would ask about this process group
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  const stat = procStat(pid);
  if (!stat) return true; // no /proc: kill(0) is all there is
  // Another program that got the dead holder's pid is not the holder.
  return stat.state !== 'Z' && (holder.start === undefined || stat.start === holder.start);
}

/** The holder a lock names (undefined once it is gone). */
function holderOf(lock: string): Holder | undefined {
  let text: string;
  try {
    text = fs.readFileSync(lock, 'utf8');
  } catch {
    return undefined;
  }
  const [pid, start] = text.trim().split(' ');
  return { pid: Number(pid), start: start || undefined };
}

function sameProcess(holder: Holder, pid: number): boolean {
  return holder.pid === pid && (holder.start === undefined || holder.start === procStat(pid)?.start);
}

/** The job's locks, highest number last. */
function lockFiles(dir: string, job: string): { n: number; file: string }[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((f) => f.startsWith(`${job}.`) && f.endsWith('.lock'))
    .map((f) => ({ n: Number(f.slice(job.length + 1, -'.lock'.length)), file: path.join(dir, f) }))
    .filter((l) => Number.isInteger(l.n))
    .sort((a, b) => a.n - b.n);
}

/**
 * Claims `job` for `pid`: 'mine' when its lock names `pid` (made now, or before), else the live
 * holder's pid. A dead holder's lock is superseded by the next number, made with link(2), which
 * fails when another taker made it first (then the claim looks again).
 */
function claim(dir: string, job: SnapshotJob, pid: number): 'mine' | 'done' | number {
  const folder = snapshotsDir(dir);
  for (;;) {
    // Taken meanwhile (its marker goes before its locks): a lock made now would stand for nothing.
    if (readJob(snapshotMarker(dir, job.session))?.job !== job.job) return release(dir, job);
    const held = lockFiles(folder, job.job).at(-1);
    let n = 0;
    if (held) {
      const holder = holderOf(held.file);
      if (holder === undefined) continue; // let go meanwhile
      if (sameProcess(holder, pid)) return readJob(snapshotMarker(dir, job.session))?.job === job.job ? 'mine' : release(dir, job);
      if (alive(holder)) return holder.pid;
      n = held.n + 1;
    }
    const tmp = path.join(folder, `${job.job}.${pid}.${process.pid}.tmp`);
    fs.writeFileSync(tmp, lockText(pid));
    try {
      fs.linkSync(tmp, path.join(folder, `${job.job}.${n}.lock`));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }
}

/** Lets a taken job go: its marker (when it is still this job's), then its locks. */
function release(dir: string, job: SnapshotJob): 'done' {
  const marker = snapshotMarker(dir, job.session);
  if (readJob(marker)?.job === job.job) fs.rmSync(marker, { force: true });
  for (const lock of lockFiles(snapshotsDir(dir), job.job)) fs.rmSync(lock.file, { force: true });
  return 'done';
}

/**
 * Commits the working tree as it is (tracked and untracked, .gitignore respected) without touching
 * the user's index, HEAD, branch or stash (working-tree.ts): `commit-tree` on the previous capture
 * (and on HEAD when the user committed since), dated at the event, and `update-ref` of
 * refs/makima/capture/<session>. Returns null when nothing changed since the last capture. Taken
 * again after its taker died, it makes the same commit (same tree, parents, message and date).
 */
async function commitWorkingTree(at: RepoAt, job: SnapshotJob, state: SessionState): Promise<{ sha: string; tree: string } | null> {
  const { repo, head } = at;
  return withStagedWorkingTree(at, async ({ tree }) => {
    // Unchanged since the last capture (or, before the first, since HEAD): no checkpoint.
    if (state.commit ? tree === state.tree && head === state.head : tree === at.headTree) return null;
    const parents = state.commit ? [state.commit, ...(head && head !== state.head ? [head] : [])] : head ? [head] : [];
    const sha = await commitTree(repo, tree, parents, job.message, new Date(job.at));
    const ref = `refs/makima/capture/${sessionFile(job.session)}`;
    // A taker that died after this step moved the ref to this very commit already.
    await git(repo, ['update-ref', '-m', 'makima capture', ref, sha, ...(state.commit ? [state.commit] : [])]).catch(async (err: Error) => {
      if ((await git(repo, ['rev-parse', '-q', '--verify', ref]).catch(() => '')).trim() !== sha) throw err;
    });
    return { sha, tree };
  });
}

/**
 * Takes the snapshot `job` owes (its lock held): spools its checkpoint, records it in the session's
 * state, then lets the job go. `dead`: the taker before, killed, whose temporary index is left over.
 */
async function take(dir: string, job: SnapshotJob, dead?: number): Promise<void> {
  try {
    const at = await repoAt(job.cwd);
    if (dead) fs.rmSync(temporaryIndex(at.gitDir, dead), { force: true });
    const made = await commitWorkingTree(at, job, readState(dir, job.session).state);
    if (made) {
      const checkpoint = { sha: made.sha, message: job.message };
      spoolEntry(dir, { session: job.session, event: job.event, repo: at.repo, transcriptPath: job.transcriptPath, lines: '', checkpoint });
      // Read again: the hook wrote the offset after this job was owed.
      const { state } = readState(dir, job.session);
      writeDurably(stateFile(dir, job.session), JSON.stringify({ ...state, commit: made.sha, tree: made.tree, head: at.head ?? undefined }));
    }
  } catch (err) {
    logProblem(dir, `session ${job.session}: checkpoint of ${job.event} not taken: ${err instanceof Error ? err.message : String(err)}`);
  }
  release(dir, job);
}

/** Takes `job` in this process, now (a hook that cannot leave it to a snapshot process): unless another taker has it. */
export async function snapshotHere(dir: string, job: SnapshotJob): Promise<void> {
  if (claim(dir, job, process.pid) === 'mine') await take(dir, job);
}

/** The snapshot process (`makima capture --snapshot <job>`): takes the job unless another taker has it. */
export async function snapshotProcess(dir: string, session: string, id: string): Promise<void> {
  const job = readJob(path.join(snapshotsDir(dir), `${session}.json`));
  if (job?.job !== id || claim(dir, job, process.pid) !== 'mine') return;
  await take(dir, job);
}

/**
 * Returns once `session` owes no snapshot: while a live process takes it, waits (at most
 * WAIT_LIMIT_MS, logging a wait past SLOW_WAIT_MS); when there is none (it died, or was never
 * started), takes it here, and logs that it had to. `by` names the waiter in the log.
 */
export async function awaitSnapshot(dir: string, session: string, by: string): Promise<void> {
  const marker = snapshotMarker(dir, session);
  const started = Date.now();
  let told = false;
  for (let job = readJob(marker); job; job = readJob(marker)) {
    const before = lockFiles(snapshotsDir(dir), job.job).at(-1);
    const was = before && holderOf(before.file)?.pid;
    const holder = claim(dir, job, process.pid);
    if (holder === 'done') continue;
    if (holder === 'mine') {
      logProblem(dir, `session ${session}: the snapshot of ${job.event} taken late, by ${by}: ${was ? `its process (pid ${was}) died` : 'no process took it'}`);
      await take(dir, job, was || undefined);
      continue;
    }
    if (!told && Date.now() - started > SLOW_WAIT_MS) {
      logProblem(dir, `session ${session}: ${by} has waited ${SLOW_WAIT_MS / 1000} s for the snapshot of ${job.event} (pid ${holder})`);
      told = true;
    }
    if (Date.now() - started > WAIT_LIMIT_MS) {
      logProblem(dir, `session ${session}: ${by} went on after ${WAIT_LIMIT_MS / 1000} s without the snapshot of ${job.event} (pid ${holder} still taking it)`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Every owed snapshot taken (waited for, or taken here): what `--flush` does before it sends. */
export async function awaitAllSnapshots(dir: string, by: string): Promise<void> {
  let names: string[] = [];
  try {
    names = fs.readdirSync(snapshotsDir(dir)).filter((f) => f.endsWith('.json'));
  } catch {
    return;
  }
  for (const name of names) {
    const job = readJob(path.join(snapshotsDir(dir), name));
    if (job) await awaitSnapshot(dir, job.session, by);
  }
}

/** Starts `node <script> capture --snapshot <session> <job>` detached and makes its lock, naming its pid. */
export function spawnSnapshot(script: string): (dir: string, job: SnapshotJob) => void {
  return (dir, job) => {
    const child = spawn(process.execPath, [script, 'capture', '--snapshot', sessionFile(job.session), job.job], { detached: true, stdio: 'ignore', env: process.env });
    child.on('error', (err) => logProblem(dir, `could not start the snapshot of session ${job.session}: ${err.message}`));
    child.unref();
    // Made here too, so that an event after this hook finds a holder to wait for even if the child has not started yet.
    if (child.pid) claim(dir, job, child.pid);
  };
}
