// GraphQL: forkTask.
import { builder } from '../../schema/builder.js';
import { decodeId, decodeOptionalId } from '../../schema/ids.js';
import { serviceContext } from '../../schema/viewer.js';
import { TaskRef } from '../tasks/schema.js';
import { forkTask } from './service.js';

const ForkTaskInput = builder.inputType('ForkTaskInput', {
  description: 'Exactly one of checkpointId and messageId',
  fields: (t) => ({
    taskId: t.id({ required: true, description: 'A Task ID (or its UUID): the task to fork' }),
    checkpointId: t.id({ description: "Fork at this checkpoint of the task: its commit and its conversation snapshot" }),
    messageId: t.id({ description: "Fork at this message of the task's conversation tree: the conversation up to it, the code of the latest checkpoint at or before it" }),
    name: t.string({ description: "The fork's name, at most 200 characters (default: the original's name and ' (fork)')" }),
  }),
});

const ForkTaskPayload = builder.simpleObject('ForkTaskPayload', {
  description: 'What forkTask made',
  fields: (t) => ({ task: t.field({ type: TaskRef, description: 'The fork: a new PENDING task (reason FORK) with its own worktree and branch' }) }),
});

builder.mutationField('forkTask', (t) =>
  t.field({
    type: ForkTaskPayload,
    description:
      'Creates a new task from a checkpoint or a message of another; the original is only read, even while a worker runs it. Writes TASK/created and ' +
      'TASK/forked. BAD_USER_INPUT unless exactly one of checkpointId and messageId, or for one of another task; NOT_FOUND for one not yours; GIT_ERROR when git cannot make the worktree',
    args: { input: t.arg({ type: ForkTaskInput, required: true, description: 'The arguments, as one object' }) },
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
