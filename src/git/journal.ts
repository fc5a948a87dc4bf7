// The write-ahead journal of a change that moves git (docs/design.md §9): before each git step,
// how to undo it is written to a file on this server's disk (atomically, then fsync'd), so a
// change that dies mid-way — even by SIGKILL — can be rolled back at the next start. Every undo
// is idempotent: it may run after its step, after half of it, or without the step having run.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Git, Workspace } from './seam.js';

export type UndoStep =
  | { op: 'removeWorkspace'; workspace: Workspace }
  | { op: 'undoCommit'; workspace: Workspace; previousHead: string }
  | { op: 'unprotectCheckpoint'; repositoryPath: string; taskId: string; number: number; sha: string }
  | { op: 'checkout'; workspace: Workspace; sha: string }
  | { op: 'deleteBranch'; repositoryPath: string; name: string; sha: string }
  | { op: 'restoreWorkspace'; workspace: Workspace; sha: string }
  | { op: 'unprotectArchive'; repositoryPath: string; taskId: string; sha: string }
  | { op: 'moveBranch'; repositoryPath: string; branch: string; from: string; to: string }
  | { op: 'dropRef'; repositoryPath: string; ref: string; sha: string }
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
      return git.removeWorkspace(step.workspace);
    case 'undoCommit':
      return git.undoCommit(step.workspace, step.previousHead);
    case 'unprotectCheckpoint':
      return git.unprotectCheckpoint(step.repositoryPath, step.taskId, step.number, step.sha);
    case 'checkout':
      return git.checkout(step.workspace, step.sha);
    case 'deleteBranch':
      return git.deleteBranch(step.repositoryPath, step.name, step.sha);
    case 'restoreWorkspace':
      return git.restoreWorkspace(step.workspace, step.sha);
    case 'unprotectArchive':
      return git.unprotectArchive(step.repositoryPath, step.taskId, step.sha);
    case 'moveBranch':
      return git.moveBranch(step.repositoryPath, step.branch, step.from, step.to);
    case 'dropRef':
      return git.dropRef(step.repositoryPath, step.ref, step.sha);
    case 'restoreBranch':
      return git.restoreBranch(step.repositoryPath, step.name, step.sha);
    case 'releaseWorkspace':
      return git.releaseWorkspace(step.workspace);
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
function writeDurably(dir: string, file: string, content: string): void {
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
 * leave a file.
 */
export function claimLeftoverJournals(dir: string): { record: JournalRecord; release: () => void }[] {
  if (!fs.existsSync(dir)) return [];
  const claimed: { record: JournalRecord; release: () => void }[] = [];
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
    claimed.push({ record: JSON.parse(fs.readFileSync(mine, 'utf8')) as JournalRecord, release: () => fs.rmSync(mine, { force: true }) });
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
