// GraphQL: what a worker learns from the agent it drives (docs/design.md §11) — Task.agentSession and
// Task.usage, and the worker mutations recordAgentSession and recordTaskUsage that report them.
import { builder } from '../../schema/builder.js';
import { decodeId, decodeOptionalId } from '../../schema/ids.js';
import { workerMayCall } from '../../schema/scopes.js';
import { serviceContext } from '../../schema/viewer.js';
import { TaskRef } from '../tasks/schema.js';
import { recordAgentSession, recordTaskUsage, type AgentSession } from './agent.js';

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
    description: "The tokens and cost its agent reported (recordTaskUsage), summed; null fields where the agent reported nothing",
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

const taskPayload = (name: string, description: string) =>
  builder.simpleObject(name, { description, fields: (t) => ({ task: t.field({ type: TaskRef, description: 'The task' }) }) });
const RecordAgentSessionPayload = taskPayload('RecordAgentSessionPayload', 'What recordAgentSession changed');
const RecordTaskUsagePayload = taskPayload('RecordTaskUsagePayload', 'What recordTaskUsage changed');

const taskId = (id: unknown) => decodeId(String(id), 'Task', 'taskId');

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
