// The conversation's append as one statement (docs/design.md §3, §9): makima_append_messages
// (prisma/migrations/20261205080000_hot_writes, its links by makima_link_messages since
// 20261206010000_import_writes) holds the task, links and writes the messages, the
// automatic snapshots and the task's new head; every caller runs it, with its parameters bound.
import type { OneStatementWrite } from '../../db/change.js';
import type { MessageRole } from '../../generated/prisma/client.js';
import { taskColumns } from '../tasks/index.js';

export interface AppendParams {
  taskId: string;
  ownerId: string;
  workerId: string | null;
  /** Set: nothing is written unless this is still the head (null: the conversation is empty). */
  expectedHeadId: string | null | undefined;
  messages: { role: string; content: unknown; toolCalls?: unknown }[];
  snapshotEvery: number;
}

/** What makima_append_messages returns (its comment in the migration says when each is set). */
export interface Appended {
  refer?: string;
  conflict?: true;
  currentHeadId?: string | null;
  now: string;
  messages: { id: string; parentId: string | null; depth: number; jumpId: string | null; jumpDepth: number | null }[];
  snapshots: { id: string; messageCount: number; headMessageId: string }[];
  history: { event_data: { count: number; headId: string; messageCount: number; roles: MessageRole[] } };
}

/** The call of makima_append_messages, as a query (`$1`…`$7`: appendParams). */
export const APPEND_CALL = 'SELECT makima_append_messages($1::uuid, $2::uuid, $3::text, $4::boolean, $5::uuid, $6::jsonb, $7::int) AS r';

export function appendParams(input: AppendParams): unknown[] {
  return [
    input.taskId,
    input.ownerId,
    input.workerId,
    input.expectedHeadId !== undefined,
    input.expectedHeadId ?? null,
    JSON.stringify(input.messages.map((m) => ({ role: m.role, content: m.content, toolCalls: m.toolCalls ?? null }))),
    input.snapshotEvery,
  ];
}

/**
 * The one statement of the hot path (db/change.ts changeInOneStatement): the call, and the task row
 * as the call left it, in Task's shape (tasks/sql.ts taskFromRow; all null when it wrote nothing).
 */
export function appendWrite(input: AppendParams): OneStatementWrite {
  return {
    call: APPEND_CALL,
    params: appendParams(input),
    ownerId: input.ownerId,
    taskId: input.taskId,
    columns: taskColumns('t'),
    join: "LEFT JOIN LATERAL jsonb_populate_record(NULL::tasks, written.r -> 'task') AS t ON true",
  };
}
