// The task events' hot-path SQL (docs/design.md §3, §9): a batch appended to a task's stream in one
// statement on one connection outside Prisma.
import type { RawTransaction } from '../../db/database.js';
import { TASK_EVENTS_CHANNEL } from '../../db/change.js';

/**
 * Appends the batch after the task's last seq (the caller holds the task's row lock, and this
 * statement's snapshot is taken after it was granted, so the last seq read here is final), and
 * notifies the task's listeners on commit. Returns the first seq and the stored time.
 */
export async function insertTaskEvents(
  sql: RawTransaction,
  input: { taskId: string; events: { id: string; type: string; data: unknown }[] },
): Promise<{ firstSeq: number; now: Date }> {
  const rows = await sql.query<{ first_seq: number; now: Date }>(
    `WITH base AS (
       SELECT coalesce(max(seq), 0) AS last FROM task_events WHERE task_id = $1::uuid
     ), inserted AS (
       INSERT INTO task_events (id, task_id, seq, type, data, created_at)
       SELECT e.id, $1::uuid, base.last + e.ord, lower(e.type)::task_event_type, e.data, now()
         FROM base, jsonb_to_recordset($2::jsonb) AS e(ord int, id uuid, type text, data jsonb)
       RETURNING 1
     )
     SELECT base.last + 1 AS first_seq, now()::timestamptz(3) AS now,
            (SELECT count(*) FROM inserted) AS written, pg_notify($3, $1::text) AS notified
       FROM base`,
    [input.taskId, JSON.stringify(input.events.map((e, i) => ({ ord: i + 1, id: e.id, type: e.type, data: e.data }))), TASK_EVENTS_CHANNEL],
  );
  return { firstSeq: Number(rows[0].first_seq), now: new Date(rows[0].now) };
}
