// GraphQL: the worker protocol (claimTask, renewLease, completeTask, failTask) and TaskAssignment;
// what a worker learns from the agent it drives (docs/design.md §15): Task.agentSession, Task.usage,
// recordAgentSession and recordTaskUsage.
import type { Context } from '../../context.js';
import { gitUrl, publicBase } from '../../http/git-url.js';
import { builder } from '../../schema/builder.js';
import { AssignmentReasonEnum } from '../../schema/enums.js';
import { decodeId, decodeOptionalId } from '../../schema/ids.js';
import { actingWorker } from '../../db/actor.js';
import { workerMayCall } from '../../schema/scopes.js';
import { serviceContext } from '../../schema/viewer.js';
import { ConversationMessageRef } from '../conversation/schema.js';
import { TaskRef } from '../tasks/schema.js';
import { recordAgentSession, recordTaskUsage, type AgentSession } from './agent.js';
import { claimTask, completeTask, failTask, renewLease, type TaskAssignment } from './service.js';

const TaskAssignmentRef = builder.objectRef<TaskAssignment>('TaskAssignment').implement({
  description: 'A claimed task with everything a worker needs to run it',
  fields: (t) => ({
    task: t.field({ type: TaskRef, description: 'The task, now RUNNING under this worker', resolve: (a) => a.task }),
    reason: t.field({ type: AssignmentReasonEnum, description: 'Why the worker receives it', resolve: (a) => a.reason }),
    conversation: t.field({
      type: [ConversationMessageRef],
      description: 'The full context: the conversation from the root to the head, in order',
      resolve: (a) => a.conversation,
    }),
    worktreePath: t.exposeString('worktreePath', {
      description: "The task's git worktree on the server's disk, where a local worker runs the agent; empty for a remote claim (the code is at gitUrl)",
    }),
    branch: t.exposeString('branch', { description: "The task's branch, checked out in the worktree (a remote worker checks it out at commitSha)" }),
    commitSha: t.exposeString('commitSha', { description: "The commit the task's code is at: its worktree's, or for a remote claim the last recorded (headCommit)" }),
    gitUrl: t.string({
      description:
        "The contract's repository over HTTP (Contract.gitUrl): a remote worker fetches the branch from it, and pushes the task's branch and refs/makima/tasks/<task>/… with a Makima-Worker header",
      resolve: (a, _args, ctx) => gitUrl(publicBase(ctx.config, (ctx as Context & { request?: Request }).request), a.task.contractId ?? ''),
    }),
    remote: t.exposeBoolean('remote', { description: 'Claimed with remote: true: the code lives in the branch at gitUrl, not in a server worktree, while this worker holds it' }),
    leaseExpiresAt: t.expose('leaseExpiresAt', { type: 'DateTime', description: 'Renew the lease (renewLease) before this' }),
    resumeNote: t.exposeString('resumeNote', { nullable: true, description: 'Why the task was resumed or forked (previous status, last error, lapsed lease, fork point)' }),
  }),
});

const ClaimTaskInput = builder.inputType('ClaimTaskInput', {
  description: 'Who claims, for how long, and how long to wait for work',
  fields: (t) => ({
    workerId: t.string({ required: true, description: "The worker's name for itself (printable, at most 200 characters)" }),
    leaseSeconds: t.int({ description: 'Lease length, 1..3600 (default MAKIMA_LEASE_SECONDS)' }),
    waitSeconds: t.int({ description: 'When nothing is pending, wait up to this long (0..60) for work to become pending' }),
    contractIds: t.idList({
      description: 'Only tasks of these contracts (Contract IDs or UUIDs, at least one); null or left out: any of your contracts. NOT_FOUND for a contract not yours',
    }),
    supervisor: t.boolean({
      description: "Which tasks to take: true, only contracts' supervisors; false, never a supervisor; null or left out, either",
    }),
    remote: t.boolean({
      defaultValue: false,
      description:
        "The worker runs on another machine and fetches the code itself from gitUrl: the task's code then lives in its branch of the contract's repository " +
        '(a worktree the server kept for it is committed and removed), and checkpoints are pushed commits recorded with createCheckpoint(commitSha)',
    }),
  }),
});

const RenewLeaseInput = builder.inputType('RenewLeaseInput', {
  description: 'The task whose lease to extend, and its worker',
  fields: (t) => ({
    taskId: t.id({ required: true, description: 'A Task ID (or its UUID) of a task this worker holds' }),
    workerId: t.string({ required: true, description: 'The worker that claimed the task' }),
    leaseSeconds: t.int({ description: 'New lease length from now, 1..3600 (default MAKIMA_LEASE_SECONDS)' }),
  }),
});

const CompleteTaskInput = builder.inputType('CompleteTaskInput', {
  description: 'The finished task and its worker',
  fields: (t) => ({
    taskId: t.id({ required: true, description: 'A Task ID (or its UUID) of a task this worker holds' }),
    workerId: t.string({ required: true, description: 'The worker that claimed the task' }),
  }),
});

const FailTaskInput = builder.inputType('FailTaskInput', {
  description: 'The failed task, its worker, and why',
  fields: (t) => ({
    taskId: t.id({ required: true, description: 'A Task ID (or its UUID) of a task this worker holds' }),
    workerId: t.string({ required: true, description: 'The worker that claimed the task' }),
    error: t.string({ required: true, description: 'Why the task failed, not empty, at most 20,000 characters; shown as Task.lastError and in the resume note' }),
  }),
});

const ClaimTaskPayload = builder.simpleObject('ClaimTaskPayload', {
  description: 'What claimTask found',
  fields: (t) => ({ assignment: t.field({ type: TaskAssignmentRef, nullable: true, description: 'Null when nothing is pending' }) }),
});
const RenewLeasePayload = builder.simpleObject('RenewLeasePayload', {
  description: 'The renewed lease',
  fields: (t) => ({ leaseExpiresAt: t.field({ type: 'DateTime', description: 'When the lease now lapses (database clock): renew again before' }) }),
});
const taskPayload = (name: string, description: string, task: string) =>
  builder.simpleObject(name, { description, fields: (t) => ({ task: t.field({ type: TaskRef, description: task }) }) });
const CompleteTaskPayload = taskPayload('CompleteTaskPayload', 'What completeTask changed', 'The task, COMPLETED');
const FailTaskPayload = taskPayload('FailTaskPayload', 'What failTask changed', 'The task, FAILED (lastError says why)');
/** Aborted when the HTTP client goes away, so an abandoned long-poll claims nothing. */
function requestSignal(ctx: Context): AbortSignal | undefined {
  return (ctx as Context & { request?: Request }).request?.signal;
}

const taskId = (id: unknown) => decodeId(String(id), 'Task', 'taskId');

builder.mutationFields((t) => ({
  claimTask: t.field({
    ...workerMayCall,
    type: ClaimTaskPayload,
    description:
      'Claims your oldest PENDING task for a worker (never the same task for two workers): it becomes RUNNING under a lease; writes TASK/status_changed. ' +
      'contractIds and supervisor restrict which tasks it may take. A null assignment when nothing matching is pending (after waiting up to waitSeconds). ' +
      'BAD_USER_INPUT for a bad workerId, leaseSeconds, waitSeconds or an empty contractIds; NOT_FOUND for a contract not yours',
    args: { input: t.arg({ type: ClaimTaskInput, required: true, description: 'The arguments, as one object' }) },
    resolve: async (_root, { input }, ctx) => {
      actingWorker(input.workerId); // the claim's history event names the worker (db/actor.ts)
      const contractIds = input.contractIds?.map((id) => decodeId(String(id), 'Contract', 'contractIds'));
      return { assignment: await claimTask(serviceContext(ctx), { ...input, contractIds }, requestSignal(ctx)) };
    },
  }),
  renewLease: t.field({
    ...workerMayCall,
    type: RenewLeasePayload,
    description:
      "Extends the lease of the worker that holds the task; writes TASK/lease_renewed. CONFLICT when this worker does not hold it (the lease lapsed, " +
      'another worker has it): stop working on the task. BAD_USER_INPUT for leaseSeconds out of range; NOT_FOUND for a task not yours',
    args: { input: t.arg({ type: RenewLeaseInput, required: true, description: 'The arguments, as one object' }) },
    resolve: async (_root, { input }, ctx) => ({
      leaseExpiresAt: await renewLease(serviceContext(ctx), { ...input, taskId: taskId(input.taskId) }),
    }),
  }),
  completeTask: t.field({
    ...workerMayCall,
    type: CompleteTaskPayload,
    description: 'Marks a held task COMPLETED; writes TASK/completed. CONFLICT when this worker does not hold it; NOT_FOUND for a task not yours',
    args: { input: t.arg({ type: CompleteTaskInput, required: true, description: 'The arguments, as one object' }) },
    resolve: async (_root, { input }, ctx) => ({
      task: await completeTask(serviceContext(ctx), { ...input, taskId: taskId(input.taskId) }),
    }),
  }),
  failTask: t.field({
    ...workerMayCall,
    type: FailTaskPayload,
    description: 'Marks a held task FAILED with the error (resumable); writes TASK/failed. BAD_USER_INPUT for an empty or too long error; CONFLICT when this worker does not hold it; NOT_FOUND for a task not yours',
    args: { input: t.arg({ type: FailTaskInput, required: true, description: 'The arguments, as one object' }) },
    resolve: async (_root, { input }, ctx) => ({
      task: await failTask(serviceContext(ctx), { ...input, taskId: taskId(input.taskId) }),
    }),
  }),
}));

const AgentSessionRef = builder.objectRef<AgentSession>('AgentSession').implement({
  description: 'The agent session a worker drives the task in (makima worker --acp): what a resume loads',
  fields: (t) => ({
    protocol: t.exposeString('protocol', { description: 'The protocol: "acp" (Agent Client Protocol)' }),
    sessionId: t.exposeString('sessionId', { description: "The agent's session id (ACP sessionId)" }),
    agentName: t.exposeString('agentName', { nullable: true, description: "The agent's name, as it reported it (ACP agentInfo.name)" }),
    agentVersion: t.exposeString('agentVersion', { nullable: true, description: "The agent's version, as it reported it (ACP agentInfo.version)" }),
    capabilities: t.field({ type: 'JSON', nullable: true, description: "The agent's capabilities, as it reported them (ACP agentCapabilities)", resolve: (s) => s.capabilities ?? null }),
  }),
});

interface TaskUsage {
  inputTokens: number | null;
  outputTokens: number | null;
  costUsd: number | null;
}

const TaskUsageRef = builder.objectRef<TaskUsage>('TaskUsage').implement({
  description: "The tokens and cost the task's agent reported, summed over its turns; a field is null while the agent never reported it",
  fields: (t) => ({
    inputTokens: t.exposeInt('inputTokens', { nullable: true, description: 'Input tokens' }),
    outputTokens: t.exposeInt('outputTokens', { nullable: true, description: 'Output tokens' }),
    costUsd: t.exposeFloat('costUsd', { nullable: true, description: 'Cost in US dollars' }),
  }),
});

builder.prismaObjectFields(TaskRef, (t) => ({
  agentSession: t.field({
    type: AgentSessionRef,
    nullable: true,
    description: 'The agent session its worker opened (makima worker --acp); null for a task never run that way',
    select: { agentSession: true },
    resolve: (task) => (task.agentSession as AgentSession | null) ?? null,
  }),
  usage: t.field({
    type: TaskUsageRef,
    description: "The tokens and cost its agent reported (recordTaskUsage) or its imported transcripts hold, summed; null fields where nothing was reported",
    select: { usageInputTokens: true, usageOutputTokens: true, usageCostUsd: true },
    resolve: (task) => ({ inputTokens: task.usageInputTokens, outputTokens: task.usageOutputTokens, costUsd: task.usageCostUsd }),
  }),
}));

const RecordAgentSessionInput = builder.inputType('RecordAgentSessionInput', {
  description: 'The agent session a worker opened for a task it holds',
  fields: (t) => ({
    taskId: t.id({ required: true, description: 'A Task ID (or its UUID) of a task this worker holds' }),
    workerId: t.string({ required: true, description: 'The worker that claimed the task' }),
    protocol: t.string({ required: true, description: 'The protocol: "acp"' }),
    sessionId: t.string({ required: true, description: "The agent's session id, at most 200 characters" }),
    how: t.string({ required: true, description: '"new", "load" (the known session was loaded) or "replay" (a new session given the conversation so far)' }),
    agentName: t.string({ description: "The agent's name, at most 200 characters" }),
    agentVersion: t.string({ description: "The agent's version, at most 200 characters" }),
    capabilities: t.field({ type: 'JSON', description: "The agent's capabilities as it reported them, at most 64 KiB as JSON" }),
  }),
});

const RecordTaskUsageInput = builder.inputType('RecordTaskUsageInput', {
  description: "One agent turn's usage, for a task this worker holds; at least one of the amounts",
  fields: (t) => ({
    taskId: t.id({ required: true, description: 'A Task ID (or its UUID) of a task this worker holds' }),
    workerId: t.string({ required: true, description: 'The worker that claimed the task' }),
    inputTokens: t.int({ description: 'Input tokens of the turn, 0..100,000,000' }),
    outputTokens: t.int({ description: 'Output tokens of the turn, 0..100,000,000' }),
    costUsd: t.float({ description: 'Cost of the turn in US dollars, 0 or more' }),
    messageId: t.id({ description: "The turn's message (a ConversationMessage ID or UUID of this task)" }),
  }),
});

const RecordAgentSessionPayload = taskPayload('RecordAgentSessionPayload', 'What recordAgentSession changed', 'The task, with its agentSession');
const RecordTaskUsagePayload = taskPayload('RecordTaskUsagePayload', 'What recordTaskUsage changed', 'The task, with its usage summed');


builder.mutationFields((t) => ({
  recordAgentSession: t.field({
    ...workerMayCall,
    type: RecordAgentSessionPayload,
    description:
      'Keeps the agent session a worker opened as Task.agentSession; writes TASK/agent_session. BAD_USER_INPUT for an unknown protocol or how, an empty or too long sessionId; ' +
      'CONFLICT when this worker does not hold the task; NOT_FOUND for a task not yours',
    args: { input: t.arg({ type: RecordAgentSessionInput, required: true, description: 'The arguments, as one object' }) },
    resolve: async (_root, { input }, ctx) => ({ task: await recordAgentSession(serviceContext(ctx), { ...input, taskId: taskId(input.taskId) }) }),
  }),
  recordTaskUsage: t.field({
    ...workerMayCall,
    type: RecordTaskUsagePayload,
    description:
      "Adds one agent turn's tokens and cost to Task.usage; writes TASK/usage. BAD_USER_INPUT for no amount, a negative or too large one, or a message of another task; " +
      'CONFLICT when this worker does not hold the task; NOT_FOUND for a task not yours',
    args: { input: t.arg({ type: RecordTaskUsageInput, required: true, description: 'The arguments, as one object' }) },
    resolve: async (_root, { input }, ctx) => ({
      task: await recordTaskUsage(serviceContext(ctx), {
        ...input,
        taskId: taskId(input.taskId),
        messageId: decodeOptionalId(input.messageId as string | null | undefined, 'ConversationMessage', 'messageId'),
      }),
    }),
  }),
}));
