// A task's conversation written as a Claude Code session file (docs/api.md, "Back to Claude Code"),
// so that `claude --resume <sessionId>` continues it: the path root → one message (the head, a
// chosen message or a checkpoint's), one JSON record per line, each `user`/`assistant`/`system`
// record chained to the one before by `uuid`/`parentUuid`, under a new `sessionId`. Messages that
// came from Claude Code keep their content exactly as it wrote them (an import of the export gives
// back the same conversation); the others (Codex, ACP agents, makima workers) are mapped to the
// blocks the Anthropic Messages API knows, and every tool_use is answered by a tool_result in the
// next user record, as the API requires of a conversation sent back to the model.
import crypto from 'node:crypto';
import path from 'node:path';
import type { ServiceContext } from '../../context.js';
import { textProblem } from '../../db/json.js';
import { BadInputError, NotFoundError } from '../../errors.js';
import type { ConversationMessage, Task } from '../../generated/prisma/client.js';
import { checkpointOfTask, snapshotOfCheckpoint } from '../checkpoints/index.js';
import { isOnPath, pathMessages } from '../conversation/index.js';
import { findOwnTask } from '../../change/access.js';
import { asRecord, blocksOf } from './draft.js';

/** The Claude Code version written on records whose source did not record one (the format this exporter follows). */
export const CLAUDE_CODE_VERSION = '2.0.14';
/** Claude Code's own model name for messages it made itself rather than a model. */
const SYNTHETIC_MODEL = '<synthetic>';
const MAX_CWD_LENGTH = 4096;

/** Where an export ends: a message of the task (or of the path it was forked from), or a checkpoint's conversation. */
export type ExportPoint = { messageId: string } | { checkpointId: string } | { id: string };

type Block = Record<string, unknown>;
type Message = ConversationMessage & { metadata: Record<string, unknown> | null };

/** A tool_use id the Messages API takes (letters, digits, `_` and `-`); others have theirs replaced. */
function toolId(id: unknown): string {
  const text = typeof id === 'string' ? id : JSON.stringify(id ?? null);
  return /^[A-Za-z0-9_-]{1,200}$/.test(text) ? text : `toolu_${crypto.createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
}

function text(value: string): Block {
  return { type: 'text', text: value };
}

/** A tool's result as the API's tool_result content: a string, or text and image blocks. */
function resultContent(content: unknown): string | Block[] {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return content == null ? '' : JSON.stringify(content);
  return content.flatMap((item) => {
    const block = asRecord(item);
    if (!block) return [text(JSON.stringify(item))];
    if (block.type === 'content' && asRecord(block.content)) return foreignBlock(asRecord(block.content)!);
    return foreignBlock(block);
  });
}

/**
 * A block another agent wrote, as Claude Code writes one: text, signed thinking (unsigned thinking —
 * Codex's reasoning, an ACP agent's `thought` — is left out), an image (Claude's shape or ACP's), tool_use and tool_result; what has no
 * counterpart (an ACP resource, audio, a diff) becomes text saying what it was.
 */
function foreignBlock(b: Block): Block[] {
  switch (b.type) {
    case 'text':
      return typeof b.text === 'string' && b.text !== '' ? [text(b.text)] : [];
    case 'thinking':
    case 'thought': {
      // Claude Code sends thinking blocks back to the model, and the API refuses one whose signature
      // is not the one it issued: a thought with none (Codex's reasoning, an ACP agent's) stays in
      // makima and out of the file.
      const thought = typeof b.thinking === 'string' ? b.thinking : typeof b.text === 'string' ? b.text : '';
      return thought === '' || typeof b.signature !== 'string' || b.signature === '' ? [] : [{ type: 'thinking', thinking: thought, signature: b.signature }];
    }
    case 'image': {
      const source = asRecord(b.source);
      if (source) return [{ type: 'image', source }];
      if (typeof b.data === 'string' && typeof b.mimeType === 'string') return [{ type: 'image', source: { type: 'base64', media_type: b.mimeType, data: b.data } }];
      if (typeof b.uri === 'string') return [{ type: 'image', source: { type: 'url', url: b.uri } }];
      return [text(`[image: ${JSON.stringify(b)}]`)];
    }
    case 'tool_use':
      return [{ type: 'tool_use', id: toolId(b.id), name: typeof b.name === 'string' && b.name !== '' ? b.name : 'tool', input: asRecord(b.input) ?? { input: b.input ?? null } }];
    case 'tool_result':
      return [{ type: 'tool_result', tool_use_id: toolId(b.tool_use_id), content: resultContent(b.content), ...(b.is_error === true ? { is_error: true } : {}) }];
    case 'resource_link':
      return [text(`[resource ${String(b.name ?? '')}: ${String(b.uri ?? '')}]`)];
    case 'resource': {
      const resource = asRecord(b.resource);
      return [text(typeof resource?.text === 'string' ? `[resource ${String(resource.uri ?? '')}]\n${resource.text}` : `[resource ${String(resource?.uri ?? '')}]`)];
    }
    default:
      return [text(`[${String(b.type ?? 'block')}: ${JSON.stringify(b)}]`)];
  }
}

/** Whether Claude Code wrote the message (an import of its session file). */
function isOwn(m: Message): boolean {
  return m.metadata?.source === 'claude-code';
}

/** The message's content as Claude Code's: its own messages as they were; others mapped (a user's text may stay a string). */
function contentOf(m: Message): string | Block[] {
  if (isOwn(m)) return m.content as string | Block[];
  // A makima worker may write `{ text }` as a message's content.
  const plain = typeof m.content === 'string' ? m.content : asRecord(m.content) && typeof asRecord(m.content)!.text === 'string' ? (asRecord(m.content)!.text as string) : null;
  if (plain !== null) return m.role === 'USER' || m.role === 'SYSTEM' ? plain : plain === '' ? [] : [text(plain)];
  return Array.isArray(m.content) ? blocksOf(m.content).flatMap(foreignBlock).map((b) => inTurn(m.role, b)) : [text(JSON.stringify(m.content))];
}

/** Blocks the Messages API takes in the turn: the model writes text, thinking and tool_use; the user side text, images and tool_result. */
const TURN_BLOCKS = { ASSISTANT: new Set(['text', 'thinking', 'tool_use']), USER: new Set(['text', 'image', 'tool_result']) } as const;

function inTurn(role: Message['role'], b: Block): Block {
  const allowed = role === 'ASSISTANT' ? TURN_BLOCKS.ASSISTANT : TURN_BLOCKS.USER;
  if (allowed.has(b.type as string)) return b;
  if (b.type === 'image') return text(`[image: ${String(asRecord(b.source)?.media_type ?? asRecord(b.source)?.url ?? 'image')}]`);
  return text(`[${String(b.type)}: ${JSON.stringify(b)}]`);
}

interface Writer {
  records: Record<string, unknown>[];
  /** The uuid of the last record written: the next one's parentUuid. */
  last: string | null;
  /** The tool_use ids of the current assistant turn that no tool_result has answered yet. */
  pending: Map<string, string>;
  /** The message id shared by a run of consecutive assistant records (Claude Code writes one record per block of one API message). */
  turnId: string | null;
  common: { sessionId: string; cwd: string; gitBranch: string; userType: 'external' };
}

function push(w: Writer, record: Record<string, unknown>): void {
  w.records.push(record);
  w.last = record.uuid as string;
}

function base(w: Writer, uuid: string, m: Message | null, at: Date): Record<string, unknown> {
  return { parentUuid: w.last, isSidechain: m?.metadata?.isSidechain === true, ...w.common, version: typeof m?.metadata?.version === 'string' ? m.metadata.version : CLAUDE_CODE_VERSION, uuid, timestamp: at.toISOString() };
}

/** A user record answering every tool_use still unanswered, when the conversation goes on without their results. */
function answerPending(w: Writer, at: Date): void {
  if (w.pending.size === 0) return;
  const results = [...w.pending.keys()].map((id) => ({ type: 'tool_result', tool_use_id: id, content: 'No result of this tool call was recorded (exported by makima).', is_error: true }));
  w.pending.clear();
  push(w, { ...base(w, crypto.randomUUID(), null, at), type: 'user', message: { role: 'user', content: results } });
}

/**
 * tool_result blocks that answer a pending call; in a message of another agent, one answering
 * nothing becomes text (the API refuses it). Claude Code's own records are left as it wrote them.
 */
function answered(w: Writer, content: string | Block[], own: boolean): string | Block[] {
  if (typeof content === 'string') return content;
  return content.map((b) => {
    if (b.type !== 'tool_result') return b;
    if (w.pending.delete(b.tool_use_id as string) || own) return b;
    const body = typeof b.content === 'string' ? b.content : JSON.stringify(b.content);
    return text(`Result of tool call ${String(b.tool_use_id)}${b.is_error ? ' (error)' : ''}:\n${body}`);
  });
}

function usageOf(m: Message): Record<string, unknown> {
  const usage = asRecord(m.metadata?.usage);
  if (isOwn(m) && usage) return usage;
  const count = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : 0);
  return { input_tokens: count(usage?.input_tokens), output_tokens: count(usage?.output_tokens), cache_read_input_tokens: count(usage?.cached_input_tokens ?? usage?.cache_read_input_tokens) };
}

function writeAssistant(w: Writer, m: Message, content: Block[]): void {
  if (w.turnId === null) {
    answerPending(w, m.createdAt);
    w.turnId = typeof m.metadata?.messageId === 'string' ? m.metadata.messageId : `msg_makima_${m.id.replace(/-/g, '')}`;
  }
  // Claude Code's own turns are left as it wrote them (its resume settles a call it left unanswered); another agent's are made whole.
  if (!isOwn(m)) for (const b of content) if (b.type === 'tool_use') w.pending.set(b.id as string, b.name as string);
  const hasTool = content.some((b) => b.type === 'tool_use');
  push(w, {
    ...base(w, m.id, m, m.createdAt),
    type: 'assistant',
    message: {
      id: typeof m.metadata?.messageId === 'string' ? m.metadata.messageId : w.turnId,
      type: 'message',
      role: 'assistant',
      model: typeof m.metadata?.model === 'string' ? m.metadata.model : SYNTHETIC_MODEL,
      content,
      stop_reason: typeof m.metadata?.stopReason === 'string' ? m.metadata.stopReason : hasTool ? 'tool_use' : 'end_turn',
      stop_sequence: null,
      usage: usageOf(m),
    },
    ...(typeof m.metadata?.requestId === 'string' ? { requestId: m.metadata.requestId } : {}),
  });
}

function writeUser(w: Writer, m: Message, content: string | Block[]): void {
  w.turnId = null;
  const answers = Array.isArray(content) && content.some((b) => b.type === 'tool_result' && w.pending.has(b.tool_use_id as string));
  // A user turn that answers none of the open calls ends the assistant's turn: they get their (missing) result first.
  if (!answers) answerPending(w, m.createdAt);
  const message = answered(w, content, isOwn(m));
  push(w, {
    ...base(w, m.id, m, m.createdAt),
    type: 'user',
    message: { role: 'user', content: message },
    ...(m.metadata?.isMeta === true ? { isMeta: true } : {}),
    ...(m.metadata?.toolUseResult !== undefined ? { toolUseResult: m.metadata.toolUseResult } : {}),
  });
}

function writeSystem(w: Writer, m: Message, content: string | Block[]): void {
  const body = typeof content === 'string' ? content : content.map((b) => (typeof b.text === 'string' ? b.text : JSON.stringify(b))).join('\n');
  push(w, { ...base(w, m.id, m, m.createdAt), type: 'system', ...(typeof m.metadata?.subtype === 'string' ? { subtype: m.metadata.subtype } : {}), content: body, isMeta: false, level: 'info' });
}

/** The session file: a `summary` line naming it, then one record per message of `messages` (a path, root first). */
export function writeClaudeCode(input: { name: string; messages: Message[]; sessionId: string; cwd: string; gitBranch: string }): string {
  const w: Writer = { records: [], last: null, pending: new Map(), turnId: null, common: { sessionId: input.sessionId, cwd: input.cwd, gitBranch: input.gitBranch, userType: 'external' } };
  for (const m of input.messages) {
    const content = contentOf(m);
    if (content.length === 0) continue;
    if (m.role === 'ASSISTANT') writeAssistant(w, m, typeof content === 'string' ? [text(content)] : content);
    else if (m.role === 'SYSTEM') writeSystem(w, m, content);
    else writeUser(w, m, content);
  }
  answerPending(w, input.messages.at(-1)?.createdAt ?? new Date());
  const summary = { type: 'summary', summary: input.name, leafUuid: w.last };
  return [summary, ...w.records].map((r) => JSON.stringify(r)).join('\n') + '\n';
}

/** A raw UUID given as `at`: a message of the viewer's, else a checkpoint of the viewer's (NOT_FOUND when neither). */
async function pointOf(ctx: ServiceContext, at: ExportPoint): Promise<{ messageId: string } | { checkpointId: string }> {
  if (!('id' in at)) return at;
  const owned = { task: { ownerId: ctx.viewer.id } };
  if (await ctx.prisma.conversationMessage.findFirst({ where: { id: at.id, ...owned }, select: { id: true } })) return { messageId: at.id };
  if (await ctx.prisma.taskCheckpoint.findFirst({ where: { id: at.id, ...owned }, select: { id: true } })) return { checkpointId: at.id };
  throw new NotFoundError('message or checkpoint', at.id);
}

/** The message an export ends at: the task's head by default; a message of its conversation; a checkpoint's conversation head. */
async function endMessage(ctx: ServiceContext, task: Task, at: ExportPoint | undefined): Promise<string> {
  if (!at) {
    if (!task.headMessageId) throw new BadInputError(`task ${task.id} has no conversation to export`, 'taskId');
    return task.headMessageId;
  }
  const point = await pointOf(ctx, at);
  if ('checkpointId' in point) {
    const checkpoint = await checkpointOfTask(ctx.prisma, ctx.viewer, task, point.checkpointId);
    const snapshot = await snapshotOfCheckpoint(ctx.prisma, checkpoint);
    if (!snapshot?.headMessageId) throw new BadInputError(`checkpoint #${checkpoint.number} has no conversation to export`, 'at');
    return snapshot.headMessageId;
  }
  const message = await ctx.prisma.conversationMessage.findFirst({ where: { id: point.messageId, task: { ownerId: ctx.viewer.id } }, select: { id: true, taskId: true } });
  if (!message) throw new NotFoundError('message', point.messageId);
  if (message.taskId !== task.id && !(await isOnPath(ctx.prisma, message.id, task.headMessageId))) {
    throw new BadInputError(`message ${point.messageId} is not part of task ${task.id}'s conversation`, 'at');
  }
  return message.id;
}

function checkedCwd(cwd: string): string {
  const problem = textProblem(cwd, MAX_CWD_LENGTH);
  if (problem) throw new BadInputError(`cwd ${problem}`, 'cwd');
  if (!path.isAbsolute(cwd)) throw new BadInputError(`cwd must be an absolute path (Claude Code files sessions under the absolute working directory), not "${cwd}"`, 'cwd');
  return cwd;
}

/**
 * A task's conversation root → `at` (default: its head) as a Claude Code session under a new
 * session id. `cwd` is the checkout Claude Code will run in: default the task's worktree, else the
 * working directory the session last recorded; BAD_USER_INPUT when there is neither.
 */
export async function claudeCodeSession(ctx: ServiceContext, input: { taskId: string; at?: ExportPoint; cwd?: string | null }): Promise<string> {
  const task = await findOwnTask(ctx.prisma, ctx.viewer, input.taskId);
  const end = await endMessage(ctx, task, input.at);
  const depth = (await ctx.prisma.conversationMessage.findUniqueOrThrow({ where: { id: end }, select: { depth: true } })).depth;
  const onPath = await pathMessages(ctx.prisma, end, 0, depth + 1);
  const records = await ctx.prisma.transcriptRecord.findMany({ where: { messageId: { in: onPath.map((m) => m.id) } }, select: { messageId: true, metadata: true } });
  const metadata = new Map(records.map((r) => [r.messageId, asRecord(r.metadata)]));
  const messages = onPath.map((m) => ({ ...m, metadata: metadata.get(m.id) ?? null }));
  const lastText = (field: string) => messages.map((m) => m.metadata?.[field]).filter((v): v is string => typeof v === 'string').at(-1);
  const recorded = lastText('cwd');
  const cwd = input.cwd ?? task.worktreePath ?? recorded;
  if (cwd == null) throw new BadInputError(`task ${task.id} has no worktree and its messages record no working directory: give cwd, the checkout Claude Code will run in`, 'cwd');
  const gitBranch = task.branch ?? lastText('gitBranch') ?? '';
  const sessionId = crypto.randomUUID();
  return writeClaudeCode({ name: task.name, messages, sessionId, cwd: checkedCwd(cwd), gitBranch });
}
