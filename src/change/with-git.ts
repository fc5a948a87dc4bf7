// The one way to run a change that also moves git (docs/design.md §9). Every git step goes through
// a GitSession, which first writes how to undo it to the change's journal on disk (git/journal.ts);
// the database part runs in one change(), which also inserts the change's commit marker.
// - The change fails before its commit: the steps are undone last-first while the task rows are
//   still locked.
// - The commit itself fails: the touched tasks are locked again and the steps undone unless the
//   commit marker shows that the change committed after all.
// - The process dies anywhere: at the next start, recoverGitChanges finds the journal, and the
//   marker decides — committed: nothing to undo; not committed: the steps are undone and each
//   task gets a TASK/recovered event. So a worktree never disagrees with the database.
import fs from 'node:fs';
import type { AppContext } from '../context.js';
import { change, type RecordEvent, type Tx } from '../db/change.js';
import { transaction } from '../db/transaction.js';
import { GitError } from '../errors.js';
import { claimLeftoverJournals, JournalFile, lockScope, manualUndo, undo, withTrailers, type Git, type JournalRecord, type UndoStep, type Workspace, type WorktreeCommit } from '../git/index.js';
import { historyEvent } from './catalogue.js';

/** The git side of one change: reads go to the seam (`git`), moves are journaled with their undo. */
export class GitSession {
  readonly journal: JournalFile;

  constructor(
    private readonly ctx: AppContext,
    what: string,
  ) {
    this.journal = new JournalFile(ctx.config.gitJournalDir, what);
  }

  get git(): Git {
    return this.ctx.git;
  }

  /** Where tasks' server worktrees go (a branchless task's is named when it gets its branch). */
  get worktreesDir(): string {
    return this.ctx.config.worktreesDir;
  }

  /** Declares a task whose git the change moves (before its first step). */
  touch(task: { id: string; ownerId: string; contractId: string | null }, created = false): void {
    this.journal.record.tasks[task.id] ??= { ownerId: task.ownerId, contractId: task.contractId, created };
  }

  private async step<T>(taskId: string, name: string, undoStep: UndoStep, run: () => Promise<T>): Promise<T> {
    if (!this.journal.record.tasks[taskId]) throw new Error(`git step "${name}" on task ${taskId}, which the change did not touch()`);
    this.journal.append(taskId, undoStep);
    crashPoint(this.ctx, `${this.journal.record.what}:before:${name}`);
    refusalPoint(this.ctx, `${this.journal.record.what}:${name}`);
    const result = await run();
    crashPoint(this.ctx, `${this.journal.record.what}:after:${name}`);
    return result;
  }

  /** The change's id: written in the reflog of every ref it creates, so its undo removes only those (docs/design.md §9). */
  private get id(): string {
    return this.journal.record.id;
  }

  addWorkspace(taskId: string, workspace: Workspace, commit: string): Promise<void> {
    return this.step(taskId, 'addWorkspace', { op: 'removeWorkspace', workspace, createdBy: this.id }, () => this.git.addWorkspace(workspace, commit, this.id));
  }

  async commitWorkspace(taskId: string, workspace: Workspace, message: string, options?: { saving?: boolean }): Promise<WorktreeCommit> {
    // A save of a worktree nobody touched (the usual backup) changes nothing, so it needs no journal step.
    const unchanged = options?.saving === true ? await this.git.unchangedHead(workspace) : null;
    if (unchanged) return { sha: unchanged, previousHead: unchanged, created: false };
    const previousHead = await this.git.workspaceHead(workspace);
    // The commit names its task and contract in git trailers (git log explains it); the message kept in the database does not.
    const full = withTrailers(message, taskId, this.journal.record.tasks[taskId]?.contractId ?? null);
    if (!previousHead) return this.git.commitWorkspace(workspace, full, options); // fails with what to do
    // What is staged now, so that the undo gives the index back exactly (the commit stages everything).
    // An index git cannot write as a tree (a merge with conflicts) is committed as before; its undo
    // then only unstages.
    const stagedTree = await this.git.stagedTree(workspace).catch(() => undefined);
    return this.step(taskId, 'commitWorkspace', { op: 'undoCommit', workspace, previousHead, stagedTree }, () => this.git.commitWorkspace(workspace, full, options));
  }

  protectCheckpoint(taskId: string, repositoryPath: string, number: number, sha: string): Promise<void> {
    return this.step(taskId, 'protectCheckpoint', { op: 'unprotectCheckpoint', repositoryPath, taskId, number, sha, createdBy: this.id }, () =>
      this.git.protectCheckpoint(repositoryPath, taskId, number, sha, this.id),
    );
  }

  /** Moves a workspace whose state is all committed at `from` (e.g. just saved as a backup) to `sha`. */
  checkout(taskId: string, workspace: Workspace, from: string, sha: string): Promise<void> {
    return this.step(taskId, 'checkout', { op: 'checkout', workspace, sha: from }, () => this.git.checkout(workspace, sha));
  }

  /** Removes a workspace (worktree and branch) whose state is all committed at `sha` (archiveTask). */
  removeWorkspace(taskId: string, workspace: Workspace, sha: string): Promise<void> {
    return this.step(taskId, 'removeWorkspace', { op: 'restoreWorkspace', workspace, sha }, () => this.git.removeWorkspace(workspace));
  }

  protectArchive(taskId: string, repositoryPath: string, sha: string): Promise<void> {
    return this.step(taskId, 'protectArchive', { op: 'unprotectArchive', repositoryPath, taskId, sha, createdBy: this.id }, () =>
      this.git.protectArchive(repositoryPath, taskId, sha, this.id),
    );
  }

  createBranch(taskId: string, repositoryPath: string, name: string, sha: string): Promise<void> {
    return this.step(taskId, 'createBranch', { op: 'deleteBranch', repositoryPath, name, sha, createdBy: this.id }, () =>
      this.git.createBranch(repositoryPath, name, sha, this.id),
    );
  }

  // The mesh (docs/design.md §11): a task whose code lives in its branch of the repository.

  /** Moves a branch that no worktree has checked out from `from` to `to` (compare-and-swap). */
  moveBranch(taskId: string, repositoryPath: string, branch: string, from: string, to: string): Promise<void> {
    return this.step(taskId, 'moveBranch', { op: 'moveBranch', repositoryPath, branch, from: to, to: from }, () => this.git.moveBranch(repositoryPath, branch, from, to));
  }

  /** Keeps a commit under a ref of its own (created, never overwritten). */
  keepCommit(taskId: string, repositoryPath: string, ref: string, sha: string): Promise<void> {
    return this.step(taskId, 'keepCommit', { op: 'dropRef', repositoryPath, ref, sha, createdBy: this.id }, () => this.git.keepCommit(repositoryPath, ref, sha, this.id));
  }

  /** Removes a task's server worktree, keeping its branch; everything in it is committed at `sha`. */
  releaseWorkspace(taskId: string, workspace: Workspace, sha: string): Promise<void> {
    return this.step(taskId, 'releaseWorkspace', { op: 'restoreWorkspace', workspace, sha }, () => this.git.releaseWorkspace(workspace));
  }

  /** Materialises a task's server worktree on its existing branch (at `sha`). */
  materialiseWorkspace(taskId: string, workspace: Workspace, sha: string): Promise<void> {
    return this.step(taskId, 'materialiseWorkspace', { op: 'releaseWorkspace', workspace }, () => this.git.restoreWorkspace(workspace, sha));
  }

  /** Removes a branch no worktree has checked out (archiving a task whose code is in refs); it is at `sha`. */
  deleteBranch(taskId: string, repositoryPath: string, name: string, sha: string): Promise<void> {
    return this.step(taskId, 'deleteBranch', { op: 'restoreBranch', repositoryPath, name, sha }, () => this.git.deleteBranch(repositoryPath, name, sha));
  }

  /** Undoes every step, last first; a failing undo is logged (and the journal kept for the next start). */
  async rollback(): Promise<void> {
    if ((await undoSteps(this.ctx, this.journal.record)).length === 0) this.journal.remove();
  }
}

interface FailedUndo {
  taskId: string;
  step: UndoStep;
  error: string;
}

/** Undoes a journal's steps last first; returns those that could not be undone. */
async function undoSteps(ctx: AppContext, record: JournalRecord): Promise<FailedUndo[]> {
  const failed: FailedUndo[] = [];
  for (const { taskId, undo: step } of [...record.steps].reverse()) {
    try {
      await undo(ctx.git, step);
    } catch (err) {
      failed.push({ taskId, step, error: err instanceof Error ? err.message.split('\n')[0] : String(err) });
      // The original failure is what the client must see; this one is for the operator.
      ctx.logger.error({ err, taskId, step: step.op, journal: record.id }, 'could not undo a git step of a failed change');
    }
  }
  return failed;
}

export interface GitChange {
  tx: Tx;
  record: RecordEvent;
  git: GitSession;
}

/** Runs `fn` as one change whose git steps (through `change.git`) are undone unless it commits. */
export async function changeWithGit<T>(ctx: AppContext, what: string, fn: (change: GitChange) => Promise<T>): Promise<T> {
  const session = new GitSession(ctx, what);
  let ranToEnd = false;
  try {
    const result = await change(ctx.prisma, async (tx, record) => {
      try {
        const value = await fn({ tx, record, git: session });
        if (session.journal.hasSteps) await tx.gitChangeCommit.create({ data: { id: session.journal.record.id } });
        ranToEnd = true;
        crashPoint(ctx, `${what}:before-commit`);
        return value;
      } catch (err) {
        await session.rollback();
        throw err;
      }
    });
    crashPoint(ctx, `${what}:after-commit`);
    await settle(ctx, session.journal);
    return result;
  } catch (err) {
    if (ranToEnd && session.journal.hasSteps) await resolveUnknownCommit(ctx, session, err);
    throw err;
  }
}

/** After a commit: the journal is no longer needed, nor its marker. */
async function settle(ctx: AppContext, journal: JournalFile): Promise<void> {
  if (!journal.hasSteps) return;
  journal.remove();
  await ctx.prisma.gitChangeCommit.deleteMany({ where: { id: journal.record.id } }).catch((err: unknown) => {
    ctx.logger.warn({ err, journal: journal.record.id }, 'could not remove the commit marker of a change (harmless; removed at the next start)');
  });
}

/** The commit failed: undo the steps unless the marker shows that the change committed after all. */
async function resolveUnknownCommit(ctx: AppContext, session: GitSession, cause: unknown): Promise<void> {
  const record = session.journal.record;
  const committed = await transaction(ctx.prisma, async (tx) => {
    await lockTasks(tx, Object.keys(record.tasks)); // waits out a commit that may still be in flight
    if (await tx.gitChangeCommit.findUnique({ where: { id: record.id } })) return true;
    await session.rollback();
    return false;
  });
  if (!committed) return;
  ctx.logger.error({ err: cause, journal: record.id }, 'a change reported a failed commit but did commit; its git steps stay');
  await settle(ctx, session.journal);
}

/** Locks the rows of those of `taskIds` that exist (in id order) and returns their ids. */
async function lockTasks(tx: Tx, taskIds: string[]): Promise<string[]> {
  if (taskIds.length === 0) return [];
  const rows = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM tasks WHERE id = ANY(${taskIds}::uuid[]) ORDER BY id FOR UPDATE`;
  return rows.map((r) => r.id);
}

/**
 * At start, before serving: settles every change that died mid-way (its journal is still on disk).
 * A committed one only loses its journal; one that did not commit is rolled back, with a
 * TASK/recovered event for each task that still exists. Returns how many were rolled back.
 */
export async function recoverGitChanges(ctx: AppContext): Promise<number> {
  let rolledBack = 0;
  await ctx.prisma.gitChangeCommit.deleteMany({ where: { committedAt: { lt: new Date(Date.now() - 24 * 3600_000) } } });
  for (const { record, release, moveAside } of claimLeftoverJournals(ctx.config.gitJournalDir)) {
    const committed = await ctx.prisma.gitChangeCommit.findUnique({ where: { id: record.id } });
    if (committed) {
      ctx.logger.info({ journal: record.id, change: record.what }, 'a change that moved git had committed before the server stopped; nothing to undo');
      await ctx.prisma.gitChangeCommit.deleteMany({ where: { id: record.id } });
      release();
      continue;
    }
    let failed: FailedUndo[] = [];
    await change(ctx.prisma, async (tx, recordEvent) => {
      const existing = await lockTasks(tx, Object.keys(record.tasks));
      await clearDeadLocks(ctx, record);
      failed = await undoSteps(ctx, record);
      for (const id of existing) {
        const task = record.tasks[id];
        recordEvent(
          historyEvent({ ownerId: task.ownerId, contractId: task.contractId, taskId: id }, 'TASK', 'recovered', {
            change: record.what,
            startedAt: record.startedAt,
            undone: record.steps.filter((s) => s.taskId === id).map((s) => s.undo.op).reverse(),
            journalId: record.id,
          }),
        );
      }
      return existing.length ? existing : null;
    });
    if (failed.length === 0) {
      ctx.logger.warn({ journal: record.id, change: record.what, tasks: Object.keys(record.tasks) }, 'rolled back a change that moved git and did not commit before the server stopped');
      release();
    } else {
      reportFailedJournal(ctx, record, failed, moveAside());
    }
    rolledBack++;
  }
  return rolledBack;
}

/**
 * Before recovery undoes a dead server's change: git's own lock files that its killed git commands
 * left where the steps worked (an index.lock in the task's worktree, a ref's lock), which would make
 * every undo fail with "File exists". Safe because the server that wrote the journal is gone — only
 * a dead process's journal is claimed, and with the embedded database the data-directory lock
 * proves it too — and git/locks.ts also waits out any git process still working there.
 */
async function clearDeadLocks(ctx: AppContext, record: JournalRecord): Promise<void> {
  for (const { undo: step } of record.steps) {
    const removed = await ctx.git.clearDeadLocks(lockScope(step)).catch((err: unknown) => {
      ctx.logger.warn({ err, journal: record.id }, 'could not clear the git locks left by a stopped server');
      return [];
    });
    if (removed.length) ctx.logger.warn({ journal: record.id, change: record.what, removed }, "removed git's lock files left by the stopped server");
  }
}

/**
 * A journal whose undo failed at the start after its change died: reported once, with what failed
 * and what an operator runs by hand, and moved to git-journal/failed/ so that no later start
 * retries it forever (docs/operations.md, "A change recovery could not undo").
 */
function reportFailedJournal(ctx: AppContext, record: JournalRecord, failed: FailedUndo[], keptAt: string): void {
  const steps = failed.map((f) => ({ task: f.taskId, step: f.step.op, error: f.error, byHand: manualUndo(f.step) }));
  ctx.logger.error(
    { journal: record.id, change: record.what, startedAt: record.startedAt, failed: steps, keptAt },
    `could not undo ${failed.length} git step(s) of the change "${record.what}" that the stopped server left unfinished. ` +
      `The journal was moved to ${keptAt} and will not be retried. What to do: for each failed step, fix what its error ` +
      'names, run its "byHand" command, check the task with "git status" in its worktree, then delete the journal file.',
  );
}

/**
 * Tests only (MAKIMA_TEST_CRASH_FILE): when the file names this point, the server kills itself
 * with SIGKILL right here, so the fault-injection suite can stop a change at every step.
 */
function crashPoint(ctx: AppContext, point: string): void {
  if (!testPointIs(ctx, point)) return;
  process.kill(process.pid, 'SIGKILL');
}

/**
 * Tests only: when the file names `refuse:<change>:<step>`, that step fails right where git
 * refuses a step (a lock held, a ref that exists) — journaled, not run — so the fault suite can
 * check that the undo of a step that never ran changes nothing.
 */
function refusalPoint(ctx: AppContext, point: string): void {
  if (testPointIs(ctx, `refuse:${point}`)) throw new GitError(`test: the step ${point} was refused before it ran`);
}

function testPointIs(ctx: AppContext, point: string): boolean {
  const file = ctx.config.testCrashFile;
  if (!file || !fs.existsSync(file) || fs.readFileSync(file, 'utf8').trim() !== point) return false;
  fs.rmSync(file, { force: true });
  return true;
}
