// The conversation's hot-path SQL (docs/design.md §3, §9): appending messages in two statements on
// one connection outside Prisma — one locks and reads the task with the head's jump spine, one
// writes the messages, the automatic snapshots and the task's new head.
import type { RawTransaction } from '../../db/database.js';
import type { Task } from '../../generated/prisma/client.js';
import { taskColumns, taskFromRow } from '../tasks/sql.js';

export interface SpineLink {
  id: string;
  depth: number;
  jumpId: string | null;
  jumpDepth: number | null;
}

const SPINE_ROWS = `
    SELECT m.id, m.depth, m.jump_id, m.jump_depth FROM conversation_messages m WHERE m.id = (SELECT head_message_id FROM t)
    UNION ALL
    SELECT m.id, m.depth, m.jump_id, m.jump_depth FROM conversation_messages m JOIN spine s ON m.id = s.jump_id`;

function spineFrom(json: unknown): Map<string, SpineLink> {
  const known = new Map<string, SpineLink>();
  for (const r of (json ?? []) as { id: string; depth: number; jump_id: string | null; jump_depth: number | null }[]) {
    known.set(r.id, { id: r.id, depth: r.depth, jumpId: r.jump_id, jumpDepth: r.jump_depth });
  }
  return known;
}

/**
 * Locks the owner's task and reads it, the database's clock, and the head message's chain of jump
 * targets, in one statement. When the lock had to wait for another writer of the same task, the
 * spine read in this statement's snapshot may predate that writer's head: it is then read again.
 */
export async function lockTaskWithSpine(
  sql: RawTransaction,
  taskId: string,
  ownerId: string,
): Promise<{ task: Task; now: Date; spine: Map<string, SpineLink> } | null> {
  const rows = await sql.query<Record<string, unknown>>(
    `WITH RECURSIVE t AS (
       SELECT ${taskColumns('tk')}, tk.head_message_id, clock_timestamp() AS "clockNow"
         FROM tasks tk WHERE tk.id = $1::uuid AND tk.owner_id = $2::uuid FOR UPDATE
     ), spine AS (${SPINE_ROWS})
     SELECT t.*, (SELECT json_agg(spine) FROM spine) AS spine FROM t`,
    [taskId, ownerId],
  );
  if (!rows.length) return null;
  const task = taskFromRow(rows[0]);
  let spine = spineFrom(rows[0].spine);
  if (task.headMessageId && !spine.has(task.headMessageId)) {
    const again = await sql.query<{ spine: unknown }>(
      `WITH RECURSIVE t AS (SELECT $1::uuid AS head_message_id), spine AS (${SPINE_ROWS}) SELECT (SELECT json_agg(spine) FROM spine) AS spine`,
      [task.headMessageId],
    );
    spine = spineFrom(again[0].spine);
  }
  return { task, now: new Date(rows[0].clockNow as Date), spine };
}

export interface MessageRow {
  id: string;
  parentId: string | null;
  role: string;
  content: unknown;
  toolCalls: unknown;
  depth: number;
  jumpId: string | null;
  jumpDepth: number | null;
}

/**
 * Inserts the messages (a chain, parent before child), the automatic snapshots at the given message
 * counts, and moves the task's head to the last message; returns the time stamped on all of them
 * (as stored, to the millisecond).
 */
export async function insertAppend(
  sql: RawTransaction,
  input: { taskId: string; messages: MessageRow[]; snapshots: { id: string; messageCount: number; headMessageId: string }[] },
): Promise<Date> {
  const last = input.messages[input.messages.length - 1];
  const rows = await sql.query<{ now: Date }>(
    `WITH inserted AS (
       INSERT INTO conversation_messages (id, task_id, parent_id, role, content, tool_calls, depth, jump_id, jump_depth, created_at)
       SELECT m.id, $1::uuid, m.parent_id, lower(m.role)::message_role, m.content, m."toolCalls", m.depth, m.jump_id, m.jump_depth, now()
         FROM jsonb_to_recordset($2::jsonb) AS m(id uuid, parent_id uuid, role text, content jsonb, "toolCalls" jsonb, depth int, jump_id uuid, jump_depth int)
       RETURNING 1
     ), snapshots AS (
       INSERT INTO conversation_snapshots (id, task_id, snapshot_type, message_count, head_message_id, created_at)
       SELECT s.id, $1::uuid, 'auto', s.message_count, s.head_message_id, now()
         FROM jsonb_to_recordset($3::jsonb) AS s(id uuid, message_count int, head_message_id uuid)
       RETURNING 1
     ), moved AS (
       UPDATE tasks SET head_message_id = $4::uuid, message_count = $5::int, version = version + 1, updated_at = now()
        WHERE id = $1::uuid
       RETURNING 1
     )
     SELECT now()::timestamptz(3) AS now, (SELECT count(*) FROM inserted) + (SELECT count(*) FROM snapshots) + (SELECT count(*) FROM moved) AS written`,
    [
      input.taskId,
      JSON.stringify(
        input.messages.map((m) => ({
          id: m.id,
          parent_id: m.parentId,
          role: m.role,
          content: m.content,
          toolCalls: m.toolCalls ?? null,
          depth: m.depth,
          jump_id: m.jumpId,
          jump_depth: m.jumpDepth,
        })),
      ),
      JSON.stringify(input.snapshots.map((s) => ({ id: s.id, message_count: s.messageCount, head_message_id: s.headMessageId }))),
      last.id,
      last.depth + 1,
    ],
  );
  return new Date(rows[0].now);
}
