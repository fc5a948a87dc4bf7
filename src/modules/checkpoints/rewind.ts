// Rewinds (DESIGN §4): a task's code, conversation or both to a checkpoint, and a conversation to a
// message or a snapshot. Nothing is lost: the code is first saved as a backup checkpoint, the
// conversation head as an AUTO snapshot, and rewinding to either undoes the rewind.
import type { AppContext, Viewer } from '../../context.js';
import { change, type RecordEvent, type Tx } from '../../db/change.js';
import { BadInputError, GitError, NotFoundError } from '../../errors.js';
import type { ConversationSnapshot, Task, TaskCheckpoint } from '../../generated/prisma/client.js';
import { checkoutCommit, commitExists } from '../../git/checkpoints.js';
import { rewindConversationInTx } from '../conversation/service.js';
import { assertNotHeldByWorker, lockTask } from '../tasks/service.js';
import { changeWithGit, checkpointOfTask, repositoryOf, saveCheckpointInTx, worktreeOf, type GitSteps } from './service.js';

export type RewindMode = 'CODE' | 'CONVERSATION' | 'BOTH';

export interface TaskRewind {
  task: Task;
  /** The worktree as it was before the rewind (CODE and BOTH). */
  backupCheckpoint: TaskCheckpoint | null;
  /** The conversation head as it was before the rewind (CONVERSATION and BOTH). */
  backupSnapshot: ConversationSnapshot | null;
}

/**
 * Rewinds the locked `task` to `checkpoint` inside a transaction (resumeTaskFromCheckpoint builds
 * on this). CODE and BOTH commit the whole worktree as a backup checkpoint "before rewind to #k",
 * then set the worktree and branch to the checkpoint's commit; CONVERSATION and BOTH move the
 * conversation head to the checkpoint's snapshot. Every check runs before the first git step.
 */
export async function rewindTaskInTx(
  tx: Tx,
  record: RecordEvent,
  steps: GitSteps,
  task: Task,
  checkpoint: TaskCheckpoint,
  mode: RewindMode,
): Promise<TaskRewind> {
  assertNotHeldByWorker(task, 'rewound');
  const moveCode = mode !== 'CONVERSATION';
  const moveConversation = mode !== 'CODE';
  const snapshot = moveConversation ? await checkpointSnapshot(tx, checkpoint) : null;
  if (moveCode) await assertCommitPresent(tx, task, checkpoint);

  let current = task;
  let backupCheckpoint: TaskCheckpoint | null = null;
  let backupSnapshot: ConversationSnapshot | null = null;
  if (moveCode) {
    const saved = await saveCheckpointInTx(tx, record, steps, task, { message: `before rewind to #${checkpoint.number}`, isBackup: true });
    backupCheckpoint = saved.checkpoint;
    const { worktreePath } = worktreeOf(task);
    steps.onRollback(() => checkoutCommit(worktreePath, saved.commit.sha));
    await checkoutCommit(worktreePath, checkpoint.commitSha);
    current = await tx.task.update({ where: { id: task.id }, data: { headCommit: checkpoint.commitSha, version: { increment: 1 } } });
  }
  if (snapshot) {
    const rewound = await rewindConversationInTx(tx, record, current, snapshot.headMessageId, { checkpointId: checkpoint.id, checkpointNumber: checkpoint.number });
    current = rewound.task;
    backupSnapshot = rewound.backupSnapshot;
  }
  record({
    ownerId: task.ownerId,
    contractId: task.contractId,
    taskId: task.id,
    eventType: 'CHECKPOINT',
    eventSubtype: 'rewound',
    data: {
      checkpointId: checkpoint.id,
      number: checkpoint.number,
      mode,
      commitSha: moveCode ? checkpoint.commitSha : null,
      fromCommit: backupCheckpoint?.commitSha ?? null,
      backupCheckpointId: backupCheckpoint?.id ?? null,
      backupCheckpointNumber: backupCheckpoint?.number ?? null,
      backupSnapshotId: backupSnapshot?.id ?? null,
    },
  });
  return { task: current, backupCheckpoint, backupSnapshot };
}

async function checkpointSnapshot(tx: Tx, checkpoint: TaskCheckpoint): Promise<ConversationSnapshot> {
  const snapshot = checkpoint.conversationSnapshotId
    ? await tx.conversationSnapshot.findUnique({ where: { id: checkpoint.conversationSnapshotId } })
    : null;
  if (!snapshot) {
    throw new BadInputError(`checkpoint #${checkpoint.number} has no conversation snapshot; rewind its code only (mode CODE)`, 'mode');
  }
  return snapshot;
}

async function assertCommitPresent(tx: Tx, task: Task, checkpoint: TaskCheckpoint): Promise<void> {
  const repo = await repositoryOf(tx, task);
  if (!(await commitExists(repo, checkpoint.commitSha))) {
    throw new GitError(
      `the commit ${checkpoint.commitSha} of checkpoint #${checkpoint.number} is missing from ${repo} ` +
        `(its ref refs/makima/checkpoints/${task.id}/${checkpoint.number} was removed and git gc collected it); rewind to another checkpoint`,
    );
  }
}

export async function rewindTask(
  ctx: AppContext,
  viewer: Viewer,
  input: { taskId: string; checkpointId: string; mode: RewindMode },
): Promise<TaskRewind> {
  return changeWithGit(ctx, viewer, input.taskId, async (tx, record, steps, task) => {
    const checkpoint = await checkpointOfTask(tx, viewer, task, input.checkpointId);
    return rewindTaskInTx(tx, record, steps, task, checkpoint, input.mode);
  });
}

export interface RewindConversationInput {
  /** Exactly one of contractId (its supervisor's conversation) and taskId. */
  contractId?: string;
  taskId?: string;
  /** Exactly one of toMessageId and toSnapshotId. */
  toMessageId?: string;
  toSnapshotId?: string;
}

/**
 * Moves a task's (or a contract supervisor's) conversation head to a message or to a snapshot's
 * head. The returned AUTO snapshot holds the old head: rewinding to it undoes the rewind.
 */
export async function rewindConversation(
  ctx: AppContext,
  viewer: Viewer,
  input: RewindConversationInput,
): Promise<{ task: Task; backupSnapshot: ConversationSnapshot }> {
  if (!input.contractId === !input.taskId) throw new BadInputError('give exactly one of contractId and taskId', 'taskId');
  if (!input.toMessageId === !input.toSnapshotId) throw new BadInputError('give exactly one of toMessageId and toSnapshotId', 'toMessageId');
  const taskId = input.taskId ?? (await supervisorOf(ctx, viewer, input.contractId!));
  return change(ctx.prisma, async (tx, record) => {
    const task = await lockTask(tx, viewer, taskId);
    assertNotHeldByWorker(task, 'rewound');
    if (input.toMessageId) return rewindConversationInTx(tx, record, task, input.toMessageId, { toMessageId: input.toMessageId });
    const snapshot = await tx.conversationSnapshot.findFirst({ where: { id: input.toSnapshotId, task: { ownerId: viewer.id } } });
    if (!snapshot) throw new NotFoundError('snapshot', input.toSnapshotId);
    if (snapshot.taskId !== task.id) {
      throw new BadInputError(`snapshot ${snapshot.id} belongs to task ${snapshot.taskId}, not to task ${task.id}`, 'toSnapshotId');
    }
    return rewindConversationInTx(tx, record, task, snapshot.headMessageId, { toSnapshotId: snapshot.id });
  });
}

async function supervisorOf(ctx: AppContext, viewer: Viewer, contractId: string): Promise<string> {
  const supervisor = await ctx.prisma.task.findFirst({ where: { contractId, ownerId: viewer.id, isSupervisor: true }, select: { id: true } });
  if (!supervisor) throw new NotFoundError('contract', contractId);
  return supervisor.id;
}
