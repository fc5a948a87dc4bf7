// The tasks' hot-path SQL (docs/design.md §9): a task row read and locked outside Prisma, returned
// in exactly the shape Prisma's `Task` has. The column map is typed against the model, so a field
// added to schema.prisma fails the type check here until it is mapped.
import { actingWorker } from '../../db/actor.js';
import type { RawTransaction } from '../../db/database.js';
import type { Task } from '../../generated/prisma/client.js';

/** Each field of `Task` as a SQL expression over `tasks` (enums are stored lower case, named upper case). */
const TASK_FIELDS: { [K in keyof Task]-?: string } = {
  id: 'id',
  ownerId: 'owner_id',
  contractId: 'contract_id',
  name: 'name',
  prompt: 'prompt',
  status: 'upper(status::text)',
  isSupervisor: 'is_supervisor',
  worktreePath: 'worktree_path',
  branch: 'branch',
  baseCommit: 'base_commit',
  headCommit: 'head_commit',
  forkedFromTaskId: 'forked_from_task_id',
  forkedAtCheckpointId: 'forked_at_checkpoint_id',
  forkedAtMessageId: 'forked_at_message_id',
  continuedFromTaskId: 'continued_from_task_id',
  headMessageId: 'head_message_id',
  messageCount: 'message_count',
  pendingReason: 'upper(pending_reason::text)',
  resumeNote: 'resume_note',
  lastError: 'last_error',
  version: 'version',
  workerId: 'worker_id',
  leaseExpiresAt: 'lease_expires_at',
  cancelRequestedAt: 'cancel_requested_at',
  cancelReason: 'cancel_reason',
  archivedAt: 'archived_at',
  codeInRefs: 'code_in_refs',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
};

/** `SELECT` list of a task row as Prisma's Task, over the table alias `alias`. */
export function taskColumns(alias: string): string {
  return Object.entries(TASK_FIELDS)
    .map(([field, sql]) => `${sql.replace(/\b([a-z_]+)\b(?!\()/g, (col) => (col === 'upper' || col === 'text' ? col : `${alias}.${col}`))} AS "${field}"`)
    .join(', ');
}

/** A row of `taskColumns` as a Task (pg and PGlite already give Dates for timestamptz). */
export function taskFromRow(row: Record<string, unknown>): Task {
  const task = {} as Record<string, unknown>;
  for (const field of Object.keys(TASK_FIELDS)) task[field] = row[field];
  return task as unknown as Task;
}

/**
 * Locks the owner's task row for the rest of the transaction and reads it, with the database's
 * clock after the lock was granted. Null when the owner has no such task.
 */
export async function lockOwnTaskRow(sql: RawTransaction, taskId: string, ownerId: string): Promise<{ task: Task; now: Date } | null> {
  const rows = await sql.query<Record<string, unknown>>(
    `SELECT ${taskColumns('t')}, clock_timestamp() AS "clockNow"
       FROM tasks t WHERE t.id = $1::uuid AND t.owner_id = $2::uuid FOR UPDATE`,
    [taskId, ownerId],
  );
  return rows.length ? { task: taskFromRow(rows[0]), now: new Date(rows[0].clockNow as Date) } : null;
}

/**
 * Whether the caller may write to the task now: the owner (no worker), or the worker holding its
 * live lease with no cancel asked of it (cancelTask: the general path tells the worker). A worker's
 * write is then recorded as the worker's (db/actor.ts).
 */
export function mayWrite(task: Task, workerId: string | null | undefined, now: Date): boolean {
  if (workerId == null) return true;
  const holds =
    task.status === 'RUNNING' && task.workerId === workerId && task.leaseExpiresAt !== null && task.leaseExpiresAt >= now && task.cancelRequestedAt === null;
  if (holds) actingWorker(workerId);
  return holds;
}
