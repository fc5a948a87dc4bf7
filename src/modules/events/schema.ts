// GraphQL: TaskEvent, Task.events, recordTaskEvents and Subscription.taskEvents.
import { formatPrismaCursor } from '@pothos/plugin-prisma';
import type { TaskEvent } from '../../generated/prisma/client.js';
import { builder } from '../../schema/builder.js';
import { TASK_EVENT_CURSOR } from '../../schema/cursors.js';
import { TaskEventTypeEnum } from '../../schema/enums.js';
import { decodeId, nodeWhere } from '../../schema/ids.js';
import { keysetPage } from '../../schema/keyset.js';
import { closeSlowSubscriber, liveEvent, parseSeqCursor } from '../../schema/subscriptions.js';
import { workerMayReport } from '../../schema/scopes.js';
import { serviceContext } from '../../schema/viewer.js';
import { TaskRef } from '../tasks/schema.js';
import { followTaskEvents, MAX_EVENTS_PER_BATCH, recordTaskEvents } from './service.js';

/** The opaque cursor of a task event: the same string Task.events edges carry, so it can be passed as `after`. */
export function taskEventCursor(event: Pick<TaskEvent, 'taskId' | 'seq'>): string {
  return formatPrismaCursor(event, ['taskId', 'seq']);
}

export const TaskEventRef = builder.prismaNode('TaskEvent', {
  description: "One entry of a task's raw stream: output, a tool call or result, an error, a status line",
  id: { field: 'id' },
  findUnique: (id, ctx) => nodeWhere(id, 'TaskEvent', { task: { ownerId: ctx.viewer?.id ?? '' } }),
  fields: (t) => ({
    type: t.expose('type', { type: TaskEventTypeEnum, description: 'What kind of entry it is' }),
    data: t.expose('data', { type: 'JSON', description: 'The payload, as the worker sent it' }),
    seq: t.exposeInt('seq', { description: "Position in the task's stream: 1, 2, … without gaps" }),
    task: t.relation('task', { description: 'The task whose stream it is in' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the server recorded the event' }),
    cursor: t.string({ description: 'Pass as `after` to Task.events and Subscription.taskEvents', resolve: (e) => taskEventCursor(e) }),
  }),
});

// No totalCount: the stream is unbounded, and `seq` of its last event already says how long it is.
export const TaskEventConnection = builder.connectionObject(
  { type: TaskEventRef, name: 'TaskEventConnection', description: 'A page of task events, oldest first', extensions: { cursor: TASK_EVENT_CURSOR } },
  { description: 'A task event and its cursor' },
);

builder.prismaObjectField(TaskRef, 'events', (t) =>
  t.prismaConnection(
    {
      type: 'TaskEvent',
      cursor: 'taskId_seq',
      description: "The task's output, tool calls, tool results, errors and status lines, oldest first",
      args: { types: t.arg({ type: [TaskEventTypeEnum], description: 'Only events of these types' }) },
      resolve: (query, task, args, ctx) => {
        // A cursor of another task's stream is refused rather than read as a position in this one.
        const { page, seq } = keysetPage(query, 'asc', (cursor) => (cursor.taskId_seq?.taskId === task.id ? cursor.taskId_seq.seq : undefined));
        return ctx.prisma.taskEvent.findMany({
          ...page,
          where: { taskId: task.id, ...(args.types?.length ? { type: { in: args.types } } : {}), ...(seq ? { seq } : {}) },
          orderBy: { seq: 'asc' },
        });
      },
    },
    TaskEventConnection,
  ),
);

const TaskEventInput = builder.inputType('TaskEventInput', {
  description: 'One task event to record',
  fields: (t) => ({
    type: t.field({ type: TaskEventTypeEnum, required: true, description: 'What kind of entry it is' }),
    data: t.field({ type: 'JSON', required: true, description: 'The payload: any JSON but null, at most MAKIMA_MAX_MESSAGE_BYTES (1 MiB), nested at most 100 levels' }),
  }),
});

const RecordTaskEventsInput = builder.inputType('RecordTaskEventsInput', {
  description: "A batch of events for a task's stream",
  fields: (t) => ({
    taskId: t.id({ required: true, description: 'A Task ID (or its UUID)' }),
    events: t.field({
      type: [TaskEventInput],
      required: true,
      description: `Written all or nothing, in this order; at most ${MAX_EVENTS_PER_BATCH}`,
      extensions: { maxItems: MAX_EVENTS_PER_BATCH },
    }),
    workerId: t.string({ description: 'Set by a worker: the call is a CONFLICT unless this worker holds the task (RUNNING, lease not lapsed)' }),
  }),
});

const RecordTaskEventsPayload = builder.simpleObject('RecordTaskEventsPayload', {
  description: 'What recordTaskEvents wrote',
  fields: (t) => ({ events: t.field({ type: [TaskEventRef], description: 'The events, in order, with their seq' }) }),
});

builder.mutationField('recordTaskEvents', (t) =>
  t.field({
    ...workerMayReport,
    type: RecordTaskEventsPayload,
    description:
      "Appends events to a task's stream, all or nothing, numbered on from its last seq; writes one TASK/output for the batch. " +
      'BAD_USER_INPUT for an empty or oversized batch or payload; CONFLICT for a worker that does not hold the task; NOT_FOUND for a task not yours',
    args: { input: t.arg({ type: RecordTaskEventsInput, required: true, description: 'The arguments, as one object' }) },
    resolve: async (_root, { input }, ctx) => ({
      events: await recordTaskEvents(serviceContext(ctx), {
        taskId: decodeId(String(input.taskId), 'Task', 'taskId'),
        events: input.events.map((e) => ({ type: e.type, data: e.data })),
        workerId: input.workerId,
      }),
    }),
  }),
);

builder.subscriptionFields((t) => ({
  taskEvents: t.field({
    type: TaskEventRef,
    description: "A task's output, tool calls, tool results and errors: oldest first after the cursor `after`, then live",
    args: {
      taskId: t.arg.id({ required: true, description: 'A Task ID (or its UUID); NOT_FOUND when it is not yours' }),
      after: t.arg.string({ description: "A cursor of this task's events (TaskEvent.cursor or an edge cursor): start after it; without one, only new events" }),
    },
    extensions: { cursor: TASK_EVENT_CURSOR },
    subscribe: (_root, args, ctx) => {
      const taskId = decodeId(String(args.taskId), 'Task', 'taskId');
      return followTaskEvents(serviceContext(ctx), { taskId, options: { after: parseSeqCursor(args.after, taskId), onOverflow: closeSlowSubscriber(ctx) } });
    },
    resolve: liveEvent,
  }),
}));
