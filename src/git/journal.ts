// The write-ahead journal of a change that moves git (docs/design.md §9): before each git step,
// how to undo it is written to a file on this server's disk (atomically, then fsync'd), so a
// change that dies mid-way — even by SIGKILL — can be rolled back at the next start. Every undo
// is idempotent: it may run after its step, after half of it, or without the step having run.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { archiveRef, checkpointRef } from './checkpoints.js';
import { ConflictError } from '../errors.js';
import type { LockScope } from './locks.js';
import type { Git, Workspace } from './seam.js';

// An undo only undoes what its own step did: `createdBy` (the change's id, written in the reflog of
// each ref the change creates) keeps a ref or branch that existed before — one whose creation was
// refused, or never ran — from being removed; `stagedTree` gives back the index as it was. Both are
// absent from journals written before they existed, whose undo works as it did then.
export type UndoStep =
  | { op: 'removeWorkspace'; workspace: Workspace; createdBy?: string }
  | { op: 'undoCommit'; workspace: Workspace; previousHead: string; stagedTree?: string }
  | { op: 'unprotectCheckpoint'; repositoryPath: string; taskId: string; number: number; sha: string; createdBy?: string }
  | { op: 'checkout'; workspace: Workspace; sha: string }
  | { op: 'deleteBranch'; repositoryPath: string; name: string; sha: string; createdBy?: string }
  | { op: 'restoreWorkspace'; workspace: Workspace; sha: string }
  | { op: 'unprotectArchive'; repositoryPath: string; taskId: string; sha: string; createdBy?: string }
  | { op: 'moveBranch'; repositoryPath: string; branch: string; from: string; to: string }
  | { op: 'dropRef'; repositoryPath: string; ref: string; sha: string; createdBy?: string }
  | { op: 'restoreBranch'; repositoryPath: string; name: string; sha: string }
  | { op: 'releaseWorkspace'; workspace: Workspace };

/** A task a change moves the git of: who owns it, and whether the change creates it. */
export interface JournalTask {
  ownerId: string;
  contractId: string | null;
  created: boolean;
}

export interface JournalRecord {
  id: string;
  /** What the change was doing ("rewind task"), for the log and the TASK/recovered event. */
  what: string;
  startedAt: string;
  tasks: Record<string, JournalTask>;
  steps: { taskId: string; undo: UndoStep }[];
}

/** Runs one undo step through the git seam. */
export async function undo(git: Git, step: UndoStep): Promise<void> {
  switch (step.op) {
    case 'removeWorkspace':
      return git.removeWorkspace(step.workspace, step.createdBy);
    case 'undoCommit':
      return git.undoCommit(step.workspace, step.previousHead, step.stagedTree);
    case 'unprotectCheckpoint':
      return git.unprotectCheckpoint(step.repositoryPath, step.taskId, step.number, step.sha, step.createdBy);
    case 'checkout':
      return git.checkout(step.workspace, step.sha);
    case 'deleteBranch':
      return git.deleteBranch(step.repositoryPath, step.name, step.sha, step.createdBy);
    case 'restoreWorkspace':
      return git.restoreWorkspace(step.workspace, step.sha);
    case 'unprotectArchive':
      return git.unprotectArchive(step.repositoryPath, step.taskId, step.sha, step.createdBy);
    case 'moveBranch':
      // A branch at neither end was not moved by this step (refused before it ran, or moved by
      // someone since): it is not this undo's to move.
      return git.moveBranch(step.repositoryPath, step.branch, step.from, step.to).catch((err: unknown) => {
        if (err instanceof ConflictError) return;
        throw err;
      });
    case 'dropRef':
      return git.dropRef(step.repositoryPath, step.ref, step.sha, step.createdBy);
    case 'restoreBranch':
      return git.restoreBranch(step.repositoryPath, step.name, step.sha);
    case 'releaseWorkspace':
      return git.releaseWorkspace(step.workspace);
  }
}

/** Where an undo step works: the places recovery clears a dead server's git locks in first (locks.ts). */
export function lockScope(step: UndoStep): LockScope {
  switch (step.op) {
    case 'removeWorkspace':
    case 'undoCommit':
    case 'checkout':
    case 'restoreWorkspace':
      return { repositoryPath: step.workspace.repositoryPath, worktreePath: step.workspace.worktreePath, refs: [`refs/heads/${step.workspace.branch}`] };
    case 'unprotectCheckpoint':
      return { repositoryPath: step.repositoryPath, refs: [checkpointRef(step.taskId, step.number)] };
    case 'deleteBranch':
      return { repositoryPath: step.repositoryPath, refs: [`refs/heads/${step.name}`] };
    case 'unprotectArchive':
      return { repositoryPath: step.repositoryPath, refs: [archiveRef(step.taskId)] };
    case 'moveBranch':
      return { repositoryPath: step.repositoryPath, refs: [`refs/heads/${step.branch}`] };
    case 'dropRef':
      return { repositoryPath: step.repositoryPath, refs: [step.ref] };
    case 'restoreBranch':
      return { repositoryPath: step.repositoryPath, refs: [`refs/heads/${step.name}`] };
    case 'releaseWorkspace':
      return { repositoryPath: step.workspace.repositoryPath, worktreePath: step.workspace.worktreePath, refs: [`refs/heads/${step.workspace.branch}`] };
  }
}

/** What an operator runs to undo a step by hand, when its undo keeps failing. */
export function manualUndo(step: UndoStep): string {
  const created = (ref: string, id?: string) => (id ? ` if the newest entry of "git reflog show ${ref}" names change ${id}` : '');
  switch (step.op) {
    case 'removeWorkspace':
      return `git -C ${step.workspace.repositoryPath} worktree remove -f -f ${step.workspace.worktreePath}; then git -C ${step.workspace.repositoryPath} branch -D ${step.workspace.branch}${created(`refs/heads/${step.workspace.branch}`, step.createdBy)}`;
    case 'undoCommit':
      return `git -C ${step.workspace.worktreePath} reset --soft ${step.previousHead}` + (step.stagedTree ? ` && git -C ${step.workspace.worktreePath} read-tree ${step.stagedTree}` : ` && git -C ${step.workspace.worktreePath} reset --mixed ${step.previousHead}`);
    case 'unprotectCheckpoint':
      return `git -C ${step.repositoryPath} update-ref -d ${checkpointRef(step.taskId, step.number)} ${step.sha}${created(checkpointRef(step.taskId, step.number), step.createdBy)}`;
    case 'checkout':
      return `git -C ${step.workspace.worktreePath} reset --hard ${step.sha} && git -C ${step.workspace.worktreePath} clean -d --force`;
    case 'deleteBranch':
      return `git -C ${step.repositoryPath} update-ref -d refs/heads/${step.name} ${step.sha}${created(`refs/heads/${step.name}`, step.createdBy)}`;
    case 'restoreWorkspace':
      return `git -C ${step.workspace.repositoryPath} worktree add ${step.workspace.worktreePath} ${step.workspace.branch} (or with -b ${step.workspace.branch} ... ${step.sha} if the branch is gone)`;
    case 'unprotectArchive':
      return `git -C ${step.repositoryPath} update-ref -d ${archiveRef(step.taskId)} ${step.sha}${created(archiveRef(step.taskId), step.createdBy)}`;
    case 'moveBranch':
      return `git -C ${step.repositoryPath} update-ref refs/heads/${step.branch} ${step.to} ${step.from} (only if the branch is still at ${step.from})`;
    case 'dropRef':
      return `git -C ${step.repositoryPath} update-ref -d ${step.ref} ${step.sha}${created(step.ref, step.createdBy)}`;
    case 'restoreBranch':
      return `git -C ${step.repositoryPath} update-ref refs/heads/${step.name} ${step.sha} "" (unless the branch exists)`;
    case 'releaseWorkspace':
      return `git -C ${step.workspace.repositoryPath} worktree remove --force ${step.workspace.worktreePath} (after saving anything in it you still need)`;
  }
}

/** One change's journal file; it exists from the first step until the change's outcome is settled. */
export class JournalFile {
  readonly record: JournalRecord;
  constructor(
    private readonly dir: string,
    what: string,
  ) {
    this.record = { id: crypto.randomUUID(), what, startedAt: new Date().toISOString(), tasks: {}, steps: [] };
  }

  /** Named with the writer's pid, so recovery leaves the journals of a live server alone. */
  get path(): string {
    return path.join(this.dir, `${this.record.id}.${process.pid}.json`);
  }

  get hasSteps(): boolean {
    return this.record.steps.length > 0;
  }

  /** Appends a step's undo and makes it durable before the step runs. */
  append(taskId: string, step: UndoStep): void {
    this.record.steps.push({ taskId, undo: step });
    writeDurably(this.dir, this.path, JSON.stringify(this.record));
  }

  remove(): void {
    if (this.hasSteps) fs.rmSync(this.path, { force: true });
  }
}

/** Writes `file` so that after a crash it holds either its old content or the new, never a torn one. */
export function writeDurably(dir: string, file: string, content: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  const dirFd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(dirFd);
  } finally {
    fs.closeSync(dirFd);
  }
}

/**
 * The journals left by changes that did not finish, each claimed by renaming it (so that two
 * servers sharing a data directory never recover one twice). Bounded: only unfinished changes
 * leave a file. The records of pushes under way (push-record.ts) are named and claimed the same way.
 */
export interface ClaimedJournal<R = JournalRecord> {
  record: R;
  /** The file as claimed. */
  file: string;
  /** The change is settled: the journal goes. */
  release: () => void;
  /** Its undo failed: the journal moves to `failed/` (so later starts do not retry it forever); returns the new path. */
  moveAside: () => string;
}

export function claimLeftoverJournals<R = JournalRecord>(dir: string): ClaimedJournal<R>[] {
  if (!fs.existsSync(dir)) return [];
  const claimed: ClaimedJournal<R>[] = [];
  for (const name of fs.readdirSync(dir)) {
    const file = path.join(dir, name);
    if (name.endsWith('.tmp')) {
      fs.rmSync(file, { force: true }); // a journal write that never completed: its step never ran
      continue;
    }
    // <id>.<writer pid>.json, or <id>.<writer pid>.json.recovering-<pid> for a recovery under way:
    // only a dead process's journal is claimed (a live server's change is still running).
    const match = /^([0-9a-f-]+)\.(\d+)\.json(?:\.recovering-(\d+))?$/.exec(name);
    if (!match) continue;
    const owner = Number(match[3] ?? match[2]);
    if (owner === process.pid || isAlive(owner)) continue;
    const mine = path.join(dir, `${match[1]}.${match[2]}.json.recovering-${process.pid}`);
    try {
      fs.renameSync(file, mine);
    } catch {
      continue; // another server claimed it first
    }
    const failed = path.join(dir, 'failed', `${match[1]}.json`);
    claimed.push({
      record: JSON.parse(fs.readFileSync(mine, 'utf8')) as R,
      file: mine,
      release: () => fs.rmSync(mine, { force: true }),
      moveAside: () => {
        fs.mkdirSync(path.dirname(failed), { recursive: true });
        fs.renameSync(mine, failed);
        return failed;
      },
    });
  }
  return claimed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
