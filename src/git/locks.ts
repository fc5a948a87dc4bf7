// Git's own leftovers of a dead server (docs/design.md §9). git guards the index and each ref with
// a `<file>.lock` it creates and renames; a git process killed mid-way leaves the lock behind, and
// every later git command that needs the file fails with "Unable to create '…/index.lock': File
// exists" — recovery's undo included. Recovery removes such locks first, in the places its
// journal's steps touched, once it is sure no live process can hold them:
// - the server that wrote the journal is gone: claimLeftoverJournals only hands out journals of
//   dead processes, and with the embedded database the data-directory lock proves it as well;
// - its git children may outlive it (a SIGKILL does not reach them): a lock is removed only when no
//   git process is working in that repository or worktree (on Linux, read from /proc; elsewhere
//   the first condition stands alone), waiting a bounded time for one to finish;
// - a lock created after this process started belongs to someone alive: it is left alone.
// A push over HTTP that died with the server is cleared the same way, from its record
// (push-record.ts): the locks of the refs it may have moved, and receive-pack's quarantine.
import fs from 'node:fs';
import path from 'node:path';
import { git } from './repo.js';

/** Where one journaled step worked: the repository, the task's worktree if any, the refs it wrote. */
export interface LockScope {
  repositoryPath: string;
  worktreePath?: string;
  refs: string[];
}

const WORKTREE_LOCKS = ['index.lock', 'HEAD.lock', 'ORIG_HEAD.lock'];
const WAIT_FOR_GIT_MS = 15_000;

/** Removes the lock files a dead server's git left in `scope`; returns the paths removed. */
export async function clearDeadLocks(scope: LockScope): Promise<string[]> {
  const commonDir = await gitCommonDir(scope.repositoryPath);
  if (!commonDir) return [];
  const candidates = [path.join(commonDir, 'packed-refs.lock'), ...scope.refs.map((ref) => path.join(commonDir, `${ref}.lock`))];
  for (const dir of worktreeGitDirs(commonDir, scope.worktreePath)) candidates.push(...WORKTREE_LOCKS.map((name) => path.join(dir, name)));
  return removeIfDead(candidates, [scope.repositoryPath, commonDir, ...(scope.worktreePath ? [scope.worktreePath] : [])]);
}

/** Where a push over HTTP worked: the repository and the refs its worker was allowed to move (http-backend.ts's PushRights). */
export interface PushScope {
  repositoryPath: string;
  branches: string[];
  taskIds: string[];
}

/** receive-pack's quarantine, `objects/tmp_objdir-incoming-*` (git before 2.35: `objects/incoming-*`). */
const QUARANTINE = /^(tmp_objdir-)?incoming-/;

/**
 * Removes what a receive-pack killed with a dead server left (docs/mesh.md, "What a worker may
 * push"): its quarantine of a half-received pack, which nothing reads but which holds up to a whole
 * pack on disk, and the locks of the refs it was moving, which would refuse every later push of
 * those refs ("cannot lock ref") and the server's own moves of the branch. Under the same
 * conditions as clearDeadLocks; returns the paths removed.
 */
export async function clearDeadPush(scope: PushScope): Promise<string[]> {
  const commonDir = await gitCommonDir(scope.repositoryPath);
  if (!commonDir) return [];
  const objects = path.join(commonDir, 'objects');
  const candidates = [
    path.join(commonDir, 'packed-refs.lock'),
    ...scope.branches.map((branch) => path.join(commonDir, 'refs', 'heads', `${branch}.lock`)),
    ...scope.taskIds.flatMap((taskId) => lockFilesUnder(path.join(commonDir, 'refs', 'makima', 'tasks', taskId))),
    ...fs.readdirSync(objects).filter((name) => QUARANTINE.test(name)).map((name) => path.join(objects, name)),
  ];
  return removeIfDead(candidates, [scope.repositoryPath, commonDir]);
}

async function gitCommonDir(repositoryPath: string): Promise<string | null> {
  if (!fs.existsSync(repositoryPath)) return null;
  return git(repositoryPath)
    .raw(['rev-parse', '--git-common-dir'])
    .then((dir) => path.resolve(repositoryPath, dir.trim()))
    .catch(() => null);
}

/** Removes those of `candidates` that are older than this process, once no git works in `places`. */
async function removeIfDead(candidates: string[], places: string[]): Promise<string[]> {
  const startedAt = Date.now() - process.uptime() * 1000;
  const stale = candidates.filter((file) => {
    const stat = fs.statSync(file, { throwIfNoEntry: false });
    return stat !== undefined && stat.mtimeMs < startedAt;
  });
  if (stale.length === 0) return [];
  if (!(await noGitWorkingIn(places))) return [];
  for (const file of stale) fs.rmSync(file, { recursive: true, force: true });
  return stale;
}

/** Every `*.lock` file below `dir` (a ref's lock sits beside where the ref would be). */
function lockFilesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.lock'))
    .map((entry) => path.join(entry.parentPath, entry.name));
}

/** The worktree's own git directory (`.git/worktrees/<name>`), from its `.git` file or by its name. */
function worktreeGitDirs(commonDir: string, worktreePath: string | undefined): string[] {
  if (!worktreePath) return [];
  const dirs = new Set<string>();
  const dotGit = path.join(worktreePath, '.git');
  try {
    const match = /^gitdir: (.+)$/m.exec(fs.readFileSync(dotGit, 'utf8'));
    if (match) dirs.add(path.resolve(worktreePath, match[1].trim()));
  } catch {
    // no .git file (the worktree is gone or half made): its admin directory may still be there
  }
  const byName = path.join(commonDir, 'worktrees', path.basename(worktreePath));
  if (fs.existsSync(byName)) dirs.add(byName);
  return [...dirs];
}

/** Waits (bounded) until no git process works in one of `places`; false if one still does. */
async function noGitWorkingIn(places: string[]): Promise<boolean> {
  const deadline = Date.now() + WAIT_FOR_GIT_MS;
  for (;;) {
    if (liveGitIn(places).length === 0) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The pids of git processes whose working directory is inside one of `places` (Linux; [] elsewhere). */
export function liveGitIn(places: string[]): number[] {
  if (!fs.existsSync('/proc/self/cwd')) return [];
  const roots = places.map((p) => {
    try {
      return fs.realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  });
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (!fs.readFileSync(`/proc/${entry}/comm`, 'utf8').startsWith('git')) continue;
      if (/^\S+ \(.*\) Z/.test(fs.readFileSync(`/proc/${entry}/stat`, 'utf8'))) continue; // a zombie holds nothing
      const cwd = fs.readlinkSync(`/proc/${entry}/cwd`);
      if (roots.some((root) => cwd === root || cwd.startsWith(`${root}/`))) found.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}
