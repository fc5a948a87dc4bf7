// Who may change a task right now — the floor every write to a task stands on (docs/design.md §8).
// A change locks the task's row for its whole transaction (changes to one task are serialized);
// the owner may change it, and a worker only while it holds the task's live lease. When a lease has
// lapsed is stated once, in SQL (makima_lease_lapsed, docs/design.md §9), which every query asks,
// leaseLive included. What follows a lapse (the task becomes
// INTERRUPTED, with a TASK/interrupted event) is interruptLapsed, used by the lease sweep and by
// every call that finds one. Times come from the database's clock, so that several server instances agree.
import type { Viewer } from '../context.js';
import { actingWorker } from '../db/actor.js';
import { RefuseAfterCommit, type RecordEvent, type Tx } from '../db/change.js';
import { BadInputError, ConflictError, NotFoundError } from '../errors.js';
import type { Prisma, PrismaClient, Task } from '../generated/prisma/client.js';
import { aboutTask, historyEvent } from './catalogue.js';

export const MAX_WORKER_ID_LENGTH = 200;

type Db = Tx | PrismaClient;

/** The viewer's task, or NOT_FOUND (another user's task is indistinguishable from a missing one). */
export async function findOwnTask(db: Db, viewer: Viewer, taskId: string, query: Omit<Prisma.TaskFindFirstArgs, 'where'> = {}): Promise<Task> {
  const task = await db.task.findFirst({ ...query, where: { id: taskId, ownerId: viewer.id } });
  if (!task) throw new NotFoundError('task', taskId);
  return task;
}

/** Locks the viewer's task row for the rest of the transaction: changes to one task are serialized. */
export async function lockTask(tx: Tx, viewer: Viewer, taskId: string): Promise<Task> {
  const rows = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM tasks WHERE id = ${taskId}::uuid AND owner_id = ${viewer.id}::uuid FOR UPDATE`;
  if (rows.length === 0) throw new NotFoundError('task', taskId);
  return tx.task.findUniqueOrThrow({ where: { id: taskId } });
}

/**
 * The archived rule (docs/design.md §12), the one place it is decided: an archived task's record is
 * closed — nothing is written to it again, by its owner or anyone (its worktree and branch are gone,
 * and what it holds is what was archived). It can still be read, exported, forked from and branched
 * from. An archived contract takes nothing new: no task (created, forked or imported), no phase.
 * A CANCELLED task that is not archived stays its owner's to change; only workers are shut out.
 */
export function archivedError(what: 'task' | 'contract', id: string, archivedAt: Date, action: string): ConflictError {
  const instead =
    what === 'task'
      ? 'Fork it (forkTask, from a checkpoint or a message) to go on from it.'
      : 'Start a new contract on the repository; branchFromCheckpoint brings back the code of any of its checkpoints.';
  return new ConflictError(`cannot ${action}: ${what} ${id} was archived at ${archivedAt.toISOString()}, and an archived ${what} takes no writes. ${instead}`, {
    reason: 'ARCHIVED',
    archivedAt: archivedAt.toISOString(),
  });
}

/** CONFLICT (reason ARCHIVED) when the task is archived: see archivedError. */
export function assertTaskOpen(task: Pick<Task, 'id' | 'archivedAt'>, action: string): void {
  if (task.archivedAt) throw archivedError('task', task.id, task.archivedAt, action);
}

/** CONFLICT (reason ARCHIVED) when the contract is archived: see archivedError. */
export function assertContractOpen(contract: { id: string; archivedAt: Date | null }, action: string): void {
  if (contract.archivedAt) throw archivedError('contract', contract.id, contract.archivedAt, action);
}

/** A worker id is the worker's own name for itself: non-empty, printable, at most 200 characters. */
export function assertWorkerId(workerId: string): string {
  if (!/\S/.test(workerId)) throw new BadInputError('workerId must not be empty', 'workerId');
  if (workerId.length > MAX_WORKER_ID_LENGTH) {
    throw new BadInputError(`workerId is longer than ${MAX_WORKER_ID_LENGTH} characters`, 'workerId');
  }
  if (/\p{C}/u.test(workerId)) throw new BadInputError('workerId must contain only printable characters', 'workerId');
  return workerId;
}

/** The database's clock (not the transaction's start time: a row lock may have been waited for). */
export async function databaseNow(tx: Tx): Promise<Date> {
  const [row] = await tx.$queryRaw<{ now: Date }[]>`SELECT clock_timestamp() AS now`;
  return new Date(row.now);
}

interface InterruptedRow {
  id: string;
  status: 'interrupted' | 'cancelled';
  cancel_reason: string | null;
  owner_id: string;
  contract_id: string | null;
  worker_id: string | null;
  lease_expires_at: Date;
}

/**
 * Marks RUNNING tasks whose lease has lapsed INTERRUPTED (all of them, or only `taskId`) and records
 * a TASK/interrupted event for each, in `tx` — or CANCELLED (TASK/cancelled) when a cancel was
 * asked of it (cancelTask): the worker that should have been told is gone. Safe to run concurrently on several instances: the
 * conditional UPDATE re-checks each row under its lock, so each lapse is recorded exactly once.
 * The worker id and lease expiry are kept, so a late call can be told whose lease lapsed and when.
 */
export async function interruptLapsed(tx: Tx, record: RecordEvent, detectedBy: string, taskId?: string): Promise<string[]> {
  const rows = await tx.$queryRaw<InterruptedRow[]>`
    UPDATE tasks SET status = (CASE WHEN cancel_requested_at IS NULL THEN 'interrupted' ELSE 'cancelled' END)::task_status,
           version = version + 1, updated_at = clock_timestamp()
     WHERE makima_lease_lapsed(tasks)
       AND (${taskId ?? null}::uuid IS NULL OR id = ${taskId ?? null}::uuid)
    RETURNING id, status::text AS status, cancel_reason, owner_id, contract_id, worker_id, lease_expires_at`;
  for (const row of rows) {
    if (row.status === 'cancelled') {
      record(
        historyEvent({ ownerId: row.owner_id, contractId: row.contract_id, taskId: row.id }, 'TASK', 'cancelled', {
          from: 'RUNNING',
          to: 'CANCELLED',
          reason: row.cancel_reason,
          workerId: row.worker_id,
          detectedBy: `${detectedBy} (lease lapsed)`,
        }),
      );
      continue;
    }
    record(
      historyEvent({ ownerId: row.owner_id, contractId: row.contract_id, taskId: row.id }, 'TASK', 'interrupted', {
        from: 'RUNNING',
        to: 'INTERRUPTED',
        workerId: row.worker_id,
        leaseExpiredAt: new Date(row.lease_expires_at).toISOString(),
        detectedBy,
      }),
    );
  }
  return rows.map((r) => r.id);
}

/** The refusal a worker gets once the task it ran was cancelled: `reason: CANCELLED` tells it to stop its agent. */
export function cancelledError(task: Task, action: string): ConflictError {
  const why = task.cancelReason ? ` (${task.cancelReason})` : '';
  return new ConflictError(`cannot ${action}: task ${task.id} was cancelled${why}. Stop its agent and claim new work.`, {
    reason: 'CANCELLED',
    status: 'CANCELLED',
    cancelReason: task.cancelReason,
  });
}

function notHeldError(task: Task, workerId: string, action: string): ConflictError {
  if (task.status === 'CANCELLED') return cancelledError(task, action);
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

/** What makima_hold_task (prisma/migrations/20261205080000_hot_writes, restated in 20261206010000_import_writes) says of a caller and a task it locked. */
export type HoldVerdict = 'not_found' | 'archived' | 'owner' | 'held' | 'lapsed' | 'not_held' | 'cancel_requested';

export interface TaskHold {
  taskId: string;
  /** Set when a worker makes the call: it must hold the task's live lease. */
  workerId?: string | null;
  /** What the caller is doing, for the refusal ("append messages"). */
  action: string;
}

/**
 * Locks the viewer's task for the rest of the change and checks that the caller may change it.
 * Without a workerId the call is the owner's own. With one, the worker must hold the task —
 * RUNNING, leased by it, lease not lapsed — or the call is a CONFLICT saying why; a lapsed lease
 * found here is recorded first (the task becomes INTERRUPTED, committed) and then refused.
 * An archived task is a CONFLICT for everyone (assertTaskOpen). Another user's task is NOT_FOUND.
 */
export async function holdTask(tx: Tx, record: RecordEvent, viewer: Viewer, hold: TaskHold): Promise<Task> {
  const workerId = hold.workerId == null ? null : assertWorkerId(hold.workerId);
  // The rule is the database's (makima_hold_task, docs/design.md §9): the hot writes check it in the same statement.
  const [{ verdict }] = await tx.$queryRaw<{ verdict: HoldVerdict }[]>`SELECT makima_hold_task(${hold.taskId}::uuid, ${viewer.id}::uuid, ${workerId}::text) AS verdict`;
  if (verdict === 'not_found') throw new NotFoundError('task', hold.taskId);
  const locked = await tx.task.findUniqueOrThrow({ where: { id: hold.taskId } });
  if (verdict === 'archived') throw archivedError('task', locked.id, locked.archivedAt!, hold.action);
  if (workerId === null) return locked;
  actingWorker(workerId);
  if (verdict === 'lapsed') {
    await interruptLapsed(tx, record, hold.action, hold.taskId);
    const task = await tx.task.findUniqueOrThrow({ where: { id: hold.taskId } });
    throw new RefuseAfterCommit(notHeldError(task, workerId, hold.action));
  }
  if (verdict === 'not_held') throw notHeldError(locked, workerId, hold.action);
  if (verdict === 'cancel_requested') {
    // cancelTask asked this running task to stop: its worker learns it now, and the task ends CANCELLED.
    const cancelled = await tx.task.update({ where: { id: locked.id }, data: { status: 'CANCELLED', leaseExpiresAt: null, version: { increment: 1 } } });
    record(historyEvent(aboutTask(locked), 'TASK', 'cancelled', { from: 'RUNNING', to: 'CANCELLED', reason: locked.cancelReason, workerId, detectedBy: hold.action }));
    throw new RefuseAfterCommit(cancelledError(cancelled, hold.action));
  }
  return locked;
}

/**
 * Whether the task runs under a live lease now: RUNNING, and its lease not lapsed by the database's
 * clock (makima_lease_lapsed, the rule every query asks). Asked of the database, not of a row in
 * hand, so that every instance reads the same clock; the task's row is locked by the caller.
 */
export async function leaseLive(tx: Db, taskId: string): Promise<boolean> {
  const [row] = await tx.$queryRaw<{ live: boolean }[]>`
    SELECT (t.status = 'running' AND t.lease_expires_at IS NOT NULL AND NOT makima_lease_lapsed(t)) AS live FROM tasks t WHERE t.id = ${taskId}::uuid`;
  return row?.live === true;
}

/** A task a worker holds (running, lease not lapsed) cannot be rewound or resumed under it (forking only reads it). */
export async function assertNotHeldByWorker(tx: Db, task: Task, action: string): Promise<void> {
  if (await leaseLive(tx, task.id)) {
    throw new ConflictError(
      `task ${task.id} is being run by worker ${task.workerId ?? '?'} (lease until ${task.leaseExpiresAt?.toISOString() ?? '?'}); ` +
        `it cannot be ${action} while it runs. Wait until it finishes or its lease lapses.`,
      { workerId: task.workerId, leaseExpiresAt: task.leaseExpiresAt?.toISOString() ?? null },
    );
  }
}
