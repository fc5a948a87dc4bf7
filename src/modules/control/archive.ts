// Archiving (docs/api.md, "Cancel and archive"): a finished task's worktree and `makima/*` branch are
// removed — after any uncommitted work in the worktree is committed — while its checkpoints stay
// under refs/makima/checkpoints/ and its last commit under refs/makima/archived/<task>, so it can
// still be forked or branched from, and every event and message stays readable. A change that
// moves git: journaled through changeWithGit, so a crash mid-way is rolled back at the next start.
import type { AppContext, ServiceContext } from '../../context.js';
import type { Tx } from '../../db/change.js';
import { ConflictError } from '../../errors.js';
import { repeatEvery } from '../../lib/repeat.js';
import type { Contract, Task } from '../../generated/prisma/client.js';
import { aboutTask, historyEvent } from '../../change/catalogue.js';
import { findOwnContract } from '../contracts/index.js';
import { assertNotHeldByWorker, lockTask } from '../../change/access.js';
import { changeWithGit, type GitChange } from '../../change/with-git.js';
import { currentHead, repositoryOf, settleBranch, workspaceOf } from '../tasks/index.js';

/** Statuses a task may be archived in: nothing runs it, and nothing will claim it. */
const ARCHIVABLE = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'INTERRUPTED']);

/** CONFLICT unless the locked task may be archived now. */
async function assertArchivable(tx: Tx, task: Task): Promise<void> {
  if (task.archivedAt) throw new ConflictError(`task ${task.id} was already archived at ${task.archivedAt.toISOString()}`, { archivedAt: task.archivedAt.toISOString() });
  if (task.status === 'RUNNING') {
    await assertNotHeldByWorker(tx, task, 'archived');
    throw new ConflictError(`task ${task.id} is RUNNING (its lease lapsed and is about to be recorded); try again in a moment`, { status: task.status });
  }
  if (!ARCHIVABLE.has(task.status)) {
    throw new ConflictError(`task ${task.id} is ${task.status}: a worker may claim it; cancel it first (makima task cancel ${task.id})`, { status: task.status });
  }
}

/**
 * Archives one locked task as part of `change`: commits what the worktree still holds, keeps the
 * last commit under refs/makima/archived/, removes the worktree and branch, records TASK/archived.
 */
async function archiveLockedTask(ctx: AppContext, change: GitChange, task: Task, retention: boolean): Promise<Task> {
  change.git.touch(task);
  let head = task.headCommit;
  let workspace: Awaited<ReturnType<typeof workspaceOf>> | null = null;
  if (task.codeInRefs && task.worktreePath && task.branch && head) {
    // Its code lives in its branch (docs/design.md §11): no worktree to commit or remove, only the branch.
    workspace = await workspaceOf(change.tx, task);
    await settleBranch(change, task, workspace);
    await change.git.protectArchive(task.id, workspace.repositoryPath, head);
    await change.git.deleteBranch(task.id, workspace.repositoryPath, workspace.branch, head);
  } else if (task.codeInRefs && !task.branch && head && task.contractId) {
    // A branchless task (an imported or captured session, §12): only its head to keep.
    await change.git.protectArchive(task.id, await repositoryOf(change.tx, task), head);
  } else if (task.worktreePath && task.branch) {
    workspace = await workspaceOf(change.tx, task);
    if (await ctx.git.workspaceHead(workspace)) {
      await ctx.git.assertOnBranch(workspace);
      head = (await change.git.commitWorkspace(task.id, workspace, `makima: archive task "${task.name}" (uncommitted work at archive time)`, { saving: true })).sha;
    } else {
      head = await currentHead(ctx, task);
    }
  }
  if (workspace && head && !task.codeInRefs) {
    await change.git.protectArchive(task.id, workspace.repositoryPath, head);
    await change.git.removeWorkspace(task.id, workspace, head);
  }
  const archived = await change.tx.task.update({
    where: { id: task.id },
    data: { archivedAt: new Date(), worktreePath: null, branch: null, headCommit: head, version: { increment: 1 } },
  });
  change.record(
    historyEvent(aboutTask(task), 'TASK', 'archived', { branch: task.branch, worktreePath: task.worktreePath, headCommit: head, retention }),
  );
  return archived;
}

export async function archiveTask(ctx: ServiceContext, input: { taskId: string }): Promise<Task> {
  return changeWithGit(ctx, 'archive task', async (change) => {
    const task = await lockTask(change.tx, ctx.viewer, input.taskId);
    await assertArchivable(change.tx, task);
    return archiveLockedTask(ctx, change, task, false);
  });
}

/**
 * Archives a contract: every one of its tasks (its supervisor included) that is not archived yet,
 * in one change. CONFLICT, with nothing changed, while any of them is PENDING or RUNNING.
 */
export async function archiveContract(ctx: ServiceContext, input: { contractId: string }): Promise<Contract> {
  const contract = await findOwnContract(ctx.prisma, ctx.viewer, input.contractId);
  if (contract.archivedAt) throw new ConflictError(`contract ${contract.id} was already archived at ${contract.archivedAt.toISOString()}`);
  return changeWithGit(ctx, 'archive contract', async (change) => {
    // The contract's row first, FOR UPDATE: a createTask in flight (it holds the row FOR SHARE)
    // commits before this reads the tasks, and one that comes later sees the archive (lockOpenContract).
    const [row] = await change.tx.$queryRaw<{ archived_at: Date | null }[]>`SELECT archived_at FROM contracts WHERE id = ${contract.id}::uuid FOR UPDATE`;
    if (row?.archived_at) throw new ConflictError(`contract ${contract.id} was already archived at ${row.archived_at.toISOString()}`);
    const ids = await change.tx.task.findMany({ where: { contractId: contract.id, archivedAt: null }, orderBy: { id: 'asc' }, select: { id: true } });
    const tasks: Task[] = [];
    for (const { id } of ids) tasks.push(await lockTask(change.tx, ctx.viewer, id));
    for (const task of tasks) {
      // The supervisor waits PENDING for a worker unless someone ran it: it is the contract's, and goes with it.
      if (task.isSupervisor && task.status === 'PENDING') continue;
      try {
        await assertArchivable(change.tx, task);
      } catch (err) {
        if (err instanceof ConflictError) throw new ConflictError(`cannot archive contract ${contract.id}: ${err.message}`, { taskId: task.id, status: task.status });
        throw err;
      }
    }
    for (let task of tasks) {
      if (task.isSupervisor && task.status === 'PENDING') {
        task = await change.tx.task.update({ where: { id: task.id }, data: { status: 'CANCELLED', cancelReason: 'contract archived', pendingReason: null, version: { increment: 1 } } });
        change.record(historyEvent(aboutTask(task), 'TASK', 'cancelled', { from: 'PENDING', to: 'CANCELLED', reason: 'contract archived', workerId: null, detectedBy: 'archive contract' }));
      }
      await archiveLockedTask(ctx, change, task, false);
    }
    const archived = await change.tx.contract.update({ where: { id: contract.id }, data: { archivedAt: new Date() } });
    change.record(historyEvent({ ownerId: contract.ownerId, contractId: contract.id }, 'PHASE', 'archived', { tasks: tasks.length, retention: false }));
    return archived;
  });
}

/**
 * The retention: archives the finished tasks (COMPLETED, FAILED, CANCELLED) of every user that
 * nothing changed for MAKIMA_ARCHIVE_AFTER_DAYS, one change each. Several instances may run it at
 * once: a task another instance archived meanwhile is skipped. Returns the ids archived.
 */
export async function archiveExpiredTasks(app: AppContext, limit = 100): Promise<string[]> {
  if (app.config.archiveAfterDays <= 0) return [];
  const before = new Date(Date.now() - app.config.archiveAfterDays * 86_400_000);
  const due = await app.prisma.task.findMany({
    where: { archivedAt: null, isSupervisor: false, status: { in: ['COMPLETED', 'FAILED', 'CANCELLED'] }, updatedAt: { lt: before } },
    orderBy: { updatedAt: 'asc' },
    take: limit,
    select: { id: true, ownerId: true },
  });
  const archived: string[] = [];
  for (const { id, ownerId } of due) {
    const done = await changeWithGit(app, 'archive task (retention)', async (change) => {
      const rows = await change.tx.$queryRaw<{ id: string }[]>`SELECT id FROM tasks WHERE id = ${id}::uuid AND owner_id = ${ownerId}::uuid AND archived_at IS NULL FOR UPDATE`;
      if (rows.length === 0) return null;
      const task = await change.tx.task.findUniqueOrThrow({ where: { id } });
      if (task.updatedAt >= before || !ARCHIVABLE.has(task.status)) return null;
      return archiveLockedTask(app, change, task, true);
    }).catch((err: unknown) => {
      app.logger.warn({ err, taskId: id }, 'the retention could not archive a task; it is tried again at the next sweep');
      return null;
    });
    if (done) archived.push(done.id);
  }
  return archived;
}

/** Runs the retention every MAKIMA_ARCHIVE_SWEEP_MS while MAKIMA_ARCHIVE_AFTER_DAYS is set; returns its stop. */
export function startArchiveRetention(app: AppContext): () => Promise<void> {
  if (app.config.archiveAfterDays <= 0) return async () => {};
  return repeatEvery(
    app.config.archiveSweepMs,
    async () => {
      const ids = await archiveExpiredTasks(app);
      if (ids.length) app.logger.info({ tasks: ids, afterDays: app.config.archiveAfterDays }, 'archived finished tasks (retention)');
    },
    (err) => app.logger.error({ err }, 'archive retention failed'),
  );
}
