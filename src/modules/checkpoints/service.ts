// Checkpoints (docs/design.md §3, §4): a commit of a task's whole worktree, numbered per task,
// linked both ways to a CHECKPOINT conversation snapshot, kept safe from gc by its own ref; and
// the diffs between them.
import type { ServiceContext, Viewer } from '../../context.js';
import type { Tx } from '../../db/change.js';
import { BadInputError, NotFoundError } from '../../errors.js';
import type { ConversationSnapshot, Prisma, PrismaClient, Task, TaskCheckpoint } from '../../generated/prisma/client.js';
import type { FileChange, Git, Workspace, WorktreeCommit } from '../../git/index.js';
import { snapshotHead } from '../conversation/service.js';
import { aboutTask, historyEvent } from '../history/catalogue.js';
import { holdTask } from '../tasks/access.js';
import { changeWithGit, type GitChange } from '../tasks/change-with-git.js';
import { repositoryOf, workspaceOf } from '../tasks/workspace.js';

export const MAX_CHECKPOINT_MESSAGE_LENGTH = 10_000;
/** Checkpoint.diff runs git twice and may read a large patch: a request may ask for this many. */
export const MAX_DIFFS_PER_REQUEST = 10;
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

/** The conversation as it was at a checkpoint (null for a checkpoint taken without one). */
export async function snapshotOfCheckpoint(db: Db, checkpoint: TaskCheckpoint): Promise<ConversationSnapshot | null> {
  if (!checkpoint.conversationSnapshotId) return null;
  return db.conversationSnapshot.findUnique({ where: { id: checkpoint.conversationSnapshotId } });
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
export async function checkpointBase(db: Db, git: Git, repo: string, task: Task, number: number, commitSha: string): Promise<CheckpointBase> {
  const earlier = (await git.checkpointsInHistoryOf(repo, task.id, commitSha)).filter((n) => n < number);
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
  /** Where the checkpoint was taken. */
  workspace: Workspace;
}

/**
 * Commits the locked task's worktree as its next checkpoint and records it: the row, a CHECKPOINT
 * snapshot of the conversation linked both ways, the task's head commit, and the CHECKPOINT/created
 * and FILE/changed events. Its git steps are journaled on `change.git`.
 */
export async function saveCheckpointInTx(change: GitChange, task: Task, spec: { message: string; isBackup: boolean }): Promise<SavedCheckpoint> {
  const { tx, record, git } = change;
  const workspace = await workspaceOf(tx, task);
  git.touch(task);
  await git.git.assertOnBranch(workspace);
  const last = await tx.taskCheckpoint.aggregate({ where: { taskId: task.id }, _max: { number: true } });
  // A number whose ref exists (left by a change that never committed) is never handed out again.
  const refs = await git.git.checkpointRefNumbers(workspace.repositoryPath, task.id);
  const number = Math.max(last._max.number ?? 0, ...refs) + 1;

  const commit = await git.commitWorkspace(task.id, workspace, spec.message);
  await git.protectCheckpoint(task.id, workspace.repositoryPath, number, commit.sha);
  const base = await checkpointBase(tx, git.git, workspace.repositoryPath, task, number, commit.sha);
  const files = await git.git.changedFiles(workspace.repositoryPath, base.commitSha, commit.sha);

  const created = await tx.taskCheckpoint.create({
    data: {
      taskId: task.id,
      number,
      commitSha: commit.sha,
      branch: workspace.branch,
      message: spec.message,
      filesChanged: files as unknown as Prisma.InputJsonValue,
      isBackup: spec.isBackup,
    },
  });
  const snapshot = await snapshotHead(tx, task, 'CHECKPOINT', { checkpointId: created.id });
  const checkpoint = await tx.taskCheckpoint.update({ where: { id: created.id }, data: { conversationSnapshotId: snapshot.id } });
  const updated = await tx.task.update({ where: { id: task.id }, data: { headCommit: commit.sha, version: { increment: 1 } } });

  record(
    historyEvent(aboutTask(task), 'CHECKPOINT', 'created', {
      checkpointId: checkpoint.id,
      number,
      commitSha: commit.sha,
      branch: workspace.branch,
      message: spec.message,
      isBackup: spec.isBackup,
      newCommit: commit.created,
      snapshotId: snapshot.id,
      messageCount: snapshot.messageCount,
      filesChanged: files.length,
    }),
  );
  if (files.length) {
    record(
      historyEvent(aboutTask(task), 'FILE', 'changed', {
        checkpointId: checkpoint.id,
        number,
        since: base.commitSha,
        files: files.slice(0, MAX_EVENT_PATHS).map((f) => ({ path: f.path, status: f.status })),
        truncated: files.length > MAX_EVENT_PATHS,
      }),
    );
  }
  return { checkpoint, task: updated, commit, workspace };
}

export async function createCheckpoint(ctx: ServiceContext, input: { taskId: string; message: string; workerId?: string | null }): Promise<TaskCheckpoint> {
  const message = assertCheckpointMessage(input.message);
  return changeWithGit(ctx, 'create checkpoint', async (change) => {
    // From a worker, only the holder of a live lease may commit in the task's worktree.
    const task = await holdTask(change.tx, change.record, ctx.viewer, { taskId: input.taskId, workerId: input.workerId, action: 'create a checkpoint' });
    const saved = await saveCheckpointInTx(change, task, { message, isBackup: false });
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
export async function checkpointDiff(ctx: ServiceContext, input: { checkpoint: TaskCheckpoint; againstId?: string }): Promise<CheckpointDiff> {
  const { checkpoint, againstId } = input;
  const db = ctx.prisma;
  const task = await db.task.findFirst({ where: { id: checkpoint.taskId, ownerId: ctx.viewer.id } });
  if (!task) throw new NotFoundError('checkpoint', checkpoint.id);
  const repo = await repositoryOf(db, task);
  let base: CheckpointBase;
  if (againstId) {
    const against = await findOwnCheckpoint(db, ctx.viewer, againstId);
    const againstTask = await db.task.findUniqueOrThrow({ where: { id: against.taskId } });
    if (againstTask.contractId !== task.contractId) {
      throw new BadInputError(`against: checkpoint ${againstId} is of another contract's repository; compare checkpoints of one contract`, 'against');
    }
    base = { commitSha: against.commitSha, checkpoint: against };
  } else {
    base = await checkpointBase(db, ctx.git, repo, task, checkpoint.number, checkpoint.commitSha);
  }
  const [files, { patch, truncated }] = await Promise.all([
    ctx.git.changedFiles(repo, base.commitSha, checkpoint.commitSha),
    ctx.git.diffPatch(repo, base.commitSha, checkpoint.commitSha, MAX_PATCH_BYTES),
  ]);
  return { base, files, patch, truncated };
}
