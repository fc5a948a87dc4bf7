// GraphQL: resumeTask, resumeSupervisor, resumeTaskFromCheckpoint, and Task.pendingReason /
// Task.resumeNote (why the next worker receives a task).
import { builder } from '../../schema/builder.js';
import { AssignmentReasonEnum } from '../../schema/enums.js';
import { decodeId, decodeOptionalId } from '../../schema/ids.js';
import { serviceContext } from '../../schema/viewer.js';
import { CheckpointRef } from '../checkpoints/schema.js';
import { ConversationSnapshotRef } from '../conversation/schema.js';
import { TaskRef } from '../tasks/schema.js';
import { resumeSupervisor, resumeTask, resumeTaskFromCheckpoint } from './service.js';

builder.prismaObjectFields(TaskRef, (t) => ({
  pendingReason: t.expose('pendingReason', {
    type: AssignmentReasonEnum,
    nullable: true,
    description: 'While PENDING: why the next worker will receive this task',
  }),
  resumeNote: t.exposeString('resumeNote', { nullable: true, description: 'While PENDING after a resume: why it was resumed' }),
}));

const ResumeTaskInput = builder.inputType('ResumeTaskInput', {
  fields: (t) => ({ taskId: t.id({ required: true }) }),
});

const ResumeSupervisorInput = builder.inputType('ResumeSupervisorInput', {
  fields: (t) => ({
    contractId: t.id({ required: true }),
    fromSnapshotId: t.id({ description: "A snapshot of the supervisor: rewind its conversation to it first (non-destructively)" }),
  }),
});

const ResumeTaskFromCheckpointInput = builder.inputType('ResumeTaskFromCheckpointInput', {
  fields: (t) => ({
    taskId: t.id({ required: true }),
    checkpointId: t.id({ required: true, description: 'A checkpoint of this task' }),
  }),
});

const ResumeTaskPayload = builder.simpleObject('ResumeTaskPayload', { fields: (t) => ({ task: t.field({ type: TaskRef }) }) });
const ResumeSupervisorPayload = builder.simpleObject('ResumeSupervisorPayload', {
  fields: (t) => ({
    task: t.field({ type: TaskRef }),
    backupSnapshot: t.field({
      type: ConversationSnapshotRef,
      nullable: true,
      description: 'With fromSnapshotId: the snapshot of the head before the rewind (rewind to it to undo)',
    }),
  }),
});

const ResumeTaskFromCheckpointPayload = builder.simpleObject('ResumeTaskFromCheckpointPayload', {
  fields: (t) => ({
    task: t.field({ type: TaskRef }),
    backupCheckpoint: t.field({
      type: CheckpointRef,
      nullable: true,
      description: 'The worktree as it was before the rewind (rewindTask to it to undo)',
    }),
    backupSnapshot: t.field({
      type: ConversationSnapshotRef,
      nullable: true,
      description: 'The conversation as it was before the rewind',
    }),
  }),
});

const taskId = (id: unknown) => decodeId(String(id), 'Task', 'taskId');

builder.mutationFields((t) => ({
  resumeTask: t.field({
    type: ResumeTaskPayload,
    description: 'An INTERRUPTED or FAILED task becomes PENDING; the next worker receives it with its full context',
    args: { input: t.arg({ type: ResumeTaskInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      task: await resumeTask(serviceContext(ctx), { taskId: taskId(input.taskId) }),
    }),
  }),
  resumeSupervisor: t.field({
    type: ResumeSupervisorPayload,
    description: "Resumes a contract's INTERRUPTED or FAILED supervisor, optionally from one of its snapshots",
    args: { input: t.arg({ type: ResumeSupervisorInput, required: true }) },
    resolve: async (_root, { input }, ctx) =>
      resumeSupervisor(serviceContext(ctx), {
        contractId: decodeId(String(input.contractId), 'Contract', 'contractId'),
        fromSnapshotId: decodeOptionalId(input.fromSnapshotId as string | null | undefined, 'ConversationSnapshot', 'fromSnapshotId'),
      }),
  }),
  resumeTaskFromCheckpoint: t.field({
    type: ResumeTaskFromCheckpointPayload,
    description: 'Rewinds an INTERRUPTED or FAILED task to a checkpoint (code and conversation), then resumes it',
    args: { input: t.arg({ type: ResumeTaskFromCheckpointInput, required: true }) },
    resolve: async (_root, { input }, ctx) =>
      resumeTaskFromCheckpoint(serviceContext(ctx), {
        taskId: taskId(input.taskId),
        checkpointId: decodeId(String(input.checkpointId), 'Checkpoint', 'checkpointId'),
      }),
  }),
}));
