// The one door to git (docs/design.md §8): the seam (`Git`, seam.ts) that domains use through
// ctx.git, `localGit` — its implementation on this server's disk (worktrees under
// MAKIMA_WORKTREES_DIR) — and the write-ahead journal of changes that move git (journal.ts). A
// remote worker materialises a workspace itself from git over HTTP (http-backend.ts, docs/design.md
// §11), and the server then moves refs instead of worktrees (refs.ts); every step that changes
// something has a matching undo here.
import fs from 'node:fs';
import {
  assertWorktreeOnBranch,
  changedFiles,
  checkoutCommit,
  checkpointRefNumbers,
  checkpointsInHistoryOf,
  commitExists,
  commitWorktree,
  createBranch,
  deleteBranch,
  diffPatch,
  headCommit,
  indexTree,
  protectArchive,
  protectCheckpoint,
  unchangedHead,
  undoCommit,
  unprotectArchive,
  unprotectCheckpoint,
} from './checkpoints.js';
import { branchHead, dropRef, isAncestor, keepCommit, moveBranch, releaseWorktree, restoreBranch } from './refs.js';
import { clearDeadLocks } from './locks.js';
import { addWorktree, assertBranchName, git, removeWorktree, resolveRepository, restoreWorktree } from './repo.js';

import type { Git } from './seam.js';

export type { FileChange, FileStatus, WorktreeCommit } from './checkpoints.js';
export { archiveRef, checkpointRef, withTrailers } from './checkpoints.js';
export type { Git, Workspace } from './seam.js';
export { serveGitHttp, type GitHttpOutcome, type GitHttpRequest, type PushRights } from './http-backend.js';
export { recoverInterruptedPushes } from './push-record.js';
export { taskRefPrefix, unrecordedRef } from './refs.js';
export { isSha } from './repo.js';
export { claimLeftoverJournals, JournalFile, lockScope, manualUndo, undo, type ClaimedJournal, type JournalRecord, type UndoStep } from './journal.js';
export type { LockScope } from './locks.js';
export { checkoutTask, commitTask, DEFAULT_STALL_SECONDS, hasUncommittedWork, keepLocally, prepareWorkdir, pushCommit, taskWorktree, type Remote } from './clone.js';

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
  checkpointRefNumbers,
  protectArchive,
  unprotectArchive,
  addWorkspace: (w, commit, changeId) => addWorktree(w.repositoryPath, w.worktreePath, w.branch, commit, changeId),
  removeWorkspace: (w, createdBy) => removeWorktree(w.repositoryPath, w.worktreePath, w.branch, createdBy),
  restoreWorkspace: (w, sha) => restoreWorktree(w.repositoryPath, w.worktreePath, w.branch, sha),
  async workspaceHead(w) {
    if (!fs.existsSync(w.worktreePath)) return null;
    return headCommit(w.worktreePath).catch(() => null);
  },
  assertOnBranch: (w) => assertWorktreeOnBranch(w.worktreePath, w.branch),
  commitWorkspace: (w, message, options) => commitWorktree(w.worktreePath, w.branch, message, options),
  unchangedHead: (w) => unchangedHead(w.worktreePath),
  stagedTree: (w) => indexTree(w.worktreePath),
  undoCommit: (w, previousHead, stagedTree) => undoCommit(w.worktreePath, previousHead, stagedTree),
  checkout: (w, sha) => checkoutCommit(w.worktreePath, sha),
  isAncestor,
  branchHead,
  moveBranch,
  keepCommit,
  dropRef,
  restoreBranch,
  releaseWorkspace: (w) => releaseWorktree(w.repositoryPath, w.worktreePath),
  clearDeadLocks,
};
