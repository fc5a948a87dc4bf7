// The mesh: workers claim pending tasks (with the full context to run them), hold them through a
// renewed lease, and complete or fail them; and resume, which makes an interrupted or failed task
// (or a contract's supervisor) pending again so that the next worker receives it.
import type { AppContext, Viewer } from '../../context.js';
import { change, type RecordEvent, type Tx } from '../../db/change.js';
import { BadInputError, ConflictError, NotFoundError } from '../../errors.js';
import type { AssignmentReason, ConversationMessage, ConversationSnapshot, Task, TaskCheckpoint } from '../../generated/prisma/client.js';
import { rewindTaskInTx } from '../checkpoints/rewind.js';
import { changeWithGit, checkpointOfTask } from '../checkpoints/service.js';
import { findOwnContract } from '../contracts/service.js';
import { pathMessages, rewindConversationInTx } from '../conversation/service.js';
import { assertNotHeldByWorker, currentHead, lockTask } from '../tasks/service.js';
import { assertLeaseSeconds, assertWorkerId, changeOrNothing, databaseNow, interruptLapsed, withLease } from './lease.js';
import { startLeaseSweep } from './sweep.js';
import { notifyWorkPending, workSignals } from './work.js';

export const MAX_WAIT_SECONDS = 60;
export const MAX_ERROR_LENGTH = 20_000;

/** Starts the server's part of the mesh (work signals, lease sweep); returns its stop. */
export async function startMesh(app: AppContext): Promise<() => Promise<void>> {
  const signals = workSignals(app.db);
  await signals.retain();
  const stopSweep = startLeaseSweep(app);
  return async () => {
    await stopSweep();
    await signals.release();
  };
}

export interface TaskAssignment {
  task: Task;
  reason: AssignmentReason;
  /** The full context: the conversation root → head, in order. */
  conversation: ConversationMessage[];
  worktreePath: string;
  branch: string;
  commitSha: string;
  leaseExpiresAt: Date;
  resumeNote: string | null;
}

export interface ClaimTaskInput {
  workerId: string;
  leaseSeconds?: number | null;
  waitSeconds?: number | null;
}

function assertWaitSeconds(waitSeconds: number | null | undefined): number {
  const value = waitSeconds ?? 0;
  if (!Number.isInteger(value) || value < 0 || value > MAX_WAIT_SECONDS) {
    throw new BadInputError(`waitSeconds must be between 0 and ${MAX_WAIT_SECONDS}`, 'waitSeconds');
  }
  return value;
}

/**
 * Claims the viewer's oldest PENDING task for `workerId`, or returns null. With `waitSeconds`, a
 * claim that finds nothing waits for work to become pending (a notification, not polling) and
 * tries again, until the time is up, the client goes away (`signal`) or the server stops.
 */
export async function claimTask(ctx: AppContext, viewer: Viewer, input: ClaimTaskInput, signal?: AbortSignal): Promise<TaskAssignment | null> {
  const workerId = assertWorkerId(input.workerId);
  const leaseSeconds = assertLeaseSeconds(input.leaseSeconds, ctx.config.defaultLeaseSeconds);
  const waitSeconds = assertWaitSeconds(input.waitSeconds);
  const claim = () => claimOnce(ctx, viewer, workerId, leaseSeconds);
  const signals = workSignals(ctx.db);
  if (waitSeconds === 0 || signals.closed) return claim();

  const deadline = Date.now() + waitSeconds * 1000;
  // Registered before the first attempt, so work announced between an attempt and the wait wakes it.
  const waiter = signals.waiter(viewer.id);
  try {
    for (;;) {
      const assignment = await claim();
      if (assignment) return assignment;
      const left = deadline - Date.now();
      if (left <= 0 || signal?.aborted || signals.closed) return null;
      await waiter.next(left, signal);
      if (signal?.aborted || signals.closed) return null;
    }
  } finally {
    waiter.dispose();
  }
}

async function claimOnce(ctx: AppContext, viewer: Viewer, workerId: string, leaseSeconds: number): Promise<TaskAssignment | null> {
  const claimed = await changeOrNothing(ctx.prisma, async (tx, record) => {
    // SKIP LOCKED: concurrent claims each take a different row instead of queueing on the first;
    // a row another claim already committed as RUNNING is re-checked under the lock and skipped.
    const [row] = await tx.$queryRaw<{ id: string }[]>`
      SELECT id FROM tasks WHERE owner_id = ${viewer.id}::uuid AND status = 'pending'
       ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED`;
    if (!row) return null;
    const pending = await tx.task.findUniqueOrThrow({ where: { id: row.id } });
    const now = await databaseNow(tx);
    const leaseExpiresAt = new Date(now.getTime() + leaseSeconds * 1000);
    const reason = pending.pendingReason ?? 'NEW';
    const task = await tx.task.update({
      where: { id: pending.id },
      data: { status: 'RUNNING', workerId, leaseExpiresAt, pendingReason: null, resumeNote: null, version: { increment: 1 } },
    });
    record({
      ownerId: task.ownerId,
      contractId: task.contractId,
      taskId: task.id,
      eventType: 'TASK',
      eventSubtype: 'status_changed',
      data: { from: 'PENDING', to: 'RUNNING', workerId, reason, leaseExpiresAt: leaseExpiresAt.toISOString() },
    });
    const conversation = await pathMessages(tx, task.headMessageId, 0, task.messageCount);
    return { task, reason, conversation, leaseExpiresAt, resumeNote: pending.resumeNote };
  });
  if (!claimed) return null;
  const { task } = claimed;
  if (!task.worktreePath || !task.branch) throw new Error(`task ${task.id} has no worktree or branch`);
  return { ...claimed, worktreePath: task.worktreePath, branch: task.branch, commitSha: await currentHead(task) };
}

export interface WorkerCall {
  taskId: string;
  workerId: string;
}

/** Extends the lease of the worker that holds the task by `leaseSeconds` from now. */
export async function renewLease(ctx: AppContext, viewer: Viewer, input: WorkerCall & { leaseSeconds?: number | null }): Promise<Date> {
  const leaseSeconds = assertLeaseSeconds(input.leaseSeconds, ctx.config.defaultLeaseSeconds);
  return withLease(ctx.prisma, viewer, { ...input, action: 'renew the lease' }, async (tx, record, task, now) => {
    const leaseExpiresAt = new Date(now.getTime() + leaseSeconds * 1000);
    await tx.task.update({ where: { id: task.id }, data: { leaseExpiresAt } });
    record({
      ownerId: task.ownerId,
      contractId: task.contractId,
      taskId: task.id,
      eventType: 'TASK',
      eventSubtype: 'lease_renewed',
      data: { workerId: input.workerId, leaseExpiresAt: leaseExpiresAt.toISOString() },
    });
    return leaseExpiresAt;
  });
}

export async function completeTask(ctx: AppContext, viewer: Viewer, input: WorkerCall): Promise<Task> {
  return withLease(ctx.prisma, viewer, { ...input, action: 'complete the task' }, async (tx, record, task) => {
    const updated = await tx.task.update({
      where: { id: task.id },
      data: { status: 'COMPLETED', leaseExpiresAt: null, version: { increment: 1 } },
    });
    record({
      ownerId: task.ownerId,
      contractId: task.contractId,
      taskId: task.id,
      eventType: 'TASK',
      eventSubtype: 'completed',
      data: { from: 'RUNNING', to: 'COMPLETED', workerId: input.workerId },
    });
    return updated;
  });
}

export async function failTask(ctx: AppContext, viewer: Viewer, input: WorkerCall & { error: string }): Promise<Task> {
  const error = input.error.trim();
  if (!error) throw new BadInputError('error must not be empty: say why the task failed', 'error');
  if (error.length > MAX_ERROR_LENGTH) throw new BadInputError(`error is longer than ${MAX_ERROR_LENGTH} characters`, 'error');
  return withLease(ctx.prisma, viewer, { ...input, action: 'fail the task' }, async (tx, record, task) => {
    const updated = await tx.task.update({
      where: { id: task.id },
      data: { status: 'FAILED', lastError: error, leaseExpiresAt: null, version: { increment: 1 } },
    });
    record({
      ownerId: task.ownerId,
      contractId: task.contractId,
      taskId: task.id,
      eventType: 'TASK',
      eventSubtype: 'failed',
      data: { from: 'RUNNING', to: 'FAILED', workerId: input.workerId, error },
    });
    return updated;
  });
}

/** Why a task is resumed, for the worker that receives it: its previous status and what ended it. */
function resumeNoteFor(task: Task): string {
  if (task.status === 'FAILED') return `Resumed: the task was FAILED — last error: ${task.lastError ?? '(none recorded)'}.`;
  if (task.workerId && task.leaseExpiresAt) {
    return `Resumed: the task was INTERRUPTED — the lease of worker ${task.workerId} lapsed at ${task.leaseExpiresAt.toISOString()}.`;
  }
  return `Resumed: the task was ${task.status}.`;
}

/** Only an INTERRUPTED or FAILED task can be resumed; anything else is a CONFLICT saying why. */
function assertResumable(task: Task): void {
  if (task.status === 'INTERRUPTED' || task.status === 'FAILED') return;
  const details = { status: task.status };
  switch (task.status) {
    case 'RUNNING':
      assertNotHeldByWorker(task, 'resumed');
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
  data: Record<string, unknown> = {},
): Promise<Task> {
  const updated = await tx.task.update({
    where: { id: task.id },
    data: { status: 'PENDING', pendingReason: reason, resumeNote: note, workerId: null, leaseExpiresAt: null, version: { increment: 1 } },
  });
  record({
    ownerId: task.ownerId,
    contractId: task.contractId,
    taskId: task.id,
    eventType: 'TASK',
    eventSubtype: 'resumed',
    data: { from: task.status, to: 'PENDING', reason, note, ...data },
  });
  await notifyWorkPending(tx, task.ownerId);
  return updated;
}

/**
 * Locks the task, records a lease that lapsed unnoticed (so a task whose worker died is resumable
 * at once, without waiting for the sweep), and checks that it can be resumed.
 */
async function lockResumable(tx: Tx, record: RecordEvent, viewer: Viewer, taskId: string, action: string): Promise<Task> {
  await lockTask(tx, viewer, taskId);
  await interruptLapsed(tx, record, action, taskId);
  const task = await tx.task.findUniqueOrThrow({ where: { id: taskId } });
  assertResumable(task);
  return task;
}

/** An INTERRUPTED or FAILED task becomes PENDING with reason RESUME. */
export async function resumeTask(ctx: AppContext, viewer: Viewer, taskId: string): Promise<Task> {
  return change(ctx.prisma, async (tx, record) => {
    const task = await lockResumable(tx, record, viewer, taskId, 'resumeTask');
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
  ctx: AppContext,
  viewer: Viewer,
  input: ResumeSupervisorInput,
): Promise<{ task: Task; backupSnapshot: ConversationSnapshot | null }> {
  const contract = await findOwnContract(ctx, viewer, input.contractId);
  const supervisor = await ctx.prisma.task.findFirst({ where: { contractId: contract.id, isSupervisor: true } });
  if (!supervisor) throw new NotFoundError(`supervisor of contract ${contract.id}`);
  const snapshot = input.fromSnapshotId ? await supervisorSnapshot(ctx, viewer, supervisor, input.fromSnapshotId) : null;
  return change(ctx.prisma, async (tx, record) => {
    const task = await lockResumable(tx, record, viewer, supervisor.id, 'resumeSupervisor');
    const note = resumeNoteFor(task);
    if (!snapshot) return { task: await makePending(tx, record, task, 'RESUME', note), backupSnapshot: null };
    const rewound = await rewindConversationInTx(tx, record, task, snapshot.headMessageId, { reason: 'resumeSupervisor', snapshotId: snapshot.id });
    const from = `${note} Its conversation was rewound to snapshot ${snapshot.id} (${snapshot.messageCount} messages); the previous head is kept in snapshot ${rewound.backupSnapshot.id}.`;
    const resumed = await makePending(tx, record, rewound.task, 'RESUME', from, {
      fromSnapshotId: snapshot.id,
      backupSnapshotId: rewound.backupSnapshot.id,
    });
    return { task: resumed, backupSnapshot: rewound.backupSnapshot };
  });
}

async function supervisorSnapshot(ctx: AppContext, viewer: Viewer, supervisor: Task, snapshotId: string): Promise<ConversationSnapshot> {
  const snapshot = await ctx.prisma.conversationSnapshot.findFirst({ where: { id: snapshotId, task: { ownerId: viewer.id } } });
  if (!snapshot) throw new NotFoundError('snapshot', snapshotId);
  if (snapshot.taskId !== supervisor.id) {
    throw new BadInputError(
      `fromSnapshotId: snapshot ${snapshotId} is a snapshot of task ${snapshot.taskId}, not of the supervisor ${supervisor.id} of this contract`,
      'fromSnapshotId',
    );
  }
  return snapshot;
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
export async function resumeTaskFromCheckpoint(
  ctx: AppContext,
  viewer: Viewer,
  input: { taskId: string; checkpointId: string },
): Promise<ResumeFromCheckpoint> {
  return changeWithGit(ctx, viewer, input.taskId, async (tx, record, steps, locked) => {
    const checkpoint = await checkpointOfTask(tx, viewer, locked, input.checkpointId);
    await interruptLapsed(tx, record, 'resumeTaskFromCheckpoint', locked.id);
    const task = await tx.task.findUniqueOrThrow({ where: { id: locked.id } });
    assertResumable(task);
    const rewound = await rewindTaskInTx(tx, record, steps, task, checkpoint, 'BOTH');
    const note =
      `${resumeNoteFor(task)} Its code and conversation were rewound to checkpoint #${checkpoint.number} ` +
      `(commit ${checkpoint.commitSha}); the state before is kept in checkpoint ` +
      `#${rewound.backupCheckpoint?.number ?? '?'} and snapshot ${rewound.backupSnapshot?.id ?? '?'}.`;
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
