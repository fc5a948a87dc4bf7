// Leases: a worker holds a RUNNING task until its lease expires. The one rule for a lapsed lease
// (the task becomes INTERRUPTED, with a TASK/interrupted event) is interruptLapsed, used both by
// the periodic sweep and by every worker call on a task (withLease). Times come from the
// database's clock, so that several server instances agree.
import type { Viewer } from '../../context.js';
import { change, type RecordEvent, type Tx } from '../../db/change.js';
import { BadInputError, ConflictError } from '../../errors.js';
import type { PrismaClient, Task } from '../../generated/prisma/client.js';
import { lockTask } from '../tasks/service.js';

export const MAX_WORKER_ID_LENGTH = 200;
export const MAX_LEASE_SECONDS = 3600;

/** A worker id is the worker's own name for itself: non-empty, printable, at most 200 characters. */
export function assertWorkerId(workerId: string): string {
  if (!/\S/.test(workerId)) throw new BadInputError('workerId must not be empty', 'workerId');
  if (workerId.length > MAX_WORKER_ID_LENGTH) {
    throw new BadInputError(`workerId is longer than ${MAX_WORKER_ID_LENGTH} characters`, 'workerId');
  }
  if (/\p{C}/u.test(workerId)) throw new BadInputError('workerId must contain only printable characters', 'workerId');
  return workerId;
}

export function assertLeaseSeconds(leaseSeconds: number | null | undefined, fallback: number): number {
  const value = leaseSeconds ?? fallback;
  if (!Number.isInteger(value) || value < 1 || value > MAX_LEASE_SECONDS) {
    throw new BadInputError(`leaseSeconds must be between 1 and ${MAX_LEASE_SECONDS}`, 'leaseSeconds');
  }
  return value;
}

/** The database's clock (not the transaction's start time: a row lock may have been waited for). */
export async function databaseNow(tx: Tx): Promise<Date> {
  const [row] = await tx.$queryRaw<{ now: Date }[]>`SELECT clock_timestamp() AS now`;
  return new Date(row.now);
}

interface InterruptedRow {
  id: string;
  owner_id: string;
  contract_id: string | null;
  worker_id: string | null;
  lease_expires_at: Date;
}

/**
 * Marks RUNNING tasks whose lease has lapsed INTERRUPTED (all of them, or only `taskId`) and records
 * a TASK/interrupted event for each, in `tx`. Safe to run concurrently on several instances: the
 * conditional UPDATE re-checks each row under its lock, so each lapse is recorded exactly once.
 * The worker id and lease expiry are kept, so a late call can be told whose lease lapsed and when.
 */
export async function interruptLapsed(tx: Tx, record: RecordEvent, detectedBy: string, taskId?: string): Promise<string[]> {
  const rows = await tx.$queryRaw<InterruptedRow[]>`
    UPDATE tasks SET status = 'interrupted', version = version + 1, updated_at = clock_timestamp()
     WHERE status = 'running' AND lease_expires_at < clock_timestamp()
       AND (${taskId ?? null}::uuid IS NULL OR id = ${taskId ?? null}::uuid)
    RETURNING id, owner_id, contract_id, worker_id, lease_expires_at`;
  for (const row of rows) {
    record({
      ownerId: row.owner_id,
      contractId: row.contract_id,
      taskId: row.id,
      eventType: 'TASK',
      eventSubtype: 'interrupted',
      data: {
        from: 'RUNNING',
        to: 'INTERRUPTED',
        workerId: row.worker_id,
        leaseExpiredAt: new Date(row.lease_expires_at).toISOString(),
        detectedBy,
      },
    });
  }
  return rows.map((r) => r.id);
}

class NothingChanged extends Error {}

/**
 * change() for work that may find nothing to do (a claim with nothing pending, a sweep with no
 * lapsed lease): when `fn` returns null the empty transaction is rolled back and null returned.
 */
export async function changeOrNothing<T>(prisma: PrismaClient, fn: (tx: Tx, record: RecordEvent) => Promise<T | null>): Promise<T | null> {
  try {
    return await change(prisma, async (tx, record) => {
      const result = await fn(tx, record);
      if (result === null) throw new NothingChanged();
      return result;
    });
  } catch (err) {
    if (err instanceof NothingChanged) return null;
    throw err;
  }
}

function notHeldError(task: Task, workerId: string, action: string): ConflictError {
  const details = { status: task.status, workerId: task.workerId, leaseExpiresAt: task.leaseExpiresAt?.toISOString() ?? null };
  if (task.status === 'INTERRUPTED' && task.workerId === workerId && task.leaseExpiresAt) {
    return new ConflictError(
      `cannot ${action}: the lease of worker ${workerId} on task ${task.id} lapsed at ${task.leaseExpiresAt.toISOString()}; ` +
        'the task is INTERRUPTED — it may have been resumed elsewhere. Stop working on it and claim new work.',
      details,
    );
  }
  if (task.status !== 'RUNNING') {
    return new ConflictError(
      `cannot ${action}: task ${task.id} is ${task.status}, not RUNNING; worker ${workerId} does not hold it. Stop working on it and claim new work.`,
      details,
    );
  }
  return new ConflictError(
    `cannot ${action}: task ${task.id} is leased by another worker (${task.workerId ?? '?'}) until ${task.leaseExpiresAt?.toISOString() ?? '?'}, not by ${workerId}.`,
    details,
  );
}

/**
 * Inside a transaction that already holds the task's row lock: refuses (CONFLICT) unless
 * `workerId` holds the task — RUNNING, its lease, not lapsed. For calls whose transaction cannot
 * also record the interruption (the sweep records a lapse found here shortly after).
 */
export async function assertHeldBy(tx: Tx, task: Task, workerId: string, action: string): Promise<void> {
  assertWorkerId(workerId);
  if (task.status !== 'RUNNING' || task.workerId !== workerId) throw notHeldError(task, workerId, action);
  const now = await databaseNow(tx);
  if (!task.leaseExpiresAt || task.leaseExpiresAt <= now) {
    throw new ConflictError(
      `cannot ${action}: the lease of worker ${workerId} on task ${task.id} lapsed at ${task.leaseExpiresAt?.toISOString() ?? '?'}; ` +
        'the task is being interrupted — it may be resumed elsewhere. Stop working on it and claim new work.',
      { status: task.status, workerId: task.workerId, leaseExpiresAt: task.leaseExpiresAt?.toISOString() ?? null },
    );
  }
}

/**
 * Runs `fn` in one change() on a task that `workerId` holds: RUNNING, leased by that worker, lease
 * not lapsed. Otherwise CONFLICT with the reason; a lapsed lease found here is first recorded
 * (the task becomes INTERRUPTED, committed) and then refused. Another user's task is NOT_FOUND.
 */
export async function withLease<T>(
  prisma: PrismaClient,
  viewer: Viewer,
  target: { taskId: string; workerId: string; action: string },
  fn: (tx: Tx, record: RecordEvent, task: Task, now: Date) => Promise<T>,
): Promise<T> {
  const workerId = assertWorkerId(target.workerId);
  const outcome = await change(prisma, async (tx, record): Promise<{ ok: true; value: T } | { ok: false; refusal: ConflictError }> => {
    const locked = await lockTask(tx, viewer, target.taskId);
    const lapsed = await interruptLapsed(tx, record, target.action, target.taskId);
    const task = lapsed.length ? await tx.task.findUniqueOrThrow({ where: { id: target.taskId } }) : locked;
    // The interruption must commit even though the call is refused: return, then throw after commit.
    if (lapsed.length) return { ok: false, refusal: notHeldError(task, workerId, target.action) };
    if (task.status !== 'RUNNING' || task.workerId !== workerId) throw notHeldError(task, workerId, target.action);
    return { ok: true, value: await fn(tx, record, task, await databaseNow(tx)) };
  });
  if (!outcome.ok) throw outcome.refusal;
  return outcome.value;
}

/**
 * A change to one of the viewer's tasks, under its row lock. With a `workerId` the call comes from
 * a worker and must hold the task's lease (withLease); without one it is the owner's own write.
 */
export async function changeOwnTask<T>(
  prisma: PrismaClient,
  viewer: Viewer,
  target: { taskId: string; workerId?: string | null; action: string },
  fn: (tx: Tx, record: RecordEvent, task: Task) => Promise<T>,
): Promise<T> {
  if (target.workerId != null) {
    return withLease(prisma, viewer, { taskId: target.taskId, workerId: target.workerId, action: target.action }, (tx, record, task) => fn(tx, record, task));
  }
  return change(prisma, async (tx, record) => fn(tx, record, await lockTask(tx, viewer, target.taskId)));
}
