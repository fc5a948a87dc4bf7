// The conversation tree (docs/design.md §3): append-only messages, a task's head pointer, constant-size
// snapshots, and reading the path root → head. A snapshot, a rewind and a fork each move or copy
// one pointer; no message is ever copied or overwritten.
import crypto from 'node:crypto';
import type { ServiceContext, Viewer } from '../../context.js';
import { actorOfWrite } from '../../db/actor.js';
import { change, changeInOneStatement, type Tx } from '../../db/change.js';
import { storableJsonSize } from '../../db/json.js';
import { BadInputError, ConflictError, NotFoundError } from '../../errors.js';
import { globalIdOrNull } from '../../global-id.js';
import type { ConversationMessage, ConversationSnapshot, MessageRole, Prisma, PrismaClient, SnapshotType, Task } from '../../generated/prisma/client.js';
import { aboutTask, historyEvent } from '../../change/catalogue.js';
import { holdTask } from '../../change/access.js';
import { taskFromRow } from '../tasks/index.js';
import { APPEND_CALL, appendParams, appendWrite, type AppendParams, type Appended } from './sql.js';

export interface MessageDraft {
  role: MessageRole;
  content: unknown;
  toolCalls?: unknown;
}

export interface ConversationLimits {
  maxMessageBytes: number;
  snapshotEvery: number;
}

export const MAX_MESSAGES_PER_APPEND = 500;

function validateDrafts(messages: MessageDraft[], limits: ConversationLimits): void {
  if (messages.length === 0) throw new BadInputError('messages must contain at least one message', 'messages');
  if (messages.length > MAX_MESSAGES_PER_APPEND) {
    throw new BadInputError(`at most ${MAX_MESSAGES_PER_APPEND} messages can be appended at once`, 'messages');
  }
  messages.forEach((m, i) => {
    if (m.content === undefined || m.content === null) throw new BadInputError(`messages[${i}].content must not be null`, 'messages');
    const size =
      storableJsonSize(m.content, `messages[${i}].content`, limits.maxMessageBytes) +
      (m.toolCalls == null ? 0 : storableJsonSize(m.toolCalls, `messages[${i}].toolCalls`, limits.maxMessageBytes));
    if (size > limits.maxMessageBytes) {
      throw new BadInputError(`messages[${i}] is ${size} bytes; the limit is ${limits.maxMessageBytes} bytes (MAKIMA_MAX_MESSAGE_BYTES)`, 'messages');
    }
  });
}

export interface AppendResult {
  task: Task;
  messages: ConversationMessage[];
  snapshots: ConversationSnapshot[];
}

/** The history event of an append; its data is makima_append_messages's (conversation/sql.ts). */
const MESSAGE_EVENT = { eventType: 'CHAT', eventSubtype: 'message' } as const;

/**
 * Appends messages at the task's head, atomically: one call of makima_append_messages
 * (conversation/sql.ts), the one place an append's rules live — holding the task, the jump links,
 * the automatic snapshots, the head, the event's data. The hot path is that call and the history
 * event in one statement (docs/design.md §9); when the caller may not write, holdTask answers in a
 * change of its own (recording a lapsed lease or a cancel), and if the task changed meanwhile and it
 * may, the same call writes there. With `expectedHeadId` the call is a CONFLICT unless that is still
 * the head (the guard against two writers); `null` expects an empty conversation.
 */
export async function appendMessages(
  ctx: ServiceContext,
  input: { taskId: string; messages: MessageDraft[]; expectedHeadId?: string | null; workerId?: string | null },
): Promise<AppendResult> {
  const limits = { maxMessageBytes: ctx.config.maxMessageBytes, snapshotEvery: ctx.config.snapshotEvery };
  validateDrafts(input.messages, limits); // before the task's row is locked: bad input costs no transaction
  const params: AppendParams = {
    taskId: input.taskId,
    ownerId: ctx.viewer.id,
    workerId: input.workerId ?? null,
    expectedHeadId: input.expectedHeadId,
    messages: input.messages,
    snapshotEvery: limits.snapshotEvery,
  };
  // The statement writes only as the owner or as the worker holding the task: then the write is the worker's.
  const row = await changeInOneStatement<Record<string, unknown>>(ctx.db, appendWrite(params), { ...MESSAGE_EVENT, actor: actorOfWrite(params.workerId) });
  const hot = row.r as unknown as Appended;
  if (hot.refer === undefined) return appendResult(input, hot, () => taskFromRow(row));
  return change(ctx.prisma, async (tx, record) => {
    // From a worker (workerId), only the holder of a live lease may write: a late worker is refused.
    const task = await holdTask(tx, record, ctx.viewer, { taskId: input.taskId, workerId: input.workerId, action: 'append messages' });
    const [{ r }] = await tx.$queryRawUnsafe<{ r: Appended }[]>(APPEND_CALL, ...appendParams(params));
    if (r.refer !== undefined) throw new Error(`makima_append_messages refused (${r.refer}) what holdTask allowed`);
    const updated = await tx.task.findUniqueOrThrow({ where: { id: task.id } });
    const result = appendResult(input, r, () => updated);
    record(historyEvent(aboutTask(task), MESSAGE_EVENT.eventType, MESSAGE_EVENT.eventSubtype, r.history.event_data));
    return result;
  });
}

/** What an append wrote, as the API returns it; a moved head is a CONFLICT (nothing was written). */
function appendResult(input: { taskId: string; messages: MessageDraft[]; expectedHeadId?: string | null }, r: Appended, task: () => Task): AppendResult {
  if (r.conflict) {
    const current = globalIdOrNull('ConversationMessage', r.currentHeadId ?? null);
    throw new ConflictError(
      `the conversation head is ${current ?? 'empty'}, not ${globalIdOrNull('ConversationMessage', input.expectedHeadId ?? null) ?? 'empty'}: another writer appended first. Read the conversation again and retry.`,
      { currentHeadId: current },
    );
  }
  const createdAt = new Date(r.now);
  return {
    task: task(),
    messages: r.messages.map((m, i) => ({
      ...m,
      taskId: input.taskId,
      role: input.messages[i].role,
      content: input.messages[i].content as ConversationMessage['content'],
      toolCalls: (input.messages[i].toolCalls ?? null) as ConversationMessage['toolCalls'],
      createdAt,
    })),
    snapshots: r.snapshots.map((sn) => ({
      ...sn,
      taskId: input.taskId,
      checkpointId: null,
      snapshotType: 'AUTO' as const,
      metadata: null,
      createdAt,
    })),
  };
}

/** Records a snapshot of the task's current head: one row, whatever the conversation's length. */
export async function snapshotHead(
  tx: Tx,
  task: Task,
  type: SnapshotType,
  extra: { checkpointId?: string; metadata?: unknown } = {},
): Promise<ConversationSnapshot> {
  return tx.conversationSnapshot.create({
    data: {
      taskId: task.id,
      snapshotType: type,
      messageCount: task.messageCount,
      headMessageId: task.headMessageId,
      checkpointId: extra.checkpointId,
      metadata: extra.metadata === undefined || extra.metadata === null ? undefined : (extra.metadata as Prisma.InputJsonValue),
    },
  });
}

/** Takes a MANUAL snapshot of the task's conversation as it is now. */
export async function createSnapshot(ctx: ServiceContext, input: { taskId: string; metadata?: unknown }): Promise<ConversationSnapshot> {
  if (input.metadata != null) storableJsonSize(input.metadata, 'metadata', ctx.config.maxMessageBytes);
  return change(ctx.prisma, async (tx, record) => {
    const task = await holdTask(tx, record, ctx.viewer, { taskId: input.taskId, action: 'create a snapshot' });
    const snapshot = await snapshotHead(tx, task, 'MANUAL', { metadata: input.metadata });
    record(
      historyEvent(aboutTask(task), 'CHAT', 'snapshot', {
        snapshotId: snapshot.id,
        messageCount: snapshot.messageCount,
        headId: snapshot.headMessageId,
        type: 'MANUAL',
      }),
    );
    return snapshot;
  });
}

/**
 * A snapshot of the viewer's `task` itself: NOT_FOUND when it is not the viewer's, BAD_USER_INPUT
 * (naming `field`) when it is a snapshot of another of their tasks.
 */
export async function snapshotOfTask(
  db: Tx | PrismaClient,
  viewer: Viewer,
  task: Task,
  snapshotId: string,
  field: string,
  whose = `task ${task.id}`,
): Promise<ConversationSnapshot> {
  const snapshot = await db.conversationSnapshot.findFirst({ where: { id: snapshotId, task: { ownerId: viewer.id } } });
  if (!snapshot) throw new NotFoundError('snapshot', snapshotId);
  if (snapshot.taskId !== task.id) {
    throw new BadInputError(`${field}: snapshot ${snapshot.id} is a snapshot of task ${snapshot.taskId}, not of ${whose}`, field);
  }
  return snapshot;
}

/**
 * Whether `messageId` is on the path root → `headId` (an ancestor of the head, or the head).
 * Walks up from the head at most (head depth − message depth) steps.
 */
export async function isOnPath(db: Tx | PrismaClient, messageId: string, headId: string | null): Promise<boolean> {
  if (!headId) return false;
  const rows = await db.$queryRaw<{ found: boolean }[]>`
    WITH RECURSIVE target AS (SELECT depth FROM conversation_messages WHERE id = ${messageId}::uuid),
    seek AS (
      SELECT m.id, m.parent_id, m.jump_id, m.jump_depth, m.depth FROM conversation_messages m WHERE m.id = ${headId}::uuid
      UNION ALL
      SELECT m.id, m.parent_id, m.jump_id, m.jump_depth, m.depth FROM seek s JOIN conversation_messages m
          ON m.id = CASE WHEN s.jump_depth >= (SELECT depth FROM target) THEN s.jump_id ELSE s.parent_id END
       WHERE s.depth > (SELECT depth FROM target)
    )
    SELECT EXISTS (SELECT 1 FROM seek WHERE id = ${messageId}::uuid) AS found`;
  return rows[0]?.found ?? false;
}

/**
 * The depth of the deepest message on both paths root → `headA` and root → `headB`: where forks of
 * one task part (they share the rows up to the fork point, docs/design.md §4); null when the paths
 * share no row. Both walk up together, so a long shared history costs nothing: the deeper side
 * seeks the other's depth through its jumps, then at one depth both sides take their jumps when
 * those still land apart (the paths part above them) and otherwise step to their parents, until
 * they stand on one row — O(log depth) steps, or one step a row where messages have no jumps.
 */
export async function deepestSharedDepth(db: Tx | PrismaClient, headA: string | null, headB: string | null): Promise<number | null> {
  if (!headA || !headB) return null;
  const rows = await db.$queryRaw<{ depth: number }[]>`
    WITH RECURSIVE walk AS (
      SELECT a.id AS a_id, a.parent_id AS a_parent, a.jump_id AS a_jump, a.jump_depth AS a_jump_depth, a.depth AS a_depth,
             b.id AS b_id, b.parent_id AS b_parent, b.jump_id AS b_jump, b.jump_depth AS b_jump_depth, b.depth AS b_depth
        FROM conversation_messages a, conversation_messages b
       WHERE a.id = ${headA}::uuid AND b.id = ${headB}::uuid
      UNION ALL
      SELECT a.id, a.parent_id, a.jump_id, a.jump_depth, a.depth, b.id, b.parent_id, b.jump_id, b.jump_depth, b.depth
        FROM walk w
        JOIN conversation_messages a ON a.id = CASE
          WHEN w.a_depth > w.b_depth THEN CASE WHEN w.a_jump_depth >= w.b_depth THEN w.a_jump ELSE w.a_parent END
          WHEN w.a_depth < w.b_depth THEN w.a_id
          WHEN w.a_jump_depth = w.b_jump_depth AND w.a_jump <> w.b_jump THEN w.a_jump
          ELSE w.a_parent END
        JOIN conversation_messages b ON b.id = CASE
          WHEN w.b_depth > w.a_depth THEN CASE WHEN w.b_jump_depth >= w.a_depth THEN w.b_jump ELSE w.b_parent END
          WHEN w.b_depth < w.a_depth THEN w.b_id
          WHEN w.a_jump_depth = w.b_jump_depth AND w.a_jump <> w.b_jump THEN w.b_jump
          ELSE w.b_parent END
       WHERE w.a_id <> w.b_id
    )
    SELECT a_depth AS depth FROM walk WHERE a_id = b_id`;
  return rows.length ? Number(rows[0].depth) : null;
}

/**
 * The messages on the path root → `headId` with `depth` in [fromDepth, toDepth), in order.
 * Two queries: one finds the ancestor at depth toDepth − 1 through jump pointers (O(log depth)
 * steps, so a page costs the same at the start of a long conversation as at its end) and walks up
 * from there to `fromDepth`; one loads the rows, with the relations `include` names (so that a
 * page's nested fields cost no query per message).
 */
export async function pathMessages(
  db: Tx | PrismaClient,
  headId: string | null,
  fromDepth: number,
  toDepth: number,
  include?: Prisma.ConversationMessageInclude,
): Promise<ConversationMessage[]> {
  if (!headId || toDepth <= fromDepth) return [];
  const last = toDepth - 1;
  const ids = await db.$queryRaw<{ id: string }[]>`
    WITH RECURSIVE seek AS (
      SELECT m.id, m.parent_id, m.jump_id, m.jump_depth, m.depth FROM conversation_messages m WHERE m.id = ${headId}::uuid
      UNION ALL
      SELECT m.id, m.parent_id, m.jump_id, m.jump_depth, m.depth FROM seek s JOIN conversation_messages m
          ON m.id = CASE WHEN s.jump_depth >= ${last} THEN s.jump_id ELSE s.parent_id END
       WHERE s.depth > ${last}
    ),
    up AS (
      SELECT id, parent_id, depth FROM seek WHERE depth = ${last}
      UNION ALL
      SELECT p.id, p.parent_id, p.depth FROM conversation_messages p JOIN up ON p.id = up.parent_id
       WHERE up.depth > ${fromDepth}
    )
    SELECT id FROM up WHERE depth >= ${fromDepth} ORDER BY depth`;
  if (ids.length === 0) return [];
  const rows = await db.conversationMessage.findMany({ where: { id: { in: ids.map((r) => r.id) } }, include });
  return rows.sort((a, b) => a.depth - b.depth);
}

export async function assertReachable(tx: Tx, task: Task, messageId: string): Promise<void> {
  const message = await tx.conversationMessage.findFirst({ where: { id: messageId, task: { ownerId: task.ownerId } } });
  if (!message) throw new NotFoundError('message', messageId);
  if (message.taskId === task.id) return;
  if (await tx.conversationSnapshot.findFirst({ where: { taskId: task.id, headMessageId: messageId }, select: { id: true } })) return;
  if (await isOnPath(tx, messageId, task.headMessageId)) return;
  throw new BadInputError(`message ${messageId} is not part of task ${task.id}'s conversation`, 'messageId');
}
