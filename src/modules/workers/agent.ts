// What a worker learns from the agent it drives (docs/design.md §15): the agent session (ACP's
// sessionId, the agent's name, version and capabilities), kept on the task so that a resume can load
// it, and the tokens and cost of each turn, summed on the task. Only the worker holding the task's
// live lease may report them, like every other report (change/access.ts holdTask).
import type { ServiceContext } from '../../context.js';
import { change } from '../../db/change.js';
import { storableJsonSize } from '../../db/json.js';
import { BadInputError } from '../../errors.js';
import type { Prisma, Task } from '../../generated/prisma/client.js';
import { aboutTask, historyEvent } from '../../change/catalogue.js';
import { holdTask } from '../../change/access.js';
import type { WorkerCall } from './service.js';

export const AGENT_PROTOCOLS = ['acp'] as const;
export const SESSION_HOWS = ['new', 'load', 'replay'] as const;
const MAX_NAME_LENGTH = 200;
const MAX_CAPABILITIES_BYTES = 64 * 1024;
/** The largest count one turn may report: well inside a 32-bit integer, summed per task. */
export const MAX_TURN_TOKENS = 100_000_000;
/** A task's sums are 32-bit integers (GraphQL Int). */
const MAX_TASK_TOKENS = 2_147_483_647;

/** What Task.agentSession holds (the `agent_session` column). */
export interface AgentSession {
  protocol: (typeof AGENT_PROTOCOLS)[number];
  sessionId: string;
  agentName: string | null;
  agentVersion: string | null;
  capabilities: unknown;
}

export interface AgentSessionInput extends WorkerCall {
  protocol: string;
  sessionId: string;
  how: string;
  agentName?: string | null;
  agentVersion?: string | null;
  capabilities?: unknown;
}

function shortText(value: string | null | undefined, field: string): string | null {
  if (value == null) return null;
  if (value.length > MAX_NAME_LENGTH) throw new BadInputError(`${field} is longer than ${MAX_NAME_LENGTH} characters`, field);
  if (/\p{Cc}/u.test(value)) throw new BadInputError(`${field} must not contain control characters`, field);
  return value;
}

function oneOf<const V extends readonly string[]>(value: string, values: V, field: string): V[number] {
  if (!values.includes(value)) throw new BadInputError(`${field} must be one of ${values.join(', ')}`, field);
  return value as V[number];
}

export async function recordAgentSession(ctx: ServiceContext, input: AgentSessionInput): Promise<Task> {
  const protocol = oneOf(input.protocol, AGENT_PROTOCOLS, 'protocol');
  const how = oneOf(input.how, SESSION_HOWS, 'how');
  const sessionId = shortText(input.sessionId, 'sessionId');
  if (!sessionId) throw new BadInputError('sessionId must not be empty', 'sessionId');
  const session: AgentSession = {
    protocol,
    sessionId,
    agentName: shortText(input.agentName, 'agentName'),
    agentVersion: shortText(input.agentVersion, 'agentVersion'),
    capabilities: input.capabilities ?? null,
  };
  if (session.capabilities !== null) storableJsonSize(session.capabilities, 'capabilities', MAX_CAPABILITIES_BYTES);
  return change(ctx.prisma, async (tx, record) => {
    const task = await holdTask(tx, record, ctx.viewer, { taskId: input.taskId, workerId: input.workerId, action: 'record the agent session' });
    const updated = await tx.task.update({ where: { id: task.id }, data: { agentSession: session as unknown as Prisma.InputJsonValue } });
    record(historyEvent(aboutTask(task), 'TASK', 'agent_session', { protocol, sessionId, how, agentName: session.agentName, agentVersion: session.agentVersion, workerId: input.workerId }));
    return updated;
  });
}

export interface TaskUsageInput extends WorkerCall {
  inputTokens?: number | null;
  outputTokens?: number | null;
  costUsd?: number | null;
  messageId?: string | null;
}

function tokens(value: number | null | undefined, field: string): number | null {
  if (value == null) return null;
  if (!Number.isInteger(value) || value < 0 || value > MAX_TURN_TOKENS) throw new BadInputError(`${field} must be a whole number between 0 and ${MAX_TURN_TOKENS}`, field);
  return value;
}

/** Adds one turn's usage to the task's sums; a count not reported leaves its sum as it was (null stays null). */
export async function recordTaskUsage(ctx: ServiceContext, input: TaskUsageInput): Promise<Task> {
  const inputTokens = tokens(input.inputTokens, 'inputTokens');
  const outputTokens = tokens(input.outputTokens, 'outputTokens');
  const costUsd = input.costUsd ?? null;
  if (costUsd !== null && !(Number.isFinite(costUsd) && costUsd >= 0 && costUsd < 1e9)) throw new BadInputError('costUsd must be a number of dollars, 0 or more', 'costUsd');
  if (inputTokens === null && outputTokens === null && costUsd === null) throw new BadInputError('report at least one of inputTokens, outputTokens and costUsd', 'input');
  return change(ctx.prisma, async (tx, record) => {
    const task = await holdTask(tx, record, ctx.viewer, { taskId: input.taskId, workerId: input.workerId, action: 'record usage' });
    if (input.messageId) {
      const message = await tx.conversationMessage.findFirst({ where: { id: input.messageId, taskId: task.id }, select: { id: true } });
      if (!message) throw new BadInputError(`messageId ${input.messageId} is not a message of this task`, 'messageId');
    }
    const add = (sum: number | null, value: number | null, field: string) => {
      if (value === null) return sum;
      const total = (sum ?? 0) + value;
      if (total > MAX_TASK_TOKENS) throw new BadInputError(`the task's ${field} would pass ${MAX_TASK_TOKENS}, the most one task can count`, field);
      return total;
    };
    const updated = await tx.task.update({
      where: { id: task.id },
      data: {
        usageInputTokens: add(task.usageInputTokens, inputTokens, 'inputTokens'),
        usageOutputTokens: add(task.usageOutputTokens, outputTokens, 'outputTokens'),
        usageCostUsd: costUsd === null ? task.usageCostUsd : (task.usageCostUsd ?? 0) + costUsd,
      },
    });
    record(historyEvent(aboutTask(task), 'TASK', 'usage', { inputTokens, outputTokens, costUsd, messageId: input.messageId ?? null }));
    return updated;
  });
}
