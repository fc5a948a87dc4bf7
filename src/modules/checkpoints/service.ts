// Checkpoints (DESIGN §3, §4): a commit of a task's whole worktree, numbered per task, linked both
// ways to a CHECKPOINT conversation snapshot, kept safe from gc by its own ref; diffs between them;
// and the one transaction shape every git-moving change here uses.
import type { AppContext, Viewer } from '../../context.js';
import { change, type RecordEvent, type Tx } from '../../db/change.js';
import { BadInputError, GitError, NotFoundError } from '../../errors.js';
import type { Prisma, PrismaClient, Task, TaskCheckpoint } from '../../generated/prisma/client.js';
import {
  assertWorktreeOnBranch,
  changedFiles,
  checkpointsInHistoryOf,
  commitWorktree,
  diffPatch,
  protectCheckpoint,
  undoCommit,
  unprotectCheckpoint,
  type FileChange,
  type WorktreeCommit,
} from '../../git/checkpoints.js';
import { snapshotHead } from '../conversation/service.js';
import { lockTask } from '../tasks/service.js';
import { assertHeldBy } from '../mesh/lease.js';

export const MAX_CHECKPOINT_MESSAGE_LENGTH = 10_000;
/** Patches longer than this are cut (at a line end) and marked `truncated`. */
export const MAX_PATCH_BYTES = 256 * 1024;
/** FILE/changed events list at most this many paths (the checkpoint row keeps them all). */
const MAX_EVENT_PATHS = 1000;

type Db = Tx | PrismaClient;

export function assertCheckpointMessage(message: string): string {
  const trimmed = message.trim();
  if (!trimmed) throw new BadInputError('message must not be empty', 'message');
  if (trimmed.length > MAX_CHECKPOINT_MESSAGE_LENGTH) {
    throw new BadInputError(`message is longer than ${MAX_CHECKPOINT_MESSAGE_LENGTH} characters`, 'message');
  }
  if (trimmed.includes('\0')) throw new BadInputError('message must not contain NUL characters', 'message');
  return trimmed;
}

/** The viewer's checkpoint, or NOT_FOUND (another user's is indistinguishable from a missing one). */
export async function findOwnCheckpoint(db: Db, viewer: Viewer, checkpointId: string): Promise<TaskCheckpoint> {
  const checkpoint = await db.taskCheckpoint.findFirst({ where: { id: checkpointId, task: { ownerId: viewer.id } } });
  if (!checkpoint) throw new NotFoundError('checkpoint', checkpointId);
  return checkpoint;
}

/** A checkpoint of `task` itself; one of the viewer's other tasks is a BAD_USER_INPUT saying so. */
export async function checkpointOfTask(db: Db, viewer: Viewer, task: Task, checkpointId: string): Promise<TaskCheckpoint> {
  const checkpoint = await findOwnCheckpoint(db, viewer, checkpointId);
  if (checkpoint.taskId !== task.id) {
    throw new BadInputError(`checkpoint ${checkpointId} belongs to task ${checkpoint.taskId}, not to task ${task.id}`, 'checkpointId');
  }
  return checkpoint;
}

/** The repository a task's worktree belongs to (its contract's). */
export async function repositoryOf(db: Db, task: Task): Promise<string> {
  if (!task.contractId) throw new GitError(`task ${task.id} has no contract, so no repository`);
  const contract = await db.contract.findUniqueOrThrow({ where: { id: task.contractId }, select: { repositoryPath: true } });
  return contract.repositoryPath;
}

export function worktreeOf(task: Task): { worktreePath: string; branch: string } {
  if (!task.worktreePath || !task.branch) throw new GitError(`task ${task.id} has no worktree`);
  return { worktreePath: task.worktreePath, branch: task.branch };
}

/** Git changes made inside a transaction, and how to undo them (last first) if it does not commit. */
export class GitSteps {
  private undos: (() => Promise<void>)[] = [];

  onRollback(undo: () => Promise<void>): void {
    this.undos.unshift(undo);
  }

  get pending(): boolean {
    return this.undos.length > 0;
  }

  async undo(ctx: AppContext): Promise<void> {
    const undos = this.undos;
    this.undos = [];
    for (const undo of undos) {
      try {
        await undo();
      } catch (err) {
        // The original failure is what the client must see; this one is for the operator.
        ctx.logger.error({ err }, 'could not put a worktree back after a failed change');
      }
    }
  }
}

/**
 * A change to one task that moves its worktree. The task row is locked for the whole change, so
 * changes to one task are serialized; `fn` does the git step and the database step. If `fn` fails,
 * the git step is undone while the lock is still held. If the commit itself fails, the task is
 * locked again and the git step undone only if the task's version shows that neither this change
 * nor any later one committed — so the worktree never disagrees with the database.
 */
export async function changeWithGit<T>(
  ctx: AppContext,
  viewer: Viewer,
  taskId: string,
  fn: (tx: Tx, record: RecordEvent, steps: GitSteps, task: Task) => Promise<T>,
): Promise<T> {
  const steps = new GitSteps();
  let version: number | undefined;
  try {
    return await change(ctx.prisma, async (tx, record) => {
      const task = await lockTask(tx, viewer, taskId);
      version = task.version;
      try {
        return await fn(tx, record, steps, task);
      } catch (err) {
        await steps.undo(ctx);
        throw err;
      }
    });
  } catch (err) {
    if (steps.pending) {
      await ctx.prisma.$transaction(async (tx) => {
        const task = await lockTask(tx, viewer, taskId);
        if (task.version === version) await steps.undo(ctx);
        else ctx.logger.error({ taskId, err }, 'a change failed at commit after the task changed again; its worktree was left as the later change saw it');
      }, { timeout: 60_000, maxWait: 30_000 });
    }
    throw err;
  }
}

/** What a checkpoint's changes are measured against: the commit it was built on. */
export interface CheckpointBase {
  commitSha: string;
  /** The checkpoint at that commit, or null for the task's base commit. */
  checkpoint: TaskCheckpoint | null;
}

/**
 * The checkpoint `commitSha` (checkpoint `number` of the task) was built on: the latest earlier
 * checkpoint of the task whose commit is in its history — after a rewind, the checkpoint rewound
 * to, not the backup — or else the task's base commit.
 */
export async function checkpointBase(db: Db, repo: string, task: Task, number: number, commitSha: string): Promise<CheckpointBase> {
  const earlier = (await checkpointsInHistoryOf(repo, task.id, commitSha)).filter((n) => n < number);
  if (earlier.length) {
    const checkpoint = await db.taskCheckpoint.findUnique({ where: { taskId_number: { taskId: task.id, number: Math.max(...earlier) } } });
    if (checkpoint) return { commitSha: checkpoint.commitSha, checkpoint };
  }
  return { commitSha: task.baseCommit ?? commitSha, checkpoint: null };
}

export interface SavedCheckpoint {
  checkpoint: TaskCheckpoint;
  task: Task;
  commit: WorktreeCommit;
}

/**
 * Commits the locked task's worktree as its next checkpoint and records it: the row, a CHECKPOINT
 * snapshot of the conversation linked both ways, the task's head commit, and the CHECKPOINT/created
 * and FILE/changed events. Registers the undo of every git step on `steps`.
 */
export async function saveCheckpointInTx(
  tx: Tx,
  record: RecordEvent,
  steps: GitSteps,
  task: Task,
  spec: { message: string; isBackup: boolean },
): Promise<SavedCheckpoint> {
  const { worktreePath, branch } = worktreeOf(task);
  const repo = await repositoryOf(tx, task);
  await assertWorktreeOnBranch(worktreePath, branch);
  const last = await tx.taskCheckpoint.aggregate({ where: { taskId: task.id }, _max: { number: true } });
  const number = (last._max.number ?? 0) + 1;

  const commit = await commitWorktree(worktreePath, branch, spec.message);
  steps.onRollback(() => undoCommit(worktreePath, commit));
  await protectCheckpoint(repo, task.id, number, commit.sha);
  steps.onRollback(() => unprotectCheckpoint(repo, task.id, number));
  const base = await checkpointBase(tx, repo, task, number, commit.sha);
  const files = await changedFiles(repo, base.commitSha, commit.sha);

  const created = await tx.taskCheckpoint.create({
    data: {
      taskId: task.id,
      number,
      commitSha: commit.sha,
      branch,
      message: spec.message,
      filesChanged: files as unknown as Prisma.InputJsonValue,
      isBackup: spec.isBackup,
    },
  });
  const snapshot = await snapshotHead(tx, task, 'CHECKPOINT', { checkpointId: created.id });
  const checkpoint = await tx.taskCheckpoint.update({ where: { id: created.id }, data: { conversationSnapshotId: snapshot.id } });
  const updated = await tx.task.update({ where: { id: task.id }, data: { headCommit: commit.sha, version: { increment: 1 } } });

  const about = { ownerId: task.ownerId, contractId: task.contractId, taskId: task.id };
  record({
    ...about,
    eventType: 'CHECKPOINT',
    eventSubtype: 'created',
    data: {
      checkpointId: checkpoint.id,
      number,
      commitSha: commit.sha,
      branch,
      message: spec.message,
      isBackup: spec.isBackup,
      newCommit: commit.created,
      snapshotId: snapshot.id,
      messageCount: snapshot.messageCount,
      filesChanged: files.length,
    },
  });
  if (files.length) {
    record({
      ...about,
      eventType: 'FILE',
      eventSubtype: 'changed',
      data: {
        checkpointId: checkpoint.id,
        number,
        since: base.commitSha,
        files: files.slice(0, MAX_EVENT_PATHS).map((f) => ({ path: f.path, status: f.status })),
        truncated: files.length > MAX_EVENT_PATHS,
      },
    });
  }
  return { checkpoint, task: updated, commit };
}

export async function createCheckpoint(
  ctx: AppContext,
  viewer: Viewer,
  input: { taskId: string; message: string; workerId?: string | null },
): Promise<TaskCheckpoint> {
  const message = assertCheckpointMessage(input.message);
  return changeWithGit(ctx, viewer, input.taskId, async (tx, record, steps, task) => {
    // From a worker, only the holder of a live lease may commit in the task's worktree.
    if (input.workerId != null) await assertHeldBy(tx, task, input.workerId, 'create a checkpoint');
    const saved = await saveCheckpointInTx(tx, record, steps, task, { message, isBackup: false });
    return saved.checkpoint;
  });
}

export interface CheckpointDiff {
  /** What the checkpoint is compared against. */
  base: CheckpointBase;
  files: FileChange[];
  patch: string;
  truncated: boolean;
}

/**
 * The changes from `againstId` (a checkpoint of the same repository) to `checkpoint`; by default
 * from the checkpoint it was built on (see checkpointBase).
 */
export async function checkpointDiff(db: PrismaClient, viewer: Viewer, checkpoint: TaskCheckpoint, againstId?: string): Promise<CheckpointDiff> {
  const task = await db.task.findFirst({ where: { id: checkpoint.taskId, ownerId: viewer.id } });
  if (!task) throw new NotFoundError('checkpoint', checkpoint.id);
  const repo = await repositoryOf(db, task);
  let base: CheckpointBase;
  if (againstId) {
    const against = await findOwnCheckpoint(db, viewer, againstId);
    const againstTask = await db.task.findUniqueOrThrow({ where: { id: against.taskId } });
    if (againstTask.contractId !== task.contractId) {
      throw new BadInputError(`against: checkpoint ${againstId} is of another contract's repository; compare checkpoints of one contract`, 'against');
    }
    base = { commitSha: against.commitSha, checkpoint: against };
  } else {
    base = await checkpointBase(db, repo, task, checkpoint.number, checkpoint.commitSha);
  }
  const [files, { patch, truncated }] = await Promise.all([
    changedFiles(repo, base.commitSha, checkpoint.commitSha),
    diffPatch(repo, base.commitSha, checkpoint.commitSha, MAX_PATCH_BYTES),
  ]);
  return { base, files, patch, truncated };
}
