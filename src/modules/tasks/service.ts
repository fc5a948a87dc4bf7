// Tasks: creating one with its own worktree and branch, worktree inheritance, and reading tasks
// scoped to their owner.
import crypto from 'node:crypto';
import path from 'node:path';
import type { AppContext, Viewer } from '../../context.js';
import { change, type HistoryEventDraft, type Tx } from '../../db/change.js';
import { BadInputError, ConflictError, NotFoundError } from '../../errors.js';
import type { AssignmentReason, Contract, Prisma, Task } from '../../generated/prisma/client.js';
import { addWorktree, git, removeWorktree } from '../../git/repo.js';
import { notifyWorkPending } from '../mesh/work.js';

export const MAX_NAME_LENGTH = 200;
export const MAX_PROMPT_LENGTH = 100_000;

export function assertName(name: string, field = 'name'): string {
  const trimmed = name.trim();
  if (!trimmed) throw new BadInputError(`${field} must not be empty`, field);
  if (trimmed.length > MAX_NAME_LENGTH) throw new BadInputError(`${field} is longer than ${MAX_NAME_LENGTH} characters`, field);
  return trimmed;
}

/** The viewer's task, or NOT_FOUND (another user's task is indistinguishable from a missing one). */
export async function findOwnTask(db: Tx | AppContext['prisma'], viewer: Viewer, taskId: string): Promise<Task> {
  const task = await db.task.findFirst({ where: { id: taskId, ownerId: viewer.id } });
  if (!task) throw new NotFoundError('task', taskId);
  return task;
}

/** Locks the task row for the rest of the transaction: changes to one task are serialized. */
export async function lockTask(tx: Tx, viewer: Viewer, taskId: string): Promise<Task> {
  const rows = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM tasks WHERE id = ${taskId}::uuid AND owner_id = ${viewer.id}::uuid FOR UPDATE`;
  if (rows.length === 0) throw new NotFoundError('task', taskId);
  return tx.task.findUniqueOrThrow({ where: { id: taskId } });
}

function slug(name: string): string {
  const s = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return s || 'task';
}

export interface NewTask {
  owner: Viewer;
  contract: Contract;
  name: string;
  prompt?: string | null;
  isSupervisor?: boolean;
  startCommit: string;
  pendingReason?: AssignmentReason;
  data?: Partial<Prisma.TaskUncheckedCreateInput>;
  /** The TASK history event that records the creation: `created` unless the task is created as something more specific. */
  event?: { subtype: string; data: Record<string, unknown> };
}

/**
 * Creates a task's worktree and branch, then (in `tx`) its row. Returns the row and an `undo` that
 * removes the worktree if the surrounding transaction does not commit.
 */
async function provisionTask(
  ctx: AppContext,
  tx: Tx,
  record: (e: HistoryEventDraft) => void,
  spec: NewTask,
): Promise<{ task: Task; undo: () => Promise<void> }> {
  const id = crypto.randomUUID();
  const branch = `makima/${slug(spec.name)}-${id.slice(0, 8)}`;
  const worktreePath = path.join(ctx.config.worktreesDir, id);
  await addWorktree(spec.contract.repositoryPath, worktreePath, branch, spec.startCommit);
  const undo = () => removeWorktree(spec.contract.repositoryPath, worktreePath, branch);
  try {
    const task = await tx.task.create({
      data: {
        id,
        ownerId: spec.owner.id,
        contractId: spec.contract.id,
        name: spec.name,
        prompt: spec.prompt ?? null,
        isSupervisor: spec.isSupervisor ?? false,
        worktreePath,
        branch,
        baseCommit: spec.startCommit,
        headCommit: spec.startCommit,
        pendingReason: spec.pendingReason ?? 'NEW',
        ...spec.data,
      },
    });
    record({
      ownerId: spec.owner.id,
      contractId: spec.contract.id,
      taskId: id,
      eventType: 'TASK',
      eventSubtype: spec.event?.subtype ?? 'created',
      data: { name: spec.name, branch, baseCommit: spec.startCommit, isSupervisor: task.isSupervisor, ...spec.event?.data },
    });
    await notifyWorkPending(tx, spec.owner.id); // every new task is PENDING: wake waiting workers
    return { task, undo };
  } catch (err) {
    await undo();
    throw err;
  }
}

/** Creates a task (worktree, branch, row, event) inside a changeWithWorktrees transaction. */
export type Provision = (spec: NewTask) => Promise<Task>;

/**
 * Runs a change that may create tasks through `provision`; if the transaction fails, every worktree
 * and branch it created is removed again, so git and the database never disagree.
 */
export async function changeWithWorktrees<T>(
  ctx: AppContext,
  fn: (tx: Tx, record: (e: HistoryEventDraft) => void, provision: Provision) => Promise<T>,
): Promise<T> {
  const undos: (() => Promise<void>)[] = [];
  try {
    return await change(ctx.prisma, (tx, record) =>
      fn(tx, record, async (spec) => {
        const { task, undo } = await provisionTask(ctx, tx, record, spec);
        undos.push(undo);
        return task;
      }),
    );
  } catch (err) {
    for (const undo of undos) await undo();
    throw err;
  }
}

export interface CreateTaskInput {
  contractId: string;
  name: string;
  prompt?: string | null;
  continueFromTaskId?: string;
}

export async function createTask(ctx: AppContext, viewer: Viewer, input: CreateTaskInput): Promise<Task> {
  const name = assertName(input.name);
  if (input.prompt && input.prompt.length > MAX_PROMPT_LENGTH) {
    throw new BadInputError(`prompt is longer than ${MAX_PROMPT_LENGTH} characters`, 'prompt');
  }
  const contract = await ctx.prisma.contract.findFirst({ where: { id: input.contractId, ownerId: viewer.id } });
  if (!contract) throw new NotFoundError('contract', input.contractId);
  let startCommit = await git(contract.repositoryPath).revparse(['--verify', 'HEAD^{commit}']);
  let previous: Task | undefined;
  if (input.continueFromTaskId) {
    previous = await findOwnTask(ctx.prisma, viewer, input.continueFromTaskId);
    if (previous.contractId !== contract.id) {
      throw new BadInputError('continueFromTaskId must be a task of the same contract', 'continueFromTaskId');
    }
    startCommit = await currentHead(previous);
  }
  return changeWithWorktrees(ctx, (_tx, _record, provision) =>
    provision({
      owner: viewer,
      contract,
      name,
      prompt: input.prompt,
      startCommit,
      data: previous ? { continuedFromTaskId: previous.id } : {},
      // One change, one event: a continued task's creation is recorded as `continued`.
      event: previous ? { subtype: 'continued', data: { fromTaskId: previous.id, commit: startCommit } } : undefined,
    }),
  );
}

/** The commit a task's worktree is at now (its recorded head if the worktree is gone). */
export async function currentHead(task: Task): Promise<string> {
  if (task.worktreePath) {
    try {
      return await git(task.worktreePath).revparse(['--verify', 'HEAD^{commit}']);
    } catch {
      // fall through to the recorded head
    }
  }
  if (!task.headCommit) throw new BadInputError(`task ${task.id} has no commit to continue from`);
  return task.headCommit;
}

/** A task a worker holds (running, lease not lapsed) cannot be rewound or resumed under it (forking only reads it). */
export function assertNotHeldByWorker(task: Task, action: string, now = new Date()): void {
  if (task.status === 'RUNNING' && task.leaseExpiresAt && task.leaseExpiresAt > now) {
    throw new ConflictError(
      `task ${task.id} is being run by worker ${task.workerId ?? '?'} (lease until ${task.leaseExpiresAt.toISOString()}); ` +
        `it cannot be ${action} while it runs. Wait until it finishes or its lease lapses.`,
      { workerId: task.workerId, leaseExpiresAt: task.leaseExpiresAt.toISOString() },
    );
  }
}
