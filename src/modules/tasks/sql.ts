// The tasks' hot-path SQL (docs/design.md §9): a task row read outside Prisma, returned
// in exactly the shape Prisma's `Task` has. The column map is typed against the model, so a field
// added to schema.prisma fails the type check here until it is mapped.
import type { Task } from '../../generated/prisma/client.js';

/** Each field of `Task` as a SQL expression over `tasks` (enums are stored lower case, named upper case). */
const TASK_FIELDS: { [K in keyof Task]-?: string } = {
  id: 'id',
  ownerId: 'owner_id',
  contractId: 'contract_id',
  number: 'number',
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
  agentSession: 'agent_session',
  usageInputTokens: 'usage_input_tokens',
  usageOutputTokens: 'usage_output_tokens',
  usageCostUsd: 'usage_cost_usd',
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
