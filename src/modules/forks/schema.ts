// GraphQL: forkTask.
import { builder } from '../../schema/builder.js';
import { decodeId, decodeOptionalId } from '../../schema/ids.js';
import { serviceContext } from '../../schema/viewer.js';
import { TaskRef } from '../tasks/schema.js';
import { forkTask } from './service.js';

const ForkTaskInput = builder.inputType('ForkTaskInput', {
  description: 'Exactly one of checkpointId and messageId',
  fields: (t) => ({ taskId: t.id({ required: true }), checkpointId: t.id(), messageId: t.id(), name: t.string() }),
});

const ForkTaskPayload = builder.simpleObject('ForkTaskPayload', {
  fields: (t) => ({ task: t.field({ type: TaskRef }) }),
});

builder.mutationField('forkTask', (t) =>
  t.field({
    type: ForkTaskPayload,
    args: { input: t.arg({ type: ForkTaskInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      task: await forkTask(serviceContext(ctx), {
        taskId: decodeId(String(input.taskId), 'Task', 'taskId'),
        checkpointId: decodeOptionalId(input.checkpointId as string | null | undefined, 'Checkpoint', 'checkpointId'),
        messageId: decodeOptionalId(input.messageId as string | null | undefined, 'ConversationMessage', 'messageId'),
        name: input.name,
      }),
    }),
  }),
);
