// GraphQL: cancelTask, archiveTask, archiveContract, and the fields that show a cancel or an archive.
import { builder } from '../../schema/builder.js';
import { decodeId } from '../../schema/ids.js';
import { serviceContext } from '../../schema/viewer.js';
import { ContractRef } from '../contracts/schema.js';
import { TaskRef } from '../tasks/schema.js';
import { archiveContract, archiveTask } from './archive.js';
import { cancelTask, MAX_CANCEL_REASON_LENGTH } from './cancel.js';

builder.prismaObjectFields(TaskRef, (t) => ({
  cancelRequestedAt: t.expose('cancelRequestedAt', {
    type: 'DateTime',
    nullable: true,
    description: 'When cancelTask asked this RUNNING task to stop; its worker is told at its next renew or report. Null if never asked.',
  }),
  cancelReason: t.exposeString('cancelReason', { nullable: true, description: 'The reason given to cancelTask, if any' }),
  archivedAt: t.expose('archivedAt', {
    type: 'DateTime',
    nullable: true,
    description: 'When the task was archived (archiveTask, archiveContract or the retention): its worktree and branch are gone, its checkpoints and history stay. Null while not archived.',
  }),
}));

builder.prismaObjectFields(ContractRef, (t) => ({
  archivedAt: t.expose('archivedAt', { type: 'DateTime', nullable: true, description: 'When the contract was archived (archiveContract); null while not archived' }),
}));

const CancelTaskInput = builder.inputType('CancelTaskInput', {
  description: 'The task to cancel',
  fields: (t) => ({
    taskId: t.id({ required: true, description: "One of the viewer's tasks (not a supervisor)" }),
    reason: t.string({ description: `Why, shown to the worker and in the history (at most ${MAX_CANCEL_REASON_LENGTH} characters)` }),
  }),
});

const CancelTaskPayload = builder.simpleObject('CancelTaskPayload', {
  description: 'The task after the cancel',
  fields: (t) => ({ task: t.field({ type: TaskRef, description: 'CANCELLED, or still RUNNING with cancelRequestedAt set' }) }),
});

const ArchiveTaskInput = builder.inputType('ArchiveTaskInput', {
  description: 'The task to archive',
  fields: (t) => ({ taskId: t.id({ required: true, description: "One of the viewer's tasks" }) }),
});

const ArchiveTaskPayload = builder.simpleObject('ArchiveTaskPayload', {
  description: 'The archived task',
  fields: (t) => ({ task: t.field({ type: TaskRef, description: 'The task, with archivedAt set and no worktree or branch' }) }),
});

const ArchiveContractInput = builder.inputType('ArchiveContractInput', {
  description: 'The contract to archive',
  fields: (t) => ({ contractId: t.id({ required: true, description: "One of the viewer's contracts" }) }),
});

const ArchiveContractPayload = builder.simpleObject('ArchiveContractPayload', {
  description: 'The archived contract',
  fields: (t) => ({ contract: t.field({ type: ContractRef, description: 'The contract, with archivedAt set' }) }),
});

builder.mutationFields((t) => ({
  cancelTask: t.field({
    type: CancelTaskPayload,
    description:
      'Cancels a task. PENDING, INTERRUPTED or FAILED: CANCELLED at once (TASK/cancelled). RUNNING: asked to stop (TASK/cancel_requested); its worker\'s next renewLease, report, completeTask or failTask answers CONFLICT with `extensions.reason: "CANCELLED"` and the task ends CANCELLED — or when its lease lapses. CONFLICT for a finished task or a second cancel of a running one; BAD_USER_INPUT for a supervisor. Needs a FULL token.',
    args: { input: t.arg({ type: CancelTaskInput, required: true, description: 'The task and why' }) },
    resolve: async (_root, { input }, ctx) => ({
      task: await cancelTask(serviceContext(ctx), { taskId: decodeId(String(input.taskId), 'Task', 'taskId'), reason: input.reason }),
    }),
  }),
  archiveTask: t.field({
    type: ArchiveTaskPayload,
    description:
      "Archives a finished task (COMPLETED, FAILED, CANCELLED or INTERRUPTED): commits what its worktree still holds, keeps that commit under refs/makima/archived/<task> and every checkpoint under refs/makima/checkpoints/, then removes the worktree and the task's branch. It can still be forked or branched from; it can no longer be resumed. CONFLICT while PENDING or RUNNING, or if already archived; GIT_ERROR if git fails (nothing changed). Needs a FULL token.",
    args: { input: t.arg({ type: ArchiveTaskInput, required: true, description: 'The task' }) },
    resolve: async (_root, { input }, ctx) => ({
      task: await archiveTask(serviceContext(ctx), { taskId: decodeId(String(input.taskId), 'Task', 'taskId') }),
    }),
  }),
  archiveContract: t.field({
    type: ArchiveContractPayload,
    description:
      "Archives a contract and every task of it not archived yet (as archiveTask; a supervisor still PENDING is cancelled first), in one change. CONFLICT, with nothing changed, while any other task of it is PENDING or RUNNING, or if already archived. Needs a FULL token.",
    args: { input: t.arg({ type: ArchiveContractInput, required: true, description: 'The contract' }) },
    resolve: async (_root, { input }, ctx) => ({
      contract: await archiveContract(serviceContext(ctx), { contractId: decodeId(String(input.contractId), 'Contract', 'contractId') }),
    }),
  }),
}));
