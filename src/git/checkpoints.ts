// Git for checkpoints: commit a task's whole worktree, keep checkpoint commits safe from gc, move a
// worktree to a commit and back, create branches, and diff two commits. Every sha passed here comes
// from the database and is still checked with assertSha; branch names are checked by the caller.
import fs from 'node:fs';
import { ConflictError, GitError } from '../errors.js';
import { assertSha, branchExists, createRef, deleteRefIfCreatedBy, firstLine, git, isSha } from './repo.js';
import { worktreeMatchesIndex } from './unchanged.js';

export type FileStatus = 'added' | 'modified' | 'deleted' | 'type_changed';

export interface FileChange {
  path: string;
  status: FileStatus;
  /** Lines added and deleted (0 and 0 for a binary file). */
  additions: number;
  deletions: number;
  binary: boolean;
}

export interface WorktreeCommit {
  /** The commit that holds the worktree's state. */
  sha: string;
  /** HEAD before the commit (equal to `sha` when nothing had changed). */
  previousHead: string;
  created: boolean;
}

const STATUS: Record<string, FileStatus> = { A: 'added', M: 'modified', D: 'deleted', T: 'type_changed' };

/** Runs one git step; a failure becomes a GitError saying what could not be done and what to do. */
async function step<T>(what: string, run: () => Promise<T>, hint = ''): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw new GitError(`could not ${what}: ${firstLine(err)}${hint ? `. ${hint}` : ''}`);
  }
}

/** The ref that keeps checkpoint `number` of a task alive after a rewind moves its branch away. */
export function checkpointRef(taskId: string, number: number): string {
  return `refs/makima/checkpoints/${taskId}/${number}`;
}

/** The ref that keeps an archived task's last commit alive once its branch is removed (archiveTask). */
export function archiveRef(taskId: string): string {
  return `refs/makima/archived/${taskId}`;
}

/**
 * A checkpoint commit's message: the client's message, then git trailers naming the task and its
 * contract, so that `git log` (and `git log --grep=Makima-Task:`) explains every commit makima made.
 */
export function withTrailers(message: string, taskId: string, contractId: string | null): string {
  const trailers = [`Makima-Task: ${taskId}`, ...(contractId ? [`Makima-Contract: ${contractId}`] : [])];
  return `${message.trimEnd()}\n\n${trailers.join('\n')}\n`;
}

/** Fails with an actionable GitError unless the worktree exists and has `branch` checked out. */
export async function assertWorktreeOnBranch(worktreePath: string, branch: string): Promise<void> {
  if (!fs.existsSync(worktreePath)) {
    throw new GitError(`the task's worktree ${worktreePath} no longer exists; fork the task from a checkpoint to get a new worktree`);
  }
  const head = await step(`read HEAD in ${worktreePath}`, () => git(worktreePath).raw(['symbolic-ref', '--quiet', 'HEAD']));
  if (head !== `refs/heads/${branch}`) {
    throw new GitError(
      `the worktree ${worktreePath} is not on the task's branch ${branch} (HEAD is ${head || 'detached'}); ` +
        `run "git -C ${worktreePath} checkout ${branch}" and try again`,
    );
  }
}

export async function headCommit(worktreePath: string): Promise<string> {
  return step(`read the commit of ${worktreePath}`, () => git(worktreePath).revparse(['--verify', 'HEAD^{commit}']));
}

/**
 * Commits everything in the worktree — tracked and untracked files, not ignored ones — on its
 * checked-out branch. Plumbing (write-tree, commit-tree, update-ref) is used so that no hook, editor
 * or message cleanup runs, and the branch only moves if nobody moved it meanwhile. When nothing
 * changed, no empty commit is made: HEAD is the checkpoint. With `saving` (a backup of whatever was
 * left, usually nothing), a worktree proven to hold what its index says is not staged again: git
 * would hash every file of a freshly checked-out worktree to be sure (unchanged.ts).
 */
export async function commitWorktree(worktreePath: string, branch: string, message: string, options: { saving?: boolean } = {}): Promise<WorktreeCommit> {
  const hint = `Check "git -C ${worktreePath} status" (a merge or rebase in progress, or a lock file left behind, prevents it)`;
  const head = await headCommit(worktreePath);
  const g = git(worktreePath);
  const unchanged = options.saving === true && (await worktreeMatchesIndex(worktreePath).catch(() => false));
  if (!unchanged) await step(`stage the files of ${worktreePath}`, () => g.raw(['add', '--all']), hint);
  const tree = await step('write the staged tree', () => g.raw(['write-tree']), hint);
  const headTree = await step('read the tree of HEAD', () => g.revparse([`${head}^{tree}`]));
  if (tree === headTree) return { sha: head, previousHead: head, created: false };
  // The message goes through stdin, so no message can ever be read as an option.
  const sha = await step('create the checkpoint commit', () =>
    git(worktreePath, { input: () => message }).raw(['commit-tree', assertSha(tree), '-p', head]),
  );
  assertSha(sha);
  await step(`move branch ${branch} to the checkpoint commit`, () =>
    g.raw(['update-ref', '-m', 'makima: checkpoint', `refs/heads/${branch}`, sha, head]),
  hint);
  return { sha, previousHead: head, created: true };
}

/**
 * The commit the worktree is at when it provably holds nothing that commit does not: its files are
 * what its index says (unchanged.ts, no file hashed but those of the index's own clock tick) and the
 * index is HEAD's tree. Null when that is not proven — then a save stages and compares as usual.
 * A backup of a worktree nobody touched costs four quick git calls and no journal step.
 */
export async function unchangedHead(worktreePath: string): Promise<string | null> {
  if (!(await worktreeMatchesIndex(worktreePath).catch(() => false))) return null;
  const g = git(worktreePath);
  const tree = await g.raw(['write-tree']).catch(() => '');
  const [head, headTree] = (await g.raw(['rev-parse', 'HEAD^{commit}', 'HEAD^{tree}']).catch(() => '')).split('\n');
  return head && isSha(head) && tree !== '' && tree === headTree ? head : null;
}

/**
 * Keeps `sha` reachable (safe from git gc) under the checkpoint's own ref. The ref is only ever
 * created, never overwritten: the empty old value makes git refuse when it exists already. Its
 * reflog names `changeId`, so the undo never removes a ref this change did not create.
 */
export async function protectCheckpoint(repoPath: string, taskId: string, number: number, sha: string, changeId?: string): Promise<void> {
  await step('record the checkpoint ref', () => createRef(repoPath, checkpointRef(taskId, number), sha, 'checkpoint', changeId));
}

/**
 * Removes a checkpoint's ref if it still points at `sha` and (with `changeId`) that change created
 * it; missing already is fine: undo is idempotent.
 */
export async function unprotectCheckpoint(repoPath: string, taskId: string, number: number, sha: string, changeId?: string): Promise<void> {
  await step('remove the checkpoint ref', () => deleteRefIfCreatedBy(repoPath, checkpointRef(taskId, number), sha, changeId));
}

/** Keeps an archived task's last commit reachable; the ref is only ever created, never overwritten. */
export async function protectArchive(repoPath: string, taskId: string, sha: string, changeId?: string): Promise<void> {
  await step('record the archive ref', () => createRef(repoPath, archiveRef(taskId), sha, 'archive', changeId));
}

/** Removes an archive ref if it still points at `sha` and (with `changeId`) that change created it. */
export async function unprotectArchive(repoPath: string, taskId: string, sha: string, changeId?: string): Promise<void> {
  await step('remove the archive ref', () => deleteRefIfCreatedBy(repoPath, archiveRef(taskId), sha, changeId));
}

/** The numbers of every checkpoint ref of a task, whether or not the database knows the checkpoint. */
export async function checkpointRefNumbers(repoPath: string, taskId: string): Promise<number[]> {
  const prefix = `refs/makima/checkpoints/${taskId}/`;
  const out = await step('list the checkpoint refs', () => git(repoPath).raw(['for-each-ref', '--format=%(refname)', prefix]));
  return out
    .split('\n')
    .filter((line) => line.startsWith(prefix))
    .map((line) => Number(line.slice(prefix.length)))
    .filter((n) => Number.isInteger(n));
}

/**
 * Sets the worktree and its branch to `sha`: tracked files as in the commit, untracked files removed,
 * ignored files left alone (clean without -x). Callers save the current state first.
 */
export async function checkoutCommit(worktreePath: string, sha: string): Promise<void> {
  const hint = `The worktree ${worktreePath} may be partly changed; its previous state is in the backup checkpoint`;
  await step(`reset ${worktreePath} to ${sha}`, () => git(worktreePath).raw(['reset', '--hard', '--quiet', assertSha(sha)]), hint);
  await step(`remove untracked files in ${worktreePath}`, () => git(worktreePath).raw(['clean', '-d', '--force', '--quiet']), hint);
}

/**
 * The tree of a worktree's index as it is now (what is staged), written as a tree object without
 * changing what is staged — git stash's first step. With it, an undo of `commitWorktree` (whose
 * `add --all` stages everything) can give back the index exactly: untracked files untracked,
 * partly staged files with their staged and unstaged halves (docs/design.md §9).
 */
export async function indexTree(worktreePath: string): Promise<string> {
  const tree = await step(`read what is staged in ${worktreePath}`, () => git(worktreePath).raw(['write-tree']),
    `Check "git -C ${worktreePath} status": a merge with conflicts must be resolved (or aborted) first, and a lock file left behind prevents it`);
  return assertSha(tree);
}

/**
 * Undoes `commitWorktree` without touching files: the branch back at `previousHead`, and the index
 * back to `stagedTree` (what was staged before; without it, as old journals have, the changes are
 * simply unstaged). Idempotent: it may run after the commit, half of it, or none of it (or the
 * worktree is gone).
 */
export async function undoCommit(worktreePath: string, previousHead: string, stagedTree?: string): Promise<void> {
  if (!fs.existsSync(worktreePath)) return;
  const g = git(worktreePath);
  const moved = (await headCommit(worktreePath)) !== assertSha(previousHead);
  if (!stagedTree) {
    if (moved) await step(`move ${worktreePath} back to ${previousHead}`, () => g.raw(['reset', '--mixed', '--quiet', previousHead]));
    return;
  }
  if (moved) await step(`move ${worktreePath} back to ${previousHead}`, () => g.raw(['reset', '--soft', '--quiet', previousHead]));
  await step(`give back what was staged in ${worktreePath}`, () => g.raw(['read-tree', assertSha(stagedTree)]));
  // read-tree drops the files' stat data; refreshing it keeps "git status" fast (exit 1 only means "changed files").
  await g.raw(['update-index', '-q', '--refresh']).catch(() => undefined);
}


/** Whether `sha` is a commit of the repository. */
export async function commitExists(repoPath: string, sha: string): Promise<boolean> {
  const found = await step('look up a commit', () => git(repoPath).raw(['rev-parse', '--verify', '--quiet', `${assertSha(sha)}^{commit}`]));
  return found !== '';
}

/** The numbers of the task's checkpoints whose commits are in the history of `sha` (itself included). */
export async function checkpointsInHistoryOf(repoPath: string, taskId: string, sha: string): Promise<number[]> {
  const prefix = `refs/makima/checkpoints/${taskId}/`;
  const out = await step('list the checkpoints in the history of a commit', () =>
    git(repoPath).raw(['for-each-ref', `--merged=${assertSha(sha)}`, '--format=%(refname)', prefix]),
  );
  return out
    .split('\n')
    .filter((line) => line.startsWith(prefix))
    .map((line) => Number(line.slice(prefix.length)))
    .filter((n) => Number.isInteger(n));
}

/**
 * Creates branch `name` at `sha`. The empty old value makes git refuse atomically when the branch
 * exists, so a concurrent creation cannot overwrite it either.
 */
export async function createBranch(repoPath: string, name: string, sha: string, changeId?: string): Promise<void> {
  if (await branchExists(repoPath, name)) throw branchConflict(name);
  try {
    await createRef(repoPath, `refs/heads/${name}`, sha, 'branch from checkpoint', changeId);
  } catch (err) {
    if (await branchExists(repoPath, name)) throw branchConflict(name);
    if (/exists/.test(firstLine(err))) throw new ConflictError(`cannot create branch ${name}: ${firstLine(err)}; choose another name`);
    throw new GitError(`could not create branch ${name}: ${firstLine(err)}`);
  }
}

/**
 * Removes a branch created by `createBranch`, only if it still points at `sha` and (with
 * `changeId`) that change created it: a branch that existed before is never touched. Missing
 * already is fine.
 */
export async function deleteBranch(repoPath: string, name: string, sha: string, changeId?: string): Promise<void> {
  await step(`remove branch ${name}`, () => deleteRefIfCreatedBy(repoPath, `refs/heads/${name}`, sha, changeId));
}

function branchConflict(name: string): ConflictError {
  return new ConflictError(`branch ${name} already exists; existing branches are never overwritten, choose another name`, { branchName: name });
}

// Same output whatever the repository's diff configuration (external tools, textconv, prefixes).
const DIFF_OPTIONS = ['--no-color', '--no-ext-diff', '--no-textconv', '--no-renames', '--src-prefix=a/', '--dst-prefix=b/'];

/** The files that differ between two commits, with status and line counts. */
export async function changedFiles(repoPath: string, from: string, to: string): Promise<FileChange[]> {
  const g = git(repoPath);
  const range = [assertSha(from), assertSha(to)];
  const [statuses, counts] = await Promise.all([
    step('list the changed files', () => g.raw(['diff', ...DIFF_OPTIONS, '--name-status', '-z', ...range])),
    step('count the changed lines', () => g.raw(['diff', ...DIFF_OPTIONS, '--numstat', '-z', ...range])),
  ]);
  const lines = new Map<string, { additions: number; deletions: number; binary: boolean }>();
  for (const record of counts.split('\0')) {
    const [adds, dels, ...rest] = record.split('\t');
    if (!rest.length) continue;
    const binary = adds === '-';
    lines.set(rest.join('\t'), { additions: binary ? 0 : Number(adds), deletions: binary ? 0 : Number(dels), binary });
  }
  const fields = statuses.split('\0').filter((f) => f !== '');
  const files: FileChange[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const path = fields[i + 1];
    files.push({ path, status: STATUS[fields[i][0]] ?? 'modified', ...(lines.get(path) ?? { additions: 0, deletions: 0, binary: false }) });
  }
  return files;
}

/** The unified diff between two commits, cut at `maxBytes` (at a line end) when it is longer. */
export async function diffPatch(repoPath: string, from: string, to: string, maxBytes: number): Promise<{ patch: string; truncated: boolean }> {
  const full = await step('compute the diff', () =>
    git(repoPath, { trimmed: false }).raw(['diff', ...DIFF_OPTIONS, '--patch', assertSha(from), assertSha(to)]),
  );
  const bytes = Buffer.from(full, 'utf8');
  if (bytes.length <= maxBytes) return { patch: full, truncated: false };
  const cut = bytes.subarray(0, maxBytes);
  const lastNewline = cut.lastIndexOf(0x0a);
  return { patch: cut.subarray(0, lastNewline + 1).toString('utf8'), truncated: true };
}
