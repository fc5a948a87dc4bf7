// Resume (docs/design.md §4): an interrupted or failed task (or a contract's supervisor) becomes
// PENDING again, optionally after a rewind to a checkpoint or snapshot, so that the next worker
// that claims work receives it with its full context and a note saying why.
import type { ServiceContext, Viewer } from '../../context.js';
import { change, type RecordEvent, type Tx } from '../../db/change.js';
import { ConflictError } from '../../errors.js';
import { globalId, globalIdOrNull } from '../../global-id.js';
import type { AssignmentReason, ConversationSnapshot, Task, TaskCheckpoint } from '../../generated/prisma/client.js';
import { notifyWorkPending } from '../../live/work.js';
import { checkpointOfTask, rewindTaskInTx } from '../checkpoints/index.js';
import { findSupervisor } from '../contracts/index.js';
import { rewindConversationInTx, snapshotOfTask } from '../conversation/index.js';
import { aboutTask, historyEvent, type EventData } from '../../change/catalogue.js';
import { assertNotHeldByWorker, holdTask, interruptLapsed } from '../../change/access.js';
import { changeWithGit } from '../../change/with-git.js';

/** What a TASK/resumed event adds to say how the task was resumed. */
type ResumeDetails = Omit<EventData<'TASK', 'resumed'>, 'from' | 'to' | 'reason' | 'note'>;

/** Why a task is resumed, for the worker that receives it: its previous status and what ended it. */
function resumeNoteFor(task: Task): string {
  if (task.status === 'FAILED') return `Resumed: the task was FAILED — last error: ${task.lastError ?? '(none recorded)'}.`;
  if (task.workerId && task.leaseExpiresAt) {
    return `Resumed: the task was INTERRUPTED — the lease of worker ${task.workerId} lapsed at ${task.leaseExpiresAt.toISOString()}.`;
  }
  return `Resumed: the task was ${task.status}.`;
}

/** Only an INTERRUPTED or FAILED task can be resumed; anything else is a CONFLICT saying why. */
async function assertResumable(tx: Tx, task: Task): Promise<void> {
  // An archived task has no worktree left; its code lives on in its checkpoints.
  if (task.archivedAt) throw new ConflictError(`task ${task.id} is archived: it has no worktree to resume in. Fork it (forkTask) from a checkpoint instead.`, { archivedAt: task.archivedAt.toISOString() });
  if (task.status === 'INTERRUPTED' || task.status === 'FAILED') return;
  const details = { status: task.status };
  switch (task.status) {
    case 'RUNNING':
      await assertNotHeldByWorker(tx, task, 'resumed');
      throw new ConflictError(`task ${task.id} is RUNNING; it cannot be resumed while it runs`, details);
    case 'PENDING':
      throw new ConflictError(
        `task ${task.id} is already PENDING (${task.pendingReason ?? 'NEW'}); the next worker that claims work receives it`,
        details,
      );
    default:
      throw new ConflictError(
        `task ${task.id} is ${task.status}; a finished task cannot be resumed. Fork it (forkTask) or start a task that continues from it (createTask with continueFromTaskId).`,
        details,
      );
  }
}

/**
 * Makes `task` PENDING with `reason` and a note for the next worker, records TASK/resumed and
 * announces the work. The one way a task becomes pending again.
 */
export async function makePending(
  tx: Tx,
  record: RecordEvent,
  task: Task,
  reason: AssignmentReason,
  note: string,
  data: ResumeDetails = {},
): Promise<Task> {
  const updated = await tx.task.update({
    where: { id: task.id },
    data: { status: 'PENDING', pendingReason: reason, resumeNote: note, workerId: null, leaseExpiresAt: null, version: { increment: 1 } },
  });
  record(historyEvent(aboutTask(task), 'TASK', 'resumed', { from: task.status, to: 'PENDING', reason, note, ...data }));
  await notifyWorkPending(tx, task.ownerId);
  return updated;
}

/**
 * Locks the task, records a lease that lapsed unnoticed (so a task whose worker died is resumable
 * at once, without waiting for the sweep), and checks that it can be resumed.
 */
async function lockResumable(tx: Tx, record: RecordEvent, viewer: Viewer, taskId: string, action: string): Promise<Task> {
  await holdTask(tx, record, viewer, { taskId, action });
  await interruptLapsed(tx, record, action, taskId);
  const task = await tx.task.findUniqueOrThrow({ where: { id: taskId } });
  await assertResumable(tx, task);
  return task;
}

/** An INTERRUPTED or FAILED task becomes PENDING with reason RESUME. */
export async function resumeTask(ctx: ServiceContext, input: { taskId: string }): Promise<Task> {
  return change(ctx.prisma, async (tx, record) => {
    const task = await lockResumable(tx, record, ctx.viewer, input.taskId, 'resumeTask');
    return makePending(tx, record, task, 'RESUME', resumeNoteFor(task));
  });
}

export interface ResumeSupervisorInput {
  contractId: string;
  fromSnapshotId?: string;
}

/**
 * Resumes a contract's supervisor; with `fromSnapshotId` (a snapshot of the supervisor) its
 * conversation is first rewound to that snapshot's head, non-destructively, in the same
 * transaction. A supervisor that is PENDING (it never ran, or was resumed already) is a CONFLICT:
 * it will be claimed as it is; to change its starting point, use rewindConversation.
 */
export async function resumeSupervisor(
  ctx: ServiceContext,
  input: ResumeSupervisorInput,
): Promise<{ task: Task; backupSnapshot: ConversationSnapshot | null }> {
  const supervisor = await findSupervisor(ctx.prisma, ctx.viewer, input.contractId);
  const snapshot = input.fromSnapshotId ? await snapshotOfTask(ctx.prisma, ctx.viewer, supervisor, input.fromSnapshotId, 'fromSnapshotId', `the supervisor ${supervisor.id} of this contract`) : null;
  return change(ctx.prisma, async (tx, record) => {
    const task = await lockResumable(tx, record, ctx.viewer, supervisor.id, 'resumeSupervisor');
    const note = resumeNoteFor(task);
    if (!snapshot) return { task: await makePending(tx, record, task, 'RESUME', note), backupSnapshot: null };
    const rewound = await rewindConversationInTx(tx, record, task, snapshot.headMessageId, { reason: 'resumeSupervisor', snapshotId: snapshot.id });
    const from = `${note} Its conversation was rewound to snapshot ${globalId('ConversationSnapshot', snapshot.id)} (${snapshot.messageCount} messages); the previous head is kept in snapshot ${globalId('ConversationSnapshot', rewound.backupSnapshot.id)}.`;
    const resumed = await makePending(tx, record, rewound.task, 'RESUME', from, {
      fromSnapshotId: snapshot.id,
      backupSnapshotId: rewound.backupSnapshot.id,
    });
    return { task: resumed, backupSnapshot: rewound.backupSnapshot };
  });
}


export interface ResumeFromCheckpoint {
  task: Task;
  /** The worktree as it was before the rewind. */
  backupCheckpoint: TaskCheckpoint | null;
  /** The conversation as it was before the rewind. */
  backupSnapshot: ConversationSnapshot | null;
}

/**
 * Rewinds an INTERRUPTED or FAILED task to a checkpoint (code and conversation, as rewindTask with
 * BOTH: the previous state is kept in a backup checkpoint and snapshot), then resumes it with
 * reason RESUME_FROM_CHECKPOINT — in one change, so either both happen or neither does.
 */
export async function resumeTaskFromCheckpoint(ctx: ServiceContext, input: { taskId: string; checkpointId: string }): Promise<ResumeFromCheckpoint> {
  return changeWithGit(ctx, 'resume task from checkpoint', async (gitChange) => {
    const { tx, record } = gitChange;
    const task = await lockResumable(tx, record, ctx.viewer, input.taskId, 'resumeTaskFromCheckpoint');
    const checkpoint = await checkpointOfTask(tx, ctx.viewer, task, input.checkpointId);
    const rewound = await rewindTaskInTx(gitChange, task, checkpoint, 'BOTH');
    const note =
      `${resumeNoteFor(task)} Its code and conversation were rewound to checkpoint #${checkpoint.number} ` +
      `(commit ${checkpoint.commitSha}); the state before is kept in checkpoint ` +
      `#${rewound.backupCheckpoint?.number ?? '?'} and snapshot ${globalIdOrNull('ConversationSnapshot', rewound.backupSnapshot?.id) ?? '?'}.`;
    const resumed = await makePending(tx, record, rewound.task, 'RESUME_FROM_CHECKPOINT', note, {
      checkpointId: checkpoint.id,
      checkpointNumber: checkpoint.number,
      commitSha: checkpoint.commitSha,
      backupCheckpointId: rewound.backupCheckpoint?.id ?? null,
      backupSnapshotId: rewound.backupSnapshot?.id ?? null,
    });
    return { task: resumed, backupCheckpoint: rewound.backupCheckpoint, backupSnapshot: rewound.backupSnapshot };
  });
}
