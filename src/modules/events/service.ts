// A task's raw stream (DESIGN §3): output, tool calls, tool results, errors and status lines, each
// with a per-task sequence number. A batch is written atomically, in one INSERT, with one history
// event, and listeners on TASK_EVENTS_CHANNEL learn that the task's stream grew.
import type { Viewer } from '../../context.js';
import { TASK_EVENTS_CHANNEL } from '../../db/change.js';
import { storableJsonSize } from '../../db/json.js';
import { BadInputError } from '../../errors.js';
import type { Prisma, PrismaClient, TaskEvent, TaskEventType } from '../../generated/prisma/client.js';
import { changeOwnTask } from '../mesh/lease.js';

export const MAX_EVENTS_PER_BATCH = 1000;

export interface TaskEventDraft {
  type: TaskEventType;
  data: unknown;
}

export interface TaskEventLimits {
  /** The largest `data` of one event, as JSON text. */
  maxEventBytes: number;
}

function validateDrafts(events: TaskEventDraft[], limits: TaskEventLimits): void {
  if (events.length === 0) throw new BadInputError('events must contain at least one event', 'events');
  if (events.length > MAX_EVENTS_PER_BATCH) {
    throw new BadInputError(`at most ${MAX_EVENTS_PER_BATCH} events can be recorded at once; send ${events.length} in several batches`, 'events');
  }
  events.forEach((e, i) => {
    if (e.data === undefined || e.data === null) throw new BadInputError(`events[${i}].data must not be null`, 'events');
    storableJsonSize(e.data, `events[${i}].data`, limits.maxEventBytes);
  });
}

/**
 * Appends a batch of events to the task's stream, all or nothing. Sequence numbers continue the
 * task's own (1, 2, …) without gaps: they are assigned under the task's row lock, so concurrent
 * batches for one task are serialized and commit in seq order.
 */
export async function recordTaskEvents(
  prisma: PrismaClient,
  viewer: Viewer,
  input: { taskId: string; events: TaskEventDraft[]; workerId?: string | null },
  limits: TaskEventLimits,
): Promise<TaskEvent[]> {
  validateDrafts(input.events, limits);
  // From a worker (workerId), only the holder of a live lease may record: a late worker is refused.
  return changeOwnTask(prisma, viewer, { taskId: input.taskId, workerId: input.workerId, action: 'record task events' }, async (tx, record, task) => {
    const { _max } = await tx.taskEvent.aggregate({ where: { taskId: task.id }, _max: { seq: true } });
    const firstSeq = (_max.seq ?? 0) + 1;
    const created = await tx.taskEvent.createManyAndReturn({
      data: input.events.map((e, i) => ({ taskId: task.id, seq: firstSeq + i, type: e.type, data: e.data as Prisma.InputJsonValue })),
    });
    created.sort((a, b) => a.seq - b.seq);
    const lastSeq = created[created.length - 1].seq;
    record({
      ownerId: task.ownerId,
      contractId: task.contractId,
      taskId: task.id,
      eventType: 'TASK',
      eventSubtype: 'output',
      data: { count: created.length, types: [...new Set(created.map((e) => e.type))], firstSeq, lastSeq },
    });
    // Delivered on commit only, like every NOTIFY: a listener never reads events that may roll back.
    await tx.$executeRaw`SELECT pg_notify(${TASK_EVENTS_CHANNEL}, ${task.id})`;
    return created;
  });
}
