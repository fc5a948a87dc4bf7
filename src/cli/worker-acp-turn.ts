// One ACP prompt turn as history (docs/design.md §15). Every session/update is recorded in the order
// it came: message chunks stream as OUTPUT events and are coalesced into one conversation message per
// turn and role (ACP content blocks, thoughts as their own `thought` blocks); tool calls become
// TOOL_CALL and TOOL_RESULT events keyed by toolCallId; plans and every other kind a STATUS event.
// Checkpoints come after the turn and, with --checkpoint-every edit, after each finished edit.
import type * as acp from '@agentclientprotocol/sdk';
import { graphql } from '../generated/gql/index.js';
import { ApiError } from './client.js';
import type { AcpHost, CheckpointEvery } from './worker-acp-host.js';
import type { MessageRole } from './worker-protocol.js';

const RecordTaskUsage = graphql(`
  mutation CliRecordTaskUsage($input: RecordTaskUsageInput!) { recordTaskUsage(input: $input) { task { id } } }
`);

/** A block of a stored message: an ACP content block, or the agent's thinking. */
type Block = acp.ContentBlock | { type: 'thought'; text: string };

interface ToolCallState {
  toolCallId: string;
  kind: acp.ToolKind | null;
  title: string | null;
  status: acp.ToolCallStatus | null;
  done: boolean;
}

const EDITS = new Set<acp.ToolKind>(['edit', 'delete', 'move']);
const FINAL = new Set<acp.ToolCallStatus>(['completed', 'failed']);

interface Usage {
  inputTokens: number | null;
  outputTokens: number | null;
  costUsd: number | null;
}

export class AcpTurn {
  sessionId: string | undefined;
  /** Set while session/load replays the session: those updates are history already. */
  replaying = false;
  private message: { role: MessageRole; blocks: Block[] } | undefined;
  private readonly toolCalls = new Map<string, ToolCallState>();
  private edits = 0;
  private pending: Promise<void> = Promise.resolve();
  private costAtStart: number | null = null;
  private cost: number | null = null;
  private ended = false;

  constructor(
    private readonly host: AcpHost,
    private readonly checkpointEvery: CheckpointEvery,
  ) {}

  /**
   * The prompt about to be sent: the turn's USER message. Resolves once it is recorded, so that the
   * caller sends it only then: the agent's first update would otherwise be flushed before it.
   */
  begin(prompt: acp.ContentBlock[]): Promise<void> {
    this.costAtStart = this.cost;
    return this.host.inOrder(() => this.append('USER', prompt).then(() => undefined));
  }

  /** Resolves when the checkpoints queued so far are made: the agent's next step waits for it. */
  settled(): Promise<void> {
    return this.pending;
  }

  update(notification: acp.SessionNotification): void {
    if (this.replaying) return;
    const u = notification.update;
    switch (u.sessionUpdate) {
      case 'user_message_chunk':
        return this.chunk('USER', u.content, u);
      case 'agent_message_chunk':
        return this.chunk('ASSISTANT', u.content, u);
      case 'agent_thought_chunk':
        return this.chunk('ASSISTANT', u.content.type === 'text' ? { type: 'thought', text: u.content.text } : u.content, u);
      case 'tool_call':
        return this.toolCall(u);
      case 'tool_call_update':
        return this.toolCallUpdate(u);
      case 'plan':
        return this.host.event('STATUS', { acp: 'plan', entries: u.entries });
      case 'usage_update':
        if (u.cost && u.cost.currency.toUpperCase() === 'USD') this.cost = u.cost.amount;
        return this.host.event('STATUS', { acp: u.sessionUpdate, ...withoutKind(u) });
      default:
        // current_mode_update, available_commands_update, session_info_update, and any kind a newer
        // agent sends: recorded as it came, never dropped.
        return this.host.event('STATUS', { acp: (u as { sessionUpdate: string }).sessionUpdate, ...withoutKind(u) });
    }
  }

  private chunk(role: MessageRole, block: Block, u: { sessionUpdate: string }): void {
    this.host.event('OUTPUT', { acp: u.sessionUpdate, content: block });
    if (this.message && this.message.role !== role) this.flushMessage();
    this.message ??= { role, blocks: [] };
    const last = this.message.blocks.at(-1);
    // Consecutive text (or thought) chunks are one block: the message reads as the agent wrote it.
    if (last && 'text' in last && 'text' in block && last.type === block.type && (block.type === 'text' || block.type === 'thought') && !('annotations' in block && block.annotations)) {
      this.message.blocks[this.message.blocks.length - 1] = { ...last, text: last.text + block.text };
    } else this.message.blocks.push(block);
  }

  private flushMessage(): void {
    const message = this.message;
    this.message = undefined;
    if (message) void this.host.inOrder(() => this.append(message.role, message.blocks).then(() => undefined));
  }

  private toolCall(u: acp.ToolCall): void {
    const state: ToolCallState = { toolCallId: u.toolCallId, kind: u.kind ?? null, title: u.title, status: u.status ?? 'pending', done: false };
    this.toolCalls.set(u.toolCallId, state);
    this.host.event('TOOL_CALL', toolCallData(u));
    if (u.status && FINAL.has(u.status)) this.finish(state, u);
  }

  private toolCallUpdate(u: acp.ToolCallUpdate): void {
    let state = this.toolCalls.get(u.toolCallId);
    if (!state) {
      // An update for a call never announced: record the call, so that its result has one.
      state = { toolCallId: u.toolCallId, kind: u.kind ?? null, title: u.title ?? null, status: u.status ?? null, done: false };
      this.toolCalls.set(u.toolCallId, state);
      this.host.event('TOOL_CALL', toolCallData(u));
    }
    state.kind = u.kind ?? state.kind;
    state.title = u.title ?? state.title;
    state.status = u.status ?? state.status;
    if (u.status && FINAL.has(u.status) && !state.done) return this.finish(state, u);
    this.host.event('STATUS', { acp: 'tool_call_update', ...toolCallData(u) });
  }

  private finish(state: ToolCallState, u: acp.ToolCall | acp.ToolCallUpdate): void {
    state.done = true;
    this.host.event('TOOL_RESULT', { ...toolCallData(u), kind: state.kind, title: state.title });
    if (this.checkpointEvery !== 'edit' || state.status !== 'completed' || !state.kind || !EDITS.has(state.kind)) return;
    const n = ++this.edits;
    const message = `edit ${n}: ${state.title ?? state.toolCallId}`;
    this.pending = this.host.inOrder(() => this.host.checkpoint(message));
  }

  /**
   * The turn is over (`response`), or broke off (null): its message, its usage, and the turn's
   * checkpoint with the stopReason in its message. Waits until all of it is recorded.
   */
  async end(response: acp.PromptResponse | null): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    const message = this.message;
    this.message = undefined;
    const toolCalls = [...this.toolCalls.values()].map(({ toolCallId, kind, title, status }) => ({ toolCallId, kind, title, status }));
    let messageId: string | undefined;
    await this.host.inOrder(async () => {
      if (message) messageId = await this.append(message.role, message.blocks, toolCalls.length ? toolCalls : undefined);
    });
    if (!response) return;
    const usage = this.usageOf(response);
    if (usage) await this.host.inOrder(() => this.recordUsage(usage, messageId));
    await this.host.inOrder(() => this.host.checkpoint(`turn ended: ${response.stopReason}`));
  }

  private async append(role: MessageRole, content: unknown, toolCalls?: unknown): Promise<string | undefined> {
    try {
      return await this.host.appendMessage({ role, content, toolCalls });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      await this.host.recordError(`makima worker: the agent's ${role.toLowerCase()} message was refused: ${err.message}`);
      return undefined;
    }
  }

  /**
   * The turn's tokens: PromptResponse.usage (ACP), else `_meta.usage`; its cost: `_meta.usage.costUsd`,
   * else what usage_update's running USD cost grew by during the turn.
   */
  private usageOf(response: acp.PromptResponse): Usage | undefined {
    const r = response as acp.PromptResponse & { usage?: Record<string, unknown> | null };
    const meta = (r._meta?.usage ?? null) as Record<string, unknown> | null;
    const number = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null);
    const whole = (v: unknown) => (number(v) !== null && Number.isInteger(v) ? (v as number) : null);
    const usage: Usage = {
      inputTokens: whole(r.usage?.inputTokens) ?? whole(meta?.inputTokens),
      outputTokens: whole(r.usage?.outputTokens) ?? whole(meta?.outputTokens),
      costUsd: number(meta?.costUsd) ?? (this.cost !== null ? this.cost - (this.costAtStart ?? 0) : null),
    };
    return usage.inputTokens === null && usage.outputTokens === null && usage.costUsd === null ? undefined : usage;
  }

  private async recordUsage(usage: Usage, messageId: string | undefined): Promise<void> {
    try {
      await this.host.request((client) => client.request(RecordTaskUsage, { input: { taskId: this.host.assignment.task.id, workerId: this.host.workerId, ...usage, messageId: messageId ?? null } }));
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      await this.host.recordError(`makima worker: the agent's usage was refused: ${err.message}`);
    }
  }
}

function withoutKind<T extends { sessionUpdate: string }>(u: T): Omit<T, 'sessionUpdate'> {
  const { sessionUpdate: _, ...rest } = u;
  return rest;
}

/** A tool call's recorded fields: kind, title, status, locations, raw input and output, content (diffs with old and new text). */
function toolCallData(u: acp.ToolCall | acp.ToolCallUpdate) {
  const { toolCallId, kind, title, status, locations, rawInput, rawOutput, content } = u;
  return { toolCallId, kind: kind ?? null, title: title ?? null, status: status ?? null, locations: locations ?? null, rawInput: rawInput ?? null, rawOutput: rawOutput ?? null, content: content ?? null };
}
