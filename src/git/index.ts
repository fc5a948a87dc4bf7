// The seam between makima and git (docs/design.md §8): the domains reach git only through the
// `Git` interface below, in terms of repositories and task workspaces, never through paths of
// simple-git calls. `localGit` runs git on this server's disk (worktrees under
// MAKIMA_WORKTREES_DIR); a later implementation can run a workspace's git on the worker that
// holds it without any domain changing. Every git step that changes something is journaled by
// the change that makes it (modules/tasks/change-with-git.ts), so each has a matching undo here.
import fs from 'node:fs';
import {
  assertWorktreeOnBranch,
  changedFiles,
  checkoutCommit,
  checkpointsInHistoryOf,
  commitExists,
  commitWorktree,
  createBranch,
  deleteBranch,
  diffPatch,
  headCommit,
  protectCheckpoint,
  undoCommit,
  unprotectCheckpoint,
  type FileChange,
  type WorktreeCommit,
} from './checkpoints.js';
import { addWorktree, assertBranchName, git, removeWorktree, resolveRepository } from './repo.js';

export type { FileChange, FileStatus, WorktreeCommit } from './checkpoints.js';
export { checkpointRef } from './checkpoints.js';

/** Where a task's code lives: its contract's repository, its own worktree and branch. */
export interface Workspace {
  repositoryPath: string;
  worktreePath: string;
  branch: string;
}

export interface Git {
  /** A client-given repository path, validated (inside `reposRoot`, a work tree's top level with a commit). */
  resolveRepository(input: string, reposRoot: string): Promise<{ path: string; head: string }>;
  /** The commit a repository's HEAD is at. */
  repositoryHead(repositoryPath: string): Promise<string>;
  /** A branch name by git's own rules; BAD_USER_INPUT otherwise. */
  assertBranchName(name: string): Promise<string>;
  commitExists(repositoryPath: string, sha: string): Promise<boolean>;
  /** The numbers of a task's checkpoints whose commits are in the history of `sha`. */
  checkpointsInHistoryOf(repositoryPath: string, taskId: string, sha: string): Promise<number[]>;
  changedFiles(repositoryPath: string, from: string, to: string): Promise<FileChange[]>;
  diffPatch(repositoryPath: string, from: string, to: string, maxBytes: number): Promise<{ patch: string; truncated: boolean }>;
  /** A new branch at `sha`; an existing one is a CONFLICT. Undo: deleteBranch. */
  createBranch(repositoryPath: string, name: string, sha: string): Promise<void>;
  deleteBranch(repositoryPath: string, name: string, sha: string): Promise<void>;
  /** Keeps a checkpoint's commit reachable under its own ref. Undo: unprotectCheckpoint. */
  protectCheckpoint(repositoryPath: string, taskId: string, number: number, sha: string): Promise<void>;
  unprotectCheckpoint(repositoryPath: string, taskId: string, number: number): Promise<void>;

  /** Creates the workspace on its new branch at `commit`. Undo: removeWorkspace. */
  addWorkspace(workspace: Workspace, commit: string): Promise<void>;
  removeWorkspace(workspace: Workspace): Promise<void>;
  /** The commit the workspace is at, or null when it no longer exists. */
  workspaceHead(workspace: Workspace): Promise<string | null>;
  /** GIT_ERROR with what to do unless the workspace exists and is on its branch. */
  assertOnBranch(workspace: Workspace): Promise<void>;
  /** Commits everything in the workspace (tracked and untracked) on its branch. Undo: undoCommit. */
  commitWorkspace(workspace: Workspace, message: string): Promise<WorktreeCommit>;
  undoCommit(workspace: Workspace, commit: WorktreeCommit): Promise<void>;
  /** Sets the workspace and its branch to `sha` (untracked files removed). Undo: checkout back. */
  checkout(workspace: Workspace, sha: string): Promise<void>;
}

/** Git on this server's own disk, through simple-git. */
export const localGit: Git = {
  resolveRepository,
  repositoryHead: (repositoryPath) => git(repositoryPath).revparse(['--verify', 'HEAD^{commit}']),
  assertBranchName: (name) => assertBranchName(name),
  commitExists,
  checkpointsInHistoryOf,
  changedFiles,
  diffPatch,
  createBranch,
  deleteBranch,
  protectCheckpoint,
  unprotectCheckpoint,
  addWorkspace: (w, commit) => addWorktree(w.repositoryPath, w.worktreePath, w.branch, commit),
  removeWorkspace: (w) => removeWorktree(w.repositoryPath, w.worktreePath, w.branch),
  async workspaceHead(w) {
    if (!fs.existsSync(w.worktreePath)) return null;
    return headCommit(w.worktreePath).catch(() => null);
  },
  assertOnBranch: (w) => assertWorktreeOnBranch(w.worktreePath, w.branch),
  commitWorkspace: (w, message) => commitWorktree(w.worktreePath, w.branch, message),
  undoCommit: (w, commit) => undoCommit(w.worktreePath, commit),
  checkout: (w, sha) => checkoutCommit(w.worktreePath, sha),
};
