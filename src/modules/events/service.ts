// A task's raw stream (docs/design.md §3): output, tool calls, tool results, errors and status lines, each
// with a per-task sequence number. A batch is written atomically, in one INSERT, with one history
// event, and listeners on TASK_EVENTS_CHANNEL learn that the task's stream grew; subscribers follow
// it live.
import type { ServiceContext } from '../../context.js';
import crypto from 'node:crypto';
import { change, changeRaw, TASK_EVENTS_CHANNEL } from '../../db/change.js';
import { storableJsonSize } from '../../db/json.js';
import { BadInputError } from '../../errors.js';
import type { Prisma, TaskEvent, TaskEventType } from '../../generated/prisma/client.js';
import { aboutTask, historyEvent } from '../history/catalogue.js';
import { catchUpThenLive, CATCH_UP_PAGE, type FollowOptions, type Live } from '../../live/follow.js';
import { findOwnTask, holdTask } from '../tasks/access.js';
import { lockOwnTaskRow, mayWrite } from '../tasks/sql.js';
import { insertTaskEvents } from './sql.js';

export const MAX_EVENTS_PER_BATCH = 1000;

export interface TaskEventDraft {
  type: TaskEventType;
  data: unknown;
}

/** `maxEventBytes`: the largest `data` of one event, as JSON text (MAKIMA_MAX_MESSAGE_BYTES). */
function validateDrafts(events: TaskEventDraft[], maxEventBytes: number): void {
  if (events.length === 0) throw new BadInputError('events must contain at least one event', 'events');
  if (events.length > MAX_EVENTS_PER_BATCH) {
    throw new BadInputError(`at most ${MAX_EVENTS_PER_BATCH} events can be recorded at once; send ${events.length} in several batches`, 'events');
  }
  events.forEach((e, i) => {
    if (e.data === undefined || e.data === null) throw new BadInputError(`events[${i}].data must not be null`, 'events');
    storableJsonSize(e.data, `events[${i}].data`, maxEventBytes);
  });
}

/**
 * Appends a batch of events to the task's stream, all or nothing. Sequence numbers continue the
 * task's own (1, 2, …) without gaps: they are assigned under the task's row lock, so concurrent
 * batches for one task are serialized and commit in seq order.
 */
export async function recordTaskEvents(
  ctx: ServiceContext,
  input: { taskId: string; events: TaskEventDraft[]; workerId?: string | null },
): Promise<TaskEvent[]> {
  validateDrafts(input.events, ctx.config.maxMessageBytes);
  const fast = await recordDirect(ctx, input);
  if (fast) return fast;
  return change(ctx.prisma, async (tx, record) => {
    // From a worker (workerId), only the holder of a live lease may record: a late worker is refused.
    const task = await holdTask(tx, record, ctx.viewer, { taskId: input.taskId, workerId: input.workerId, action: 'record task events' });
    const { _max } = await tx.taskEvent.aggregate({ where: { taskId: task.id }, _max: { seq: true } });
    const firstSeq = (_max.seq ?? 0) + 1;
    const created = await tx.taskEvent.createManyAndReturn({
      data: input.events.map((e, i) => ({ taskId: task.id, seq: firstSeq + i, type: e.type, data: e.data as Prisma.InputJsonValue })),
    });
    created.sort((a, b) => a.seq - b.seq);
    const lastSeq = created[created.length - 1].seq;
    record(historyEvent(aboutTask(task), 'TASK', 'output', { count: created.length, types: [...new Set(created.map((e) => e.type))], firstSeq, lastSeq }));
    // Delivered on commit only, like every NOTIFY: a listener never reads events that may roll back.
    await tx.$executeRaw`SELECT pg_notify(${TASK_EVENTS_CHANNEL}, ${task.id})`;
    return created;
  });
}

/**
 * The hot path of recordTaskEvents (docs/design.md §9): lock and read the task, write the batch,
 * write the history event — three statements on one connection plus BEGIN/COMMIT. A task that is
 * not the viewer's, or a worker that does not hold it, returns null (nothing written) for the
 * general path to answer.
 */
async function recordDirect(ctx: ServiceContext, input: { taskId: string; events: TaskEventDraft[]; workerId?: string | null }): Promise<TaskEvent[] | null> {
  return changeRaw(ctx.db, async (sql, record) => {
    const locked = await lockOwnTaskRow(sql, input.taskId, ctx.viewer.id);
    if (!locked || !mayWrite(locked.task, input.workerId, locked.now)) return null;
    const { task } = locked;
    const events = input.events.map((e) => ({ id: crypto.randomUUID(), type: e.type, data: e.data }));
    const { firstSeq, now } = await insertTaskEvents(sql, { taskId: task.id, events });
    const lastSeq = firstSeq + events.length - 1;
    record(historyEvent(aboutTask(task), 'TASK', 'output', { count: events.length, types: [...new Set(events.map((e) => e.type))], firstSeq, lastSeq }));
    return events.map((e, i) => ({ id: e.id, taskId: task.id, seq: firstSeq + i, type: e.type, data: e.data as TaskEvent['data'], createdAt: now }));
  });
}

/** One task's raw event stream, oldest first after the cursor, then live; another user's task is NOT_FOUND. */
export async function followTaskEvents(ctx: ServiceContext, input: { taskId: string; options: FollowOptions }): Promise<AsyncGenerator<Live<TaskEvent>>> {
  const { taskId, options } = input;
  await findOwnTask(ctx.prisma, ctx.viewer, taskId);
  return catchUpThenLive({
    after: options.after,
    seqOf: (event) => BigInt(event.seq),
    follow: () => ctx.live.followTaskEvents(taskId, ctx.viewer.id, options.onOverflow),
    readPage: (from, to) =>
      ctx.prisma.taskEvent.findMany({ where: { taskId, seq: { gt: Number(from), lte: Number(to) } }, orderBy: { seq: 'asc' }, take: CATCH_UP_PAGE }),
  });
}
