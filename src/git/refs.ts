// Git for tasks whose code lives in the contract's repository rather than in a server worktree
// (docs/design.md §11): a remote worker pushes commits there, and the server records, rewinds,
// forks and archives by moving refs. Every move names the value it expects the ref to have, so a
// ref that someone else moved meanwhile is never overwritten; every move has an idempotent undo.
import fs from 'node:fs';
import path from 'node:path';
import { ConflictError, GitError } from '../errors.js';
import { assertSha, branchExists, createRef, deleteRefIfCreatedBy, firstLine, git } from './repo.js';

/** Where the server keeps a commit a remote worker pushed but never recorded (never lost, never reused). */
export function unrecordedRef(taskId: string, sha: string): string {
  return `refs/makima/tasks/${taskId}/unrecorded/${assertSha(sha)}`;
}

/** The prefix of the refs a remote worker holding a task may create (create-only) besides its branch. */
export function taskRefPrefix(taskId: string): string {
  return `refs/makima/tasks/${taskId}/`;
}

/** Whether `ancestor` is `descendant` or in its history (both must be commits of the repository). */
export async function isAncestor(repoPath: string, ancestor: string, descendant: string): Promise<boolean> {
  // merge-base --is-ancestor answers with its exit code (0 yes, 1 no), which simple-git reports as
  // an error for 1: ask for the merge base instead and compare.
  const base = await git(repoPath)
    .raw(['merge-base', assertSha(ancestor), assertSha(descendant)])
    .catch((err: unknown) => {
      throw new GitError(`could not compare commits ${ancestor} and ${descendant}: ${firstLine(err)}`);
    });
  const full = await git(repoPath).revparse(['--verify', `${ancestor}^{commit}`]);
  return base === full;
}

/** The commit `refs/heads/<branch>` points at, or null when there is no such branch. */
export async function branchHead(repoPath: string, branch: string): Promise<string | null> {
  const sha = await git(repoPath).raw(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`]);
  return sha.trim() || null;
}

/**
 * Moves `refs/heads/<branch>` from `from` to `to`, only if it is still at `from` (git's own
 * compare-and-swap). Idempotent: a branch already at `to` is left alone.
 */
export async function moveBranch(repoPath: string, branch: string, from: string, to: string): Promise<void> {
  const current = await branchHead(repoPath, branch);
  if (current === assertSha(to)) return;
  if (current !== assertSha(from)) {
    throw new ConflictError(`branch ${branch} is at ${current ?? '(missing)'}, not at ${from}: someone moved it meanwhile; nothing was changed, try again`);
  }
  try {
    await git(repoPath).raw(['update-ref', '-m', 'makima: move task branch', `refs/heads/${branch}`, to, from]);
  } catch (err) {
    throw new GitError(`could not move branch ${branch} to ${to}: ${firstLine(err)}`);
  }
}

/**
 * Creates `ref` at `sha` unless it exists; an existing ref at another commit is never overwritten.
 * The reflog names `changeId`, so that the undo (dropRef) removes only a ref this change created.
 */
export async function keepCommit(repoPath: string, ref: string, sha: string, changeId?: string): Promise<void> {
  const current = await git(repoPath).raw(['rev-parse', '--verify', '--quiet', ref]);
  if (current.trim() === assertSha(sha)) return;
  try {
    await createRef(repoPath, ref, sha, 'keep a commit', changeId);
  } catch (err) {
    throw new GitError(`could not keep commit ${sha} under ${ref}: ${firstLine(err)}`);
  }
}

/**
 * The undo of keepCommit: removes `ref` if it still points at `sha` and — with `createdBy` — that
 * change created it (a ref kept by an earlier change stays). Missing already is fine.
 */
export async function dropRef(repoPath: string, ref: string, sha: string, createdBy?: string): Promise<void> {
  await deleteRefIfCreatedBy(repoPath, ref, sha, createdBy);
}

/** Creates `refs/heads/<name>` at `sha` unless it exists (the idempotent undo of removing a branch). */
export async function restoreBranch(repoPath: string, name: string, sha: string): Promise<void> {
  if (await branchExists(repoPath, name)) return;
  await git(repoPath).raw(['update-ref', `refs/heads/${name}`, assertSha(sha), '']);
}

/**
 * Removes a task's worktree from the server's disk but keeps its branch, so that the branch can be
 * pushed to (git refuses to move a branch checked out in a worktree). The caller has committed
 * everything in it. Idempotent: a worktree already gone is fine.
 */
export async function releaseWorktree(repoPath: string, worktreePath: string): Promise<void> {
  if (fs.existsSync(path.join(worktreePath, '.git'))) {
    try {
      // Removes the worktree's administrative entry too: nothing is left to prune.
      await git(repoPath).raw(['worktree', 'remove', '--force', worktreePath]);
      return;
    } catch (err) {
      throw new GitError(`could not remove the server worktree ${worktreePath}: ${firstLine(err)}`);
    }
  }
  fs.rmSync(worktreePath, { recursive: true, force: true });
  await git(repoPath).raw(['worktree', 'prune']);
}
