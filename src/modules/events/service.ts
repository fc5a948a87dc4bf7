// A task's raw stream (docs/design.md §3): output, tool calls, tool results, errors and status lines, each
// with a per-task sequence number. A batch is written atomically, by one SQL function, with one history
// event, and listeners on TASK_EVENTS_CHANNEL learn that the task's stream grew; subscribers follow
// it live.
import type { ServiceContext } from '../../context.js';
import { actorOfWrite } from '../../db/actor.js';
import { change, changeInOneStatement, type RecordEvent, type Tx } from '../../db/change.js';
import { storableJsonSize } from '../../db/json.js';
import { BadInputError } from '../../errors.js';
import type { Task, TaskEvent, TaskEventType } from '../../generated/prisma/client.js';
import { aboutTask, historyEvent } from '../../change/catalogue.js';
import { catchUpThenLive, CATCH_UP_PAGE, type FollowOptions, type Live } from '../../live/follow.js';
import { findOwnTask, holdTask } from '../../change/access.js';
import { RECORD_CALL, recordParams, recordWrite, type BatchEvent, type Recorded } from './sql.js';

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

/** The history event of a batch; its data is makima_record_task_events's (events/sql.ts). */
const OUTPUT_EVENT = { eventType: 'TASK', eventSubtype: 'output' } as const;

/**
 * Appends a batch of events to the task's stream, all or nothing: one call of
 * makima_record_task_events (events/sql.ts), the one place a batch's rules live. Sequence numbers
 * continue the task's own (1, 2, …) without gaps: they are assigned under the task's row lock, so
 * concurrent batches for one task are serialized and commit in seq order. The hot path is that call
 * and the history event in one statement (docs/design.md §9); when the caller may not write,
 * holdTask answers in a change of its own, and if the task changed meanwhile and it may, the same
 * call writes there.
 */
export async function recordTaskEvents(
  ctx: ServiceContext,
  input: { taskId: string; events: TaskEventDraft[]; workerId?: string | null },
): Promise<TaskEvent[]> {
  validateDrafts(input.events, ctx.config.maxMessageBytes);
  const params = { taskId: input.taskId, ownerId: ctx.viewer.id, workerId: input.workerId ?? null, events: input.events };
  // The statement writes only as the owner or as the worker holding the task: then the write is the worker's.
  const { r: hot } = await changeInOneStatement(ctx.db, recordWrite(params), { ...OUTPUT_EVENT, actor: actorOfWrite(params.workerId) });
  if ((hot as unknown as Recorded).refer === undefined) return recorded(input, hot as unknown as Recorded);
  return change(ctx.prisma, async (tx, record) => {
    // From a worker (workerId), only the holder of a live lease may record: a late worker is refused.
    const task = await holdTask(tx, record, ctx.viewer, { taskId: input.taskId, workerId: input.workerId, action: 'record task events' });
    return recorded(input, await recordTaskEventsInTx(tx, record, task, input.events, params.workerId));
  });
}

/**
 * A batch written inside a change that holds `task` already (holdTask): the one statement every
 * batch goes through, and its TASK/output history event. Imports write theirs this way too.
 */
export async function recordTaskEventsInTx(tx: Tx, record: RecordEvent, task: Task, events: BatchEvent[], workerId: string | null = null): Promise<Recorded> {
  const [{ r }] = await tx.$queryRawUnsafe<{ r: Recorded }[]>(RECORD_CALL, ...recordParams({ taskId: task.id, ownerId: task.ownerId, workerId, events }));
  if (r.refer !== undefined) throw new Error(`makima_record_task_events refused (${r.refer}) what holdTask allowed`);
  record(historyEvent(aboutTask(task), OUTPUT_EVENT.eventType, OUTPUT_EVENT.eventSubtype, r.history.event_data));
  return r;
}

/** What a batch wrote, as the API returns it. */
function recorded(input: { taskId: string; events: TaskEventDraft[] }, r: Recorded): TaskEvent[] {
  const createdAt = new Date(r.now);
  return input.events.map((e, i) => ({ id: r.ids[i], taskId: input.taskId, seq: r.firstSeq + i, type: e.type, data: e.data as TaskEvent['data'], createdAt }));
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
