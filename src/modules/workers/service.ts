// The worker protocol: workers claim pending tasks (with the full context to run them), hold them
// through a renewed lease, and complete or fail them. Who may change a task a worker holds is
// decided in tasks/access.ts (holdTask); lapsed leases are swept by sweep.ts.
import type { AppContext, ServiceContext } from '../../context.js';
import { change } from '../../db/change.js';
import { BadInputError } from '../../errors.js';
import type { AssignmentReason, ConversationMessage, Task } from '../../generated/prisma/client.js';
import { workSignals } from '../../live/work.js';
import { pathMessages } from '../conversation/service.js';
import { aboutTask, historyEvent } from '../history/catalogue.js';
import { assertWorkerId, databaseNow, holdTask } from '../tasks/access.js';
import { currentHead } from '../tasks/workspace.js';
import { startLeaseSweep } from './sweep.js';

export const MAX_WAIT_SECONDS = 60;
export const MAX_ERROR_LENGTH = 20_000;
export const MAX_LEASE_SECONDS = 3600;

export function assertLeaseSeconds(leaseSeconds: number | null | undefined, fallback: number): number {
  const value = leaseSeconds ?? fallback;
  if (!Number.isInteger(value) || value < 1 || value > MAX_LEASE_SECONDS) {
    throw new BadInputError(`leaseSeconds must be between 1 and ${MAX_LEASE_SECONDS}`, 'leaseSeconds');
  }
  return value;
}

/** Starts the server's part of the worker protocol (work signals, lease sweep); returns its stop. */
export async function startWorkers(app: AppContext): Promise<() => Promise<void>> {
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
export async function claimTask(ctx: ServiceContext, input: ClaimTaskInput, signal?: AbortSignal): Promise<TaskAssignment | null> {
  const workerId = assertWorkerId(input.workerId);
  const leaseSeconds = assertLeaseSeconds(input.leaseSeconds, ctx.config.defaultLeaseSeconds);
  const waitSeconds = assertWaitSeconds(input.waitSeconds);
  const claim = () => claimOnce(ctx, workerId, leaseSeconds);
  const signals = workSignals(ctx.db);
  if (waitSeconds === 0 || signals.closed) return claim();

  const deadline = Date.now() + waitSeconds * 1000;
  // Registered before the first attempt, so work announced between an attempt and the wait wakes it.
  const waiter = signals.waiter(ctx.viewer.id);
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

async function claimOnce(ctx: ServiceContext, workerId: string, leaseSeconds: number): Promise<TaskAssignment | null> {
  const claimed = await change(ctx.prisma, async (tx, record) => {
    // SKIP LOCKED: concurrent claims each take a different row instead of queueing on the first;
    // a row another claim already committed as RUNNING is re-checked under the lock and skipped.
    const [row] = await tx.$queryRaw<{ id: string }[]>`
      SELECT id FROM tasks WHERE owner_id = ${ctx.viewer.id}::uuid AND status = 'pending'
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
    record(historyEvent(aboutTask(task), 'TASK', 'status_changed', { from: 'PENDING', to: 'RUNNING', workerId, reason, leaseExpiresAt: leaseExpiresAt.toISOString() }));
    const conversation = await pathMessages(tx, task.headMessageId, 0, task.messageCount);
    return { task, reason, conversation, leaseExpiresAt, resumeNote: pending.resumeNote };
  });
  if (!claimed) return null;
  const { task } = claimed;
  if (!task.worktreePath || !task.branch) throw new Error(`task ${task.id} has no worktree or branch`);
  return { ...claimed, worktreePath: task.worktreePath, branch: task.branch, commitSha: await currentHead(ctx, task) };
}

export interface WorkerCall {
  taskId: string;
  workerId: string;
}

/**
 * Extends the lease of the worker that holds the task by `leaseSeconds` from now.
 * issue #15 (cancelTask) — keep in a rewrite: holdTask refuses a task whose cancel_requested_at is
 * set (it ends the task CANCELLED and answers CONFLICT with reason CANCELLED). A one-statement
 * renewal must add `AND cancel_requested_at IS NULL` to its WHERE and fall back to holdTask when no
 * row matched, so that the worker still learns of the cancel at its next renewal.
 */
export async function renewLease(ctx: ServiceContext, input: WorkerCall & { leaseSeconds?: number | null }): Promise<Date> {
  const leaseSeconds = assertLeaseSeconds(input.leaseSeconds, ctx.config.defaultLeaseSeconds);
  return change(ctx.prisma, async (tx, record) => {
    const task = await holdTask(tx, record, ctx.viewer, { ...input, action: 'renew the lease' });
    const leaseExpiresAt = new Date((await databaseNow(tx)).getTime() + leaseSeconds * 1000);
    await tx.task.update({ where: { id: task.id }, data: { leaseExpiresAt } });
    record(historyEvent(aboutTask(task), 'TASK', 'lease_renewed', { workerId: input.workerId, leaseExpiresAt: leaseExpiresAt.toISOString() }));
    return leaseExpiresAt;
  });
}

export async function completeTask(ctx: ServiceContext, input: WorkerCall): Promise<Task> {
  return change(ctx.prisma, async (tx, record) => {
    const task = await holdTask(tx, record, ctx.viewer, { ...input, action: 'complete the task' });
    const updated = await tx.task.update({
      where: { id: task.id },
      data: { status: 'COMPLETED', leaseExpiresAt: null, version: { increment: 1 } },
    });
    record(historyEvent(aboutTask(task), 'TASK', 'completed', { from: 'RUNNING', to: 'COMPLETED', workerId: input.workerId }));
    return updated;
  });
}

export async function failTask(ctx: ServiceContext, input: WorkerCall & { error: string }): Promise<Task> {
  const error = input.error.trim();
  if (!error) throw new BadInputError('error must not be empty: say why the task failed', 'error');
  if (error.length > MAX_ERROR_LENGTH) throw new BadInputError(`error is longer than ${MAX_ERROR_LENGTH} characters`, 'error');
  return change(ctx.prisma, async (tx, record) => {
    const task = await holdTask(tx, record, ctx.viewer, { ...input, action: 'fail the task' });
    const updated = await tx.task.update({
      where: { id: task.id },
      data: { status: 'FAILED', lastError: error, leaseExpiresAt: null, version: { increment: 1 } },
    });
    record(historyEvent(aboutTask(task), 'TASK', 'failed', { from: 'RUNNING', to: 'FAILED', workerId: input.workerId, error }));
    return updated;
  });
}
