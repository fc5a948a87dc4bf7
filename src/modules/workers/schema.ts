// GraphQL: the worker protocol (claimTask, renewLease, completeTask, failTask) and TaskAssignment.
import type { Context } from '../../context.js';
import { builder } from '../../schema/builder.js';
import { AssignmentReasonEnum } from '../../schema/enums.js';
import { decodeId } from '../../schema/ids.js';
import { actingWorker } from '../../db/actor.js';
import { workerMayCall } from '../../schema/scopes.js';
import { serviceContext } from '../../schema/viewer.js';
import { ConversationMessageRef } from '../conversation/schema.js';
import { TaskRef } from '../tasks/schema.js';
import { claimTask, completeTask, failTask, renewLease, type TaskAssignment } from './service.js';

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

const ClaimTaskPayload = builder.simpleObject('ClaimTaskPayload', {
  fields: (t) => ({ assignment: t.field({ type: TaskAssignmentRef, nullable: true, description: 'Null when nothing is pending' }) }),
});
const RenewLeasePayload = builder.simpleObject('RenewLeasePayload', {
  fields: (t) => ({ leaseExpiresAt: t.field({ type: 'DateTime' }) }),
});
const taskPayload = (name: string) => builder.simpleObject(name, { fields: (t) => ({ task: t.field({ type: TaskRef }) }) });
const CompleteTaskPayload = taskPayload('CompleteTaskPayload');
const FailTaskPayload = taskPayload('FailTaskPayload');
/** Aborted when the HTTP client goes away, so an abandoned long-poll claims nothing. */
function requestSignal(ctx: Context): AbortSignal | undefined {
  return (ctx as Context & { request?: Request }).request?.signal;
}

const taskId = (id: unknown) => decodeId(String(id), 'Task', 'taskId');

builder.mutationFields((t) => ({
  claimTask: t.field({
    ...workerMayCall,
    type: ClaimTaskPayload,
    description: "Claims the viewer's oldest PENDING task for a worker, or returns a null assignment",
    args: { input: t.arg({ type: ClaimTaskInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      actingWorker(input.workerId); // the claim's history event names the worker (db/actor.ts)
      return { assignment: await claimTask(serviceContext(ctx), input, requestSignal(ctx)) };
    },
  }),
  renewLease: t.field({
    ...workerMayCall,
    type: RenewLeasePayload,
    args: { input: t.arg({ type: RenewLeaseInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      leaseExpiresAt: await renewLease(serviceContext(ctx), { ...input, taskId: taskId(input.taskId) }),
    }),
  }),
  completeTask: t.field({
    ...workerMayCall,
    type: CompleteTaskPayload,
    args: { input: t.arg({ type: CompleteTaskInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      task: await completeTask(serviceContext(ctx), { ...input, taskId: taskId(input.taskId) }),
    }),
  }),
  failTask: t.field({
    ...workerMayCall,
    type: FailTaskPayload,
    args: { input: t.arg({ type: FailTaskInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      task: await failTask(serviceContext(ctx), { ...input, taskId: taskId(input.taskId) }),
    }),
  }),
}));
