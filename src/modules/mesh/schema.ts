// GraphQL: the worker protocol (claimTask, renewLease, completeTask, failTask), TaskAssignment,
// and resuming tasks and supervisors (resumeTask, resumeSupervisor, resumeTaskFromCheckpoint).
import type { Context } from '../../context.js';
import { AssignmentReason } from '../../generated/prisma/enums.js';
import { builder } from '../../schema/builder.js';
import { decodeId, decodeOptionalId } from '../../schema/ids.js';
import { requireViewer } from '../../schema/viewer.js';
import { CheckpointRef } from '../checkpoints/schema.js';
import { ConversationMessageRef, ConversationSnapshotRef } from '../conversation/schema.js';
import { TaskRef } from '../tasks/schema.js';
import {
  claimTask,
  completeTask,
  failTask,
  renewLease,
  resumeSupervisor,
  resumeTask,
  resumeTaskFromCheckpoint,
  type TaskAssignment,
} from './service.js';

export const AssignmentReasonEnum = builder.enumType(AssignmentReason, {
  name: 'AssignmentReason',
  description: 'Why a worker receives a task: a new task, a resume, a resume from a checkpoint, or a fork',
});

builder.prismaObjectFields(TaskRef, (t) => ({
  pendingReason: t.expose('pendingReason', {
    type: AssignmentReasonEnum,
    nullable: true,
    description: 'While PENDING: why the next worker will receive this task',
  }),
  resumeNote: t.exposeString('resumeNote', { nullable: true, description: 'While PENDING after a resume: why it was resumed' }),
}));

const TaskAssignmentRef = builder.objectRef<TaskAssignment>('TaskAssignment').implement({
  description: 'A claimed task with everything a worker needs to run it',
  fields: (t) => ({
    task: t.field({ type: TaskRef, resolve: (a) => a.task }),
    reason: t.field({ type: AssignmentReasonEnum, resolve: (a) => a.reason }),
    conversation: t.field({
      type: [ConversationMessageRef],
      description: 'The full context: the conversation from the root to the head, in order',
      resolve: (a) => a.conversation,
    }),
    worktreePath: t.exposeString('worktreePath'),
    branch: t.exposeString('branch'),
    commitSha: t.exposeString('commitSha', { description: "The commit the task's worktree is at" }),
    leaseExpiresAt: t.expose('leaseExpiresAt', { type: 'DateTime', description: 'Renew the lease (renewLease) before this' }),
    resumeNote: t.exposeString('resumeNote', { nullable: true, description: 'Why the task was resumed (previous status, last error, lapsed lease)' }),
  }),
});

const ClaimTaskInput = builder.inputType('ClaimTaskInput', {
  fields: (t) => ({
    workerId: t.string({ required: true, description: "The worker's name for itself (printable, at most 200 characters)" }),
    leaseSeconds: t.int({ description: 'Lease length, 1..3600 (default MAKIMA_LEASE_SECONDS)' }),
    waitSeconds: t.int({ description: 'When nothing is pending, wait up to this long (0..60) for work to become pending' }),
  }),
});

const RenewLeaseInput = builder.inputType('RenewLeaseInput', {
  fields: (t) => ({
    taskId: t.id({ required: true }),
    workerId: t.string({ required: true }),
    leaseSeconds: t.int({ description: 'New lease length from now, 1..3600 (default MAKIMA_LEASE_SECONDS)' }),
  }),
});

const CompleteTaskInput = builder.inputType('CompleteTaskInput', {
  fields: (t) => ({
    taskId: t.id({ required: true }),
    workerId: t.string({ required: true }),
  }),
});

const FailTaskInput = builder.inputType('FailTaskInput', {
  fields: (t) => ({
    taskId: t.id({ required: true }),
    workerId: t.string({ required: true }),
    error: t.string({ required: true, description: 'Why the task failed; shown as Task.lastError and in the resume note' }),
  }),
});

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

const ClaimTaskPayload = builder.simpleObject('ClaimTaskPayload', {
  fields: (t) => ({ assignment: t.field({ type: TaskAssignmentRef, nullable: true, description: 'Null when nothing is pending' }) }),
});
const RenewLeasePayload = builder.simpleObject('RenewLeasePayload', {
  fields: (t) => ({ leaseExpiresAt: t.field({ type: 'DateTime' }) }),
});
const taskPayload = (name: string) => builder.simpleObject(name, { fields: (t) => ({ task: t.field({ type: TaskRef }) }) });
const CompleteTaskPayload = taskPayload('CompleteTaskPayload');
const FailTaskPayload = taskPayload('FailTaskPayload');
const ResumeTaskPayload = taskPayload('ResumeTaskPayload');
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

/** Aborted when the HTTP client goes away, so an abandoned long-poll claims nothing. */
function requestSignal(ctx: Context): AbortSignal | undefined {
  return (ctx as Context & { request?: Request }).request?.signal;
}

const taskId = (id: unknown) => decodeId(String(id), 'Task', 'taskId');

builder.mutationFields((t) => ({
  claimTask: t.field({
    type: ClaimTaskPayload,
    description: "Claims the viewer's oldest PENDING task for a worker, or returns a null assignment",
    args: { input: t.arg({ type: ClaimTaskInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      assignment: await claimTask(ctx, requireViewer(ctx), input, requestSignal(ctx)),
    }),
  }),
  renewLease: t.field({
    type: RenewLeasePayload,
    args: { input: t.arg({ type: RenewLeaseInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      leaseExpiresAt: await renewLease(ctx, requireViewer(ctx), { ...input, taskId: taskId(input.taskId) }),
    }),
  }),
  completeTask: t.field({
    type: CompleteTaskPayload,
    args: { input: t.arg({ type: CompleteTaskInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      task: await completeTask(ctx, requireViewer(ctx), { ...input, taskId: taskId(input.taskId) }),
    }),
  }),
  failTask: t.field({
    type: FailTaskPayload,
    args: { input: t.arg({ type: FailTaskInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      task: await failTask(ctx, requireViewer(ctx), { ...input, taskId: taskId(input.taskId) }),
    }),
  }),
  resumeTask: t.field({
    type: ResumeTaskPayload,
    description: 'An INTERRUPTED or FAILED task becomes PENDING; the next worker receives it with its full context',
    args: { input: t.arg({ type: ResumeTaskInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      task: await resumeTask(ctx, requireViewer(ctx), taskId(input.taskId)),
    }),
  }),
  resumeSupervisor: t.field({
    type: ResumeSupervisorPayload,
    description: "Resumes a contract's INTERRUPTED or FAILED supervisor, optionally from one of its snapshots",
    args: { input: t.arg({ type: ResumeSupervisorInput, required: true }) },
    resolve: async (_root, { input }, ctx) =>
      resumeSupervisor(ctx, requireViewer(ctx), {
        contractId: decodeId(String(input.contractId), 'Contract', 'contractId'),
        fromSnapshotId: decodeOptionalId(input.fromSnapshotId as string | null | undefined, 'ConversationSnapshot', 'fromSnapshotId'),
      }),
  }),
  resumeTaskFromCheckpoint: t.field({
    type: ResumeTaskFromCheckpointPayload,
    description: 'Rewinds an INTERRUPTED or FAILED task to a checkpoint (code and conversation), then resumes it',
    args: { input: t.arg({ type: ResumeTaskFromCheckpointInput, required: true }) },
    resolve: async (_root, { input }, ctx) =>
      resumeTaskFromCheckpoint(ctx, requireViewer(ctx), {
        taskId: taskId(input.taskId),
        checkpointId: decodeId(String(input.checkpointId), 'Checkpoint', 'checkpointId'),
      }),
  }),
}));
