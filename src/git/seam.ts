// The seam between makima and git (docs/design.md §8): what the domains may ask of git, in terms
// of repositories and task workspaces. src/git/index.ts exports it with its local implementation.
import type { FileChange, WorktreeCommit } from './checkpoints.js';
import type { LockScope } from './locks.js';

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
  // `changeId` (the journaled change creating a ref) is written in the ref's reflog; the undo given
  // the same id removes the ref only if that change created it (docs/design.md §9).
  /** A new branch at `sha`; an existing one is a CONFLICT. Undo: deleteBranch. */
  createBranch(repositoryPath: string, name: string, sha: string, changeId?: string): Promise<void>;
  deleteBranch(repositoryPath: string, name: string, sha: string, changeId?: string): Promise<void>;
  /** Keeps a checkpoint's commit reachable under its own ref, which must not exist yet. Undo: unprotectCheckpoint. */
  protectCheckpoint(repositoryPath: string, taskId: string, number: number, sha: string, changeId?: string): Promise<void>;
  unprotectCheckpoint(repositoryPath: string, taskId: string, number: number, sha: string, changeId?: string): Promise<void>;
  /** Keeps an archived task's last commit reachable under refs/makima/archived/<task>. Undo: unprotectArchive. */
  protectArchive(repositoryPath: string, taskId: string, sha: string, changeId?: string): Promise<void>;
  unprotectArchive(repositoryPath: string, taskId: string, sha: string, changeId?: string): Promise<void>;
  /** The numbers of all of a task's checkpoint refs (a number whose ref exists is never handed out again). */
  checkpointRefNumbers(repositoryPath: string, taskId: string): Promise<number[]>;

  /** Creates the workspace on its new branch at `commit`. Undo: removeWorkspace with `createdBy` = `changeId`. */
  addWorkspace(workspace: Workspace, commit: string, changeId?: string): Promise<void>;
  /**
   * Removes the worktree and its branch — with `createdBy`, the branch only if that change created
   * it. Undo (of an archive): restoreWorkspace at the branch's commit.
   */
  removeWorkspace(workspace: Workspace, createdBy?: string): Promise<void>;
  restoreWorkspace(workspace: Workspace, sha: string): Promise<void>;
  /** The commit the workspace is at, or null when it no longer exists. */
  workspaceHead(workspace: Workspace): Promise<string | null>;
  /** GIT_ERROR with what to do unless the workspace exists and is on its branch. */
  assertOnBranch(workspace: Workspace): Promise<void>;
  /** The commit the workspace is at when it is proven to hold nothing uncommitted (cheaply, checkpoints.ts unchangedHead); null otherwise. */
  unchangedHead(workspace: Workspace): Promise<string | null>;
  /** The tree of what is staged in the workspace now, without changing it (taken before commitWorkspace). */
  stagedTree(workspace: Workspace): Promise<string>;
  /** Commits everything in the workspace (tracked and untracked) on its branch. Undo: undoCommit to the HEAD and staged tree before. */
  /** `saving`: a save of whatever was left, usually nothing (a backup): a worktree proven unchanged is not staged again (unchanged.ts). */
  commitWorkspace(workspace: Workspace, message: string, options?: { saving?: boolean }): Promise<WorktreeCommit>;
  undoCommit(workspace: Workspace, previousHead: string, stagedTree?: string): Promise<void>;
  /** Sets the workspace and its branch to `sha` (untracked files removed). Undo: checkout back. */
  checkout(workspace: Workspace, sha: string): Promise<void>;

  // The mesh (docs/design.md §11): a task whose code lives in its branch of the repository, pushed
  // by a remote worker, is recorded, rewound, forked and archived by moving refs.
  /** Whether `ancestor` is `descendant` or in its history. */
  isAncestor(repositoryPath: string, ancestor: string, descendant: string): Promise<boolean>;
  /** The commit a branch points at; null when it does not exist. */
  branchHead(repositoryPath: string, branch: string): Promise<string | null>;
  /** Moves a branch from `from` to `to`, only if it is still at `from` (CONFLICT otherwise). Undo: moveBranch back. */
  moveBranch(repositoryPath: string, branch: string, from: string, to: string): Promise<void>;
  /** Keeps `sha` reachable under `ref`, created if missing (never overwritten), naming `changeId`. Undo: dropRef with `createdBy` = `changeId`. */
  keepCommit(repositoryPath: string, ref: string, sha: string, changeId?: string): Promise<void>;
  dropRef(repositoryPath: string, ref: string, sha: string, createdBy?: string): Promise<void>;
  /** The undo of removing a branch: creates it at `sha` unless it exists. */
  restoreBranch(repositoryPath: string, name: string, sha: string): Promise<void>;
  /** Removes the workspace's worktree from the server's disk, keeping its branch (everything in it is committed at `sha`). Undo: restoreWorkspace. */
  releaseWorkspace(workspace: Workspace): Promise<void>;
  /** Recovery only: removes the lock files a dead server's git left where a step worked (locks.ts); returns them. */
  clearDeadLocks(scope: LockScope): Promise<string[]>;
}
