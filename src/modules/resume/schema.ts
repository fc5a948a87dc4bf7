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
  resumeNote: t.exposeString('resumeNote', { nullable: true, description: 'While PENDING after a resume or a fork: why the next worker receives it, and from where' }),
}));

const ResumeTaskInput = builder.inputType('ResumeTaskInput', {
  description: 'The task to resume',
  fields: (t) => ({ taskId: t.id({ required: true, description: 'A Task ID (or its UUID) of an INTERRUPTED or FAILED task' }) }),
});

const ResumeSupervisorInput = builder.inputType('ResumeSupervisorInput', {
  description: "The contract whose supervisor to resume, and where its conversation restarts",
  fields: (t) => ({
    contractId: t.id({ required: true, description: 'A Contract ID (or its UUID)' }),
    fromSnapshotId: t.id({ description: "A snapshot of the supervisor: rewind its conversation to it first (non-destructively)" }),
  }),
});

const ResumeTaskFromCheckpointInput = builder.inputType('ResumeTaskFromCheckpointInput', {
  description: 'The task to resume and the checkpoint it restarts from',
  fields: (t) => ({
    taskId: t.id({ required: true, description: 'A Task ID (or its UUID) of an INTERRUPTED or FAILED task' }),
    checkpointId: t.id({ required: true, description: 'A checkpoint of this task' }),
  }),
});

const ResumeTaskPayload = builder.simpleObject('ResumeTaskPayload', {
  description: 'What resumeTask changed',
  fields: (t) => ({ task: t.field({ type: TaskRef, description: 'The task, PENDING (reason RESUME) with a resume note' }) }),
});
const ResumeSupervisorPayload = builder.simpleObject('ResumeSupervisorPayload', {
  description: 'What resumeSupervisor changed, and the snapshot that undoes its rewind',
  fields: (t) => ({
    task: t.field({ type: TaskRef, description: 'The supervisor, PENDING (reason RESUME) with a resume note' }),
    backupSnapshot: t.field({
      type: ConversationSnapshotRef,
      nullable: true,
      description: 'With fromSnapshotId: the snapshot of the head before the rewind (rewind to it to undo)',
    }),
  }),
});

const ResumeTaskFromCheckpointPayload = builder.simpleObject('ResumeTaskFromCheckpointPayload', {
  description: 'What resumeTaskFromCheckpoint changed, and the backups that undo its rewind',
  fields: (t) => ({
    task: t.field({ type: TaskRef, description: 'The task, rewound and PENDING (reason RESUME_FROM_CHECKPOINT) with a resume note' }),
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
    description:
      'An INTERRUPTED or FAILED task becomes PENDING (reason RESUME) with a note saying why; the next worker receives it with its full context. Writes TASK/resumed. ' +
      'CONFLICT for any other status (the message says what to do instead); NOT_FOUND for a task not yours',
    args: { input: t.arg({ type: ResumeTaskInput, required: true, description: 'The arguments, as one object' }) },
    resolve: async (_root, { input }, ctx) => ({
      task: await resumeTask(serviceContext(ctx), { taskId: taskId(input.taskId) }),
    }),
  }),
  resumeSupervisor: t.field({
    type: ResumeSupervisorPayload,
    description:
      "Resumes a contract's INTERRUPTED or FAILED supervisor; with fromSnapshotId, saves first an AUTO snapshot of its head (backupSnapshot) and rewinds its " +
      'conversation to that snapshot, in the same transaction. Writes TASK/resumed (and CHAT/rewound). CONFLICT for any other status; BAD_USER_INPUT for a ' +
      'snapshot of another task; NOT_FOUND for one not yours',
    args: { input: t.arg({ type: ResumeSupervisorInput, required: true, description: 'The arguments, as one object' }) },
    resolve: async (_root, { input }, ctx) =>
      resumeSupervisor(serviceContext(ctx), {
        contractId: decodeId(String(input.contractId), 'Contract', 'contractId'),
        fromSnapshotId: decodeOptionalId(input.fromSnapshotId as string | null | undefined, 'ConversationSnapshot', 'fromSnapshotId'),
      }),
  }),
  resumeTaskFromCheckpoint: t.field({
    type: ResumeTaskFromCheckpointPayload,
    description:
      'Rewinds an INTERRUPTED or FAILED task to a checkpoint (code and conversation, as rewindTask with BOTH: a backup checkpoint and snapshot are saved first), ' +
      'then resumes it (reason RESUME_FROM_CHECKPOINT) — one change, both or neither. CONFLICT for any other status; BAD_USER_INPUT for a checkpoint of another task; ' +
      'NOT_FOUND for one not yours; GIT_ERROR when git cannot',
    args: { input: t.arg({ type: ResumeTaskFromCheckpointInput, required: true, description: 'The arguments, as one object' }) },
    resolve: async (_root, { input }, ctx) =>
      resumeTaskFromCheckpoint(serviceContext(ctx), {
        taskId: taskId(input.taskId),
        checkpointId: decodeId(String(input.checkpointId), 'Checkpoint', 'checkpointId'),
      }),
  }),
}));
