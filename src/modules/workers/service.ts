// The worker protocol: workers claim pending tasks (with the full context to run them), hold them
// through a renewed lease, and complete or fail them. Who may change a task a worker holds is
// decided in change/access.ts (holdTask); lapsed leases are swept by sweep.ts.
import type { AppContext, ServiceContext } from '../../context.js';
import { change } from '../../db/change.js';
import { BadInputError } from '../../errors.js';
import { Prisma, type AssignmentReason, type ConversationMessage, type Task } from '../../generated/prisma/client.js';
import { workSignals } from '../../live/work.js';
import { findOwnContract } from '../contracts/index.js';
import { pathMessages } from '../conversation/index.js';
import { aboutTask, historyEvent } from '../../change/catalogue.js';
import { assertWorkerId, databaseNow, holdTask } from '../../change/access.js';
import { changeWithGit } from '../../change/with-git.js';
import { currentHead } from '../tasks/index.js';
import { placeCode } from './remote.js';
import { renewHeldLease } from './sql.js';
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
  /** The server worktree; empty for a remote claim (the code is at the contract's gitUrl, docs/design.md §11). */
  worktreePath: string;
  branch: string;
  commitSha: string;
  leaseExpiresAt: Date;
  resumeNote: string | null;
  /** Claimed with `remote: true`: the worker materialises the code itself from the contract's gitUrl. */
  remote: boolean;
}

export interface ClaimTaskInput {
  workerId: string;
  leaseSeconds?: number | null;
  waitSeconds?: number | null;
  /** Only tasks of these contracts (decoded UUIDs); null or undefined: any of the viewer's. */
  contractIds?: readonly string[] | null;
  /** true: only supervisors; false: never a supervisor; null or undefined: either. */
  supervisor?: boolean | null;
  /** The worker fetches the code over git itself (docs/design.md §11); the task's code then lives in its branch, not in a server worktree. */
  remote?: boolean | null;
}

/** Which pending tasks a claim may take: what a worker is for (docs/design.md §4). */
interface ClaimFilter {
  contractIds?: string[];
  supervisor?: boolean;
}

/** The claim's filter, once its contracts are known to be the viewer's (NOT_FOUND otherwise, before any wait). */
async function claimFilter(ctx: ServiceContext, input: ClaimTaskInput): Promise<ClaimFilter> {
  const filter: ClaimFilter = input.supervisor == null ? {} : { supervisor: input.supervisor };
  if (input.contractIds == null) return filter;
  const contractIds = [...new Set(input.contractIds)];
  if (!contractIds.length) throw new BadInputError('contractIds must name at least one contract; leave it out to claim from any', 'contractIds');
  for (const contractId of contractIds) await findOwnContract(ctx.prisma, ctx.viewer, contractId);
  return { ...filter, contractIds };
}

function claimConditions(filter: ClaimFilter): Prisma.Sql {
  const conditions: Prisma.Sql[] = [];
  if (filter.contractIds) conditions.push(Prisma.sql`AND contract_id IN (${Prisma.join(filter.contractIds.map((id) => Prisma.sql`${id}::uuid`))})`);
  if (filter.supervisor !== undefined) conditions.push(Prisma.sql`AND is_supervisor = ${filter.supervisor}`);
  return conditions.length ? Prisma.join(conditions, ' ') : Prisma.empty;
}

function assertWaitSeconds(waitSeconds: number | null | undefined): number {
  const value = waitSeconds ?? 0;
  if (!Number.isInteger(value) || value < 0 || value > MAX_WAIT_SECONDS) {
    throw new BadInputError(`waitSeconds must be between 0 and ${MAX_WAIT_SECONDS}`, 'waitSeconds');
  }
  return value;
}

/**
 * Claims the viewer's oldest PENDING task for `workerId` (of the given contracts, supervisor or not,
 * when the worker says what it is for), or returns null. With `waitSeconds`, a
 * claim that finds nothing waits for work to become pending (a notification, not polling) and
 * tries again, until the time is up, the client goes away (`signal`) or the server stops.
 */
export async function claimTask(ctx: ServiceContext, input: ClaimTaskInput, signal?: AbortSignal): Promise<TaskAssignment | null> {
  const workerId = assertWorkerId(input.workerId);
  const leaseSeconds = assertLeaseSeconds(input.leaseSeconds, ctx.config.defaultLeaseSeconds);
  const waitSeconds = assertWaitSeconds(input.waitSeconds);
  const filter = await claimFilter(ctx, input);
  const claim = () => claimOnce(ctx, workerId, leaseSeconds, filter, input.remote ?? false);
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

async function claimOnce(ctx: ServiceContext, workerId: string, leaseSeconds: number, filter: ClaimFilter, remote: boolean): Promise<TaskAssignment | null> {
  const claimed = await changeWithGit(ctx, 'claim task', async (gitChange) => {
    const { tx, record } = gitChange;
    // SKIP LOCKED: concurrent claims each take a different row instead of queueing on the first;
    // a row another claim already committed as RUNNING is re-checked under the lock and skipped.
    const [row] = await tx.$queryRaw<{ id: string }[]>`
      SELECT id FROM tasks WHERE owner_id = ${ctx.viewer.id}::uuid AND status = 'pending' ${claimConditions(filter)}
       ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED`;
    if (!row) return null;
    const pending = await tx.task.findUniqueOrThrow({ where: { id: row.id } });
    const now = await databaseNow(tx);
    const leaseExpiresAt = new Date(now.getTime() + leaseSeconds * 1000);
    const reason = pending.pendingReason ?? 'NEW';
    const running = await tx.task.update({
      where: { id: pending.id },
      data: { status: 'RUNNING', workerId, leaseExpiresAt, pendingReason: null, resumeNote: null, version: { increment: 1 } },
    });
    const task = await placeCode(gitChange, running, remote);
    record(historyEvent(aboutTask(task), 'TASK', 'status_changed', { from: 'PENDING', to: 'RUNNING', workerId, reason, leaseExpiresAt: leaseExpiresAt.toISOString() }));
    const conversation = await pathMessages(tx, task.headMessageId, 0, task.messageCount);
    return { task, reason, conversation, leaseExpiresAt, resumeNote: pending.resumeNote };
  });
  if (!claimed) return null;
  const { task } = claimed;
  if (!task.worktreePath || !task.branch) throw new Error(`task ${task.id} has no worktree or branch`);
  if (remote) return { ...claimed, remote, worktreePath: '', branch: task.branch, commitSha: task.headCommit ?? (await currentHead(ctx, task)) };
  return { ...claimed, remote, worktreePath: task.worktreePath, branch: task.branch, commitSha: await currentHead(ctx, task) };
}

export interface WorkerCall {
  taskId: string;
  workerId: string;
}

/**
 * Extends the lease of the worker that holds the task by `leaseSeconds` from now. A renewal is not
 * history (docs/design.md §7): it is one conditional UPDATE, with no transaction of its own and no
 * event — the task's `leaseExpiresAt` shows it. Only when that UPDATE finds nothing to renew does the
 * call take the full path, which says why (not found, not held, or lapsed — then recorded).
 */
export async function renewLease(ctx: ServiceContext, input: WorkerCall & { leaseSeconds?: number | null }): Promise<Date> {
  const leaseSeconds = assertLeaseSeconds(input.leaseSeconds, ctx.config.defaultLeaseSeconds);
  const workerId = assertWorkerId(input.workerId);
  for (;;) {
    const renewed = await renewHeldLease(ctx.db, { taskId: input.taskId, ownerId: ctx.viewer.id, workerId, leaseSeconds });
    if (renewed) return renewed;
    // Refuses (committing a lapse first); returns null only if the task became renewable meanwhile.
    await change(ctx.prisma, async (tx, record) => {
      await holdTask(tx, record, ctx.viewer, { ...input, action: 'renew the lease' });
      return null;
    });
  }
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
