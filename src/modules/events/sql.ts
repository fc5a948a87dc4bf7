// A batch of task events as one statement (docs/design.md §3, §9): makima_record_task_events
// (prisma/migrations/20261206020000_task_events_notify_after_commit) holds the task, appends the
// batch after its last seq and returns its TASK/output history event; the change that records that
// event announces the task's stream once committed (db/change.ts). Every caller runs it, with its
// parameters bound.
import type { OneStatementWrite } from '../../db/change.js';
import type { TaskEventType } from '../../generated/prisma/client.js';

/** What makima_record_task_events returns (its comment in the migration says when each is set). */
export interface Recorded {
  refer?: string;
  now: string;
  ids: string[];
  firstSeq: number;
  history: { event_data: { count: number; types: TaskEventType[]; firstSeq: number; lastSeq: number } };
}

/** The call of makima_record_task_events, as a query (`$1`…`$4`: recordParams). */
export const RECORD_CALL = 'SELECT makima_record_task_events($1::uuid, $2::uuid, $3::text, $4::jsonb) AS r';

/** One event of a batch; `createdAt` (an imported session's) is its own time, absent: the batch's. */
export interface BatchEvent {
  type: string;
  data: unknown;
  createdAt?: Date | null;
}

export function recordParams(input: { taskId: string; ownerId: string; workerId: string | null; events: BatchEvent[] }): unknown[] {
  return [input.taskId, input.ownerId, input.workerId, JSON.stringify(input.events.map((e) => ({ type: e.type, data: e.data, createdAt: e.createdAt ?? null })))];
}

/** The one statement of the hot path (db/change.ts changeInOneStatement). */
export function recordWrite(input: Parameters<typeof recordParams>[0]): OneStatementWrite {
  return { call: RECORD_CALL, params: recordParams(input), ownerId: input.ownerId, taskId: input.taskId };
}
