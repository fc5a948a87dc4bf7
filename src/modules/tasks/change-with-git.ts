// The one way to run a change that also moves git (docs/design.md §9). Every git step goes
// through a GitSession, which journals how to undo it; the database part runs in one change().
// If the change fails before its commit, the steps are undone last-first while the task rows are
// still locked. If the commit itself fails, each touched task is locked again and its steps are
// undone only if the task's version shows that the change did not commit (for a task the change
// created: its row does not exist) — so a worktree never disagrees with the database.
import type { AppContext } from '../../context.js';
import { change, type RecordEvent, type Tx } from '../../db/change.js';
import type { Git, Workspace, WorktreeCommit } from '../../git/index.js';

interface Step {
  taskId: string;
  what: string;
  undo: () => Promise<void>;
}

/** The git side of one change: reads pass through, moves are journaled with their undo. */
export class GitSession {
  private steps: Step[] = [];
  /** The version each touched task had when the change began (null: the change creates it). */
  private readonly versions = new Map<string, number | null>();

  constructor(readonly git: Git) {}

  /** Declares that the change moves the git of `task` (at its locked version; null for a new task). */
  touch(taskId: string, version: number | null): void {
    if (!this.versions.has(taskId)) this.versions.set(taskId, version);
  }

  private journal(taskId: string, what: string, undo: () => Promise<void>): void {
    if (!this.versions.has(taskId)) throw new Error(`git step "${what}" on task ${taskId}, which the change did not touch()`);
    this.steps.push({ taskId, what, undo });
  }

  async addWorkspace(taskId: string, workspace: Workspace, commit: string): Promise<void> {
    await this.git.addWorkspace(workspace, commit);
    this.journal(taskId, 'add workspace', () => this.git.removeWorkspace(workspace));
  }

  async commitWorkspace(taskId: string, workspace: Workspace, message: string): Promise<WorktreeCommit> {
    const commit = await this.git.commitWorkspace(workspace, message);
    this.journal(taskId, 'commit workspace', () => this.git.undoCommit(workspace, commit));
    return commit;
  }

  async protectCheckpoint(taskId: string, repositoryPath: string, number: number, sha: string): Promise<void> {
    await this.git.protectCheckpoint(repositoryPath, taskId, number, sha);
    this.journal(taskId, 'protect checkpoint', () => this.git.unprotectCheckpoint(repositoryPath, taskId, number));
  }

  /** Moves a workspace whose state is all committed (e.g. just saved as a backup) to `sha`. */
  async checkout(taskId: string, workspace: Workspace, from: string, sha: string): Promise<void> {
    this.journal(taskId, 'checkout', () => this.git.checkout(workspace, from));
    await this.git.checkout(workspace, sha);
  }

  async createBranch(taskId: string, repositoryPath: string, name: string, sha: string): Promise<void> {
    await this.git.createBranch(repositoryPath, name, sha);
    this.journal(taskId, 'create branch', () => this.git.deleteBranch(repositoryPath, name, sha));
  }

  get pending(): boolean {
    return this.steps.length > 0;
  }

  /** Undoes the steps of the tasks `which` accepts, last first; a failing undo is logged, not thrown. */
  async undo(ctx: AppContext, which: (taskId: string) => boolean = () => true): Promise<void> {
    const undone = this.steps.filter((s) => which(s.taskId)).reverse();
    this.steps = this.steps.filter((s) => !which(s.taskId));
    for (const step of undone) {
      try {
        await step.undo();
      } catch (err) {
        // The original failure is what the client must see; this one is for the operator.
        ctx.logger.error({ err, taskId: step.taskId, step: step.what }, 'could not undo a git step after a failed change');
      }
    }
  }

  /** After a failed commit: undoes the steps of each task whose row shows the change did not commit. */
  async undoUncommitted(ctx: AppContext, cause: unknown): Promise<void> {
    await ctx.prisma.$transaction(
      async (tx) => {
        for (const [taskId, version] of this.versions) {
          const rows = await tx.$queryRaw<{ version: number }[]>`SELECT version FROM tasks WHERE id = ${taskId}::uuid FOR UPDATE`;
          const committed = version === null ? rows.length > 0 : rows[0]?.version !== version;
          if (!committed) await this.undo(ctx, (id) => id === taskId);
          else ctx.logger.error({ taskId, err: cause }, 'a change failed at commit after its task changed; its worktree was left as the database says');
        }
      },
      { timeout: 60_000, maxWait: 30_000 },
    );
  }
}

export interface GitChange {
  tx: Tx;
  record: RecordEvent;
  git: GitSession;
}

/** Runs `fn` as one change whose git steps (through `change.git`) are undone if it does not commit. */
export async function changeWithGit<T>(ctx: AppContext, fn: (change: GitChange) => Promise<T>): Promise<T> {
  const session = new GitSession(ctx.git);
  let ranToEnd = false;
  try {
    return await change(ctx.prisma, async (tx, record) => {
      try {
        const result = await fn({ tx, record, git: session });
        ranToEnd = true;
        return result;
      } catch (err) {
        await session.undo(ctx);
        throw err;
      }
    });
  } catch (err) {
    if (ranToEnd && session.pending) await session.undoUncommitted(ctx, err);
    throw err;
  }
}
