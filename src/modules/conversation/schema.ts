// GraphQL: ConversationMessage, ConversationSnapshot, Task.conversation, Task.snapshots,
// Contract.supervisorConversation, appendMessages, createSnapshot and rewindConversation.
import { encodeBase64 } from '@pothos/core';
import { queryFromInfo } from '@pothos/plugin-prisma';
import { resolveCursorConnection, type DefaultConnectionArguments } from '@pothos/plugin-relay';
import type { GraphQLResolveInfo } from 'graphql';
import type { Context } from '../../context.js';
import { BadInputError } from '../../errors.js';
import type { ConversationMessage, Prisma, Task } from '../../generated/prisma/client.js';
import { builder } from '../../schema/builder.js';
import { decodeCanonicalBase64, ID_CURSOR, INT4_MAX, isIntegerUpTo, type CursorKind } from '../../schema/cursors.js';
import { decodeId, decodeOptionalId, nodeWhere } from '../../schema/ids.js';
import { MessageRoleEnum, SnapshotTypeEnum } from '../../schema/enums.js';
import { workerMayReport } from '../../schema/scopes.js';
import { requireViewer, serviceContext } from '../../schema/viewer.js';
import { resolveTotalCount, TOTAL_COUNT_DESCRIPTION } from '../../schema/total-count.js';
import { ContractRef } from '../contracts/schema.js';
import { TaskRef } from '../tasks/schema.js';
import { findSupervisor } from '../contracts/index.js';
import { rewindConversation } from './rewind.js';
import { appendMessages, createSnapshot, MAX_MESSAGES_PER_APPEND, pathMessages } from './service.js';


export const ConversationMessageRef = builder.prismaNode('ConversationMessage', {
  description: "One message of a conversation. Messages form a tree: a task's conversation is the path from the root to its head, and a rewind or fork moves that one pointer",
  id: { field: 'id' },
  findUnique: (id, ctx) => nodeWhere(id, 'ConversationMessage', { task: { ownerId: ctx.viewer?.id ?? '' } }),
  fields: (t) => ({
    role: t.expose('role', { type: MessageRoleEnum, description: 'Who wrote it' }),
    content: t.expose('content', { type: 'JSON', description: 'What was said: any JSON (text, or structured content)' }),
    toolCalls: t.expose('toolCalls', { type: 'JSON', nullable: true, description: 'The tool calls the message made, as the agent sent them' }),
    index: t.exposeInt('depth', { description: 'Position in the conversation, 0-based' }),
    parent: t.relation('parent', { nullable: true, description: 'The message before it; null for the first message' }),
    task: t.relation('task', { description: 'The task that wrote this message' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was appended' }),
  }),
});

const CURSOR_PREFIX = 'CM:';

function messageCursor(m: ConversationMessage): string {
  return encodeBase64(`${CURSOR_PREFIX}${m.depth}`);
}

/** The depth inside a conversation cursor (`CM:<depth>`, canonical base64), or undefined when it is not one. */
function parseCursorDepth(cursor: string): number | undefined {
  const decoded = decodeCanonicalBase64(cursor);
  if (!decoded?.startsWith(CURSOR_PREFIX) || !isIntegerUpTo(decoded.slice(CURSOR_PREFIX.length), INT4_MAX)) return undefined;
  return Number(decoded.slice(CURSOR_PREFIX.length));
}

const CONVERSATION_CURSOR: CursorKind = { what: 'a position in a conversation', accepts: (cursor) => parseCursorDepth(cursor) !== undefined };

export const ConversationMessageConnection = builder.connectionObject({
  type: ConversationMessageRef,
  name: 'ConversationMessageConnection',
  description: 'A page of a conversation, root first',
  extensions: { cursor: CONVERSATION_CURSOR },
  fields: (t) => ({ totalCount: t.int({ description: TOTAL_COUNT_DESCRIPTION, resolve: resolveTotalCount }) }),
}, { description: 'A message and its cursor (its position in the conversation)' });

function cursorDepth(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  const depth = parseCursorDepth(cursor);
  if (depth === undefined) throw new BadInputError(`invalid conversation cursor: ${cursor.slice(0, 60)}`, 'after');
  return depth;
}

/**
 * A page of the path root → `headId` (which has `count` messages), as a Relay connection. The
 * relations the query selects under `edges.node` are loaded with the page, not once per message.
 */
export async function conversationPage(ctx: Context, info: GraphQLResolveInfo, headId: string | null, count: number, args: DefaultConnectionArguments) {
  const { include } = queryFromInfo({ context: ctx, info, path: ['edges', 'node'] }) as { include?: Prisma.ConversationMessageInclude };
  const connection = await resolveCursorConnection({ args, toCursor: (m: unknown) => messageCursor(m as ConversationMessage) }, async ({ before, after, limit, inverted }) => {
    const afterDepth = cursorDepth(after);
    const beforeDepth = cursorDepth(before);
    const lo = afterDepth === undefined ? 0 : afterDepth + 1;
    const hi = Math.min(beforeDepth ?? count, count);
    const from = inverted ? Math.max(lo, hi - limit) : lo;
    const to = inverted ? hi : Math.min(hi, lo + limit);
    const page = await pathMessages(ctx.prisma, headId, from, to, include);
    return inverted ? page.reverse() : page;
  });
  // Pothos gives an empty page the `after`/`before` it was asked with, or "" without one, which no
  // list accepts back as a cursor. An empty page has no cursors: null, as every other list says.
  if (connection.edges.length === 0) connection.pageInfo = { ...connection.pageInfo, startCursor: null, endCursor: null };
  // The path's length is stored (messageCount): counting it costs nothing.
  return { ...connection, totalCount: count };
}

export const ConversationSnapshotRef = builder.prismaNode('ConversationSnapshot', {
  description: "A task's conversation as it was at a moment: a pointer to its head message then (one small row, whatever the length)",
  id: { field: 'id' },
  findUnique: (id, ctx) => nodeWhere(id, 'ConversationSnapshot', { task: { ownerId: ctx.viewer?.id ?? '' } }),
  fields: (t) => ({
    task: t.relation('task', { description: 'The task whose conversation it is' }),
    snapshotType: t.expose('snapshotType', { type: SnapshotTypeEnum, description: 'Why it was taken' }),
    messageCount: t.exposeInt('messageCount', { description: 'Messages from the root to its head' }),
    metadata: t.expose('metadata', { type: 'JSON', nullable: true, description: 'What createSnapshot was given, or what the server noted (an AUTO snapshot before a rewind says so)' }),
    headMessage: t.relation('headMessage', { nullable: true, description: 'The last message of the conversation at this snapshot' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was taken' }),
    messages: t.connection(
      {
        type: ConversationMessageRef,
        description: 'The full conversation as it was at this snapshot, root first',
        resolve: (snapshot, args, ctx, info) => conversationPage(ctx, info, snapshot.headMessageId, snapshot.messageCount, args),
      },
      ConversationMessageConnection,
    ),
  }),
});

export const ConversationSnapshotConnection = builder.connectionObject({
  type: ConversationSnapshotRef,
  name: 'ConversationSnapshotConnection',
  description: 'A page of snapshots',
  extensions: { cursor: ID_CURSOR },
  fields: (t) => ({ totalCount: t.int({ description: TOTAL_COUNT_DESCRIPTION, resolve: resolveTotalCount }) }),
}, { description: 'A snapshot and its cursor' });

async function taskConversation(ctx: Context, info: GraphQLResolveInfo, task: Task, atSnapshot: string | null | undefined, args: DefaultConnectionArguments) {
  if (!atSnapshot) return conversationPage(ctx, info, task.headMessageId, task.messageCount, args);
  const snapshotId = decodeId(atSnapshot, 'ConversationSnapshot', 'atSnapshot');
  const snapshot = await ctx.prisma.conversationSnapshot.findFirst({ where: { id: snapshotId, taskId: task.id } });
  if (!snapshot) throw new BadInputError(`atSnapshot: ${atSnapshot} is not a snapshot of task ${task.id}`, 'atSnapshot');
  return conversationPage(ctx, info, snapshot.headMessageId, snapshot.messageCount, args);
}

builder.prismaObjectFields(TaskRef, (t) => ({
  messageCount: t.exposeInt('messageCount', { description: 'Messages from the root to the head' }),
  headMessage: t.relation('headMessage', { nullable: true, description: 'The last message of the conversation; null when it is empty' }),
  conversation: t.connection(
    {
      type: ConversationMessageRef,
      description: 'The conversation root → head (or as it was at a snapshot of this task), root first',
      args: { atSnapshot: t.arg.id({ description: 'A snapshot of this task (of another task: BAD_USER_INPUT): the conversation as it was then' }) },
      resolve: (task, args, ctx, info) => taskConversation(ctx, info, task, args.atSnapshot as string | null | undefined, args),
    },
    ConversationMessageConnection,
  ),
  snapshots: t.relatedConnection('snapshots', { cursor: 'id', totalCount: true, description: "The task's conversation snapshots, oldest first", query: { orderBy: { createdAt: 'asc' } } }, ConversationSnapshotConnection),
}));

builder.prismaObjectField(ContractRef, 'supervisorConversation', (t) =>
  t.connection(
    {
      type: ConversationMessageRef,
      description: "The supervisor task's conversation, root first",
      resolve: async (contract, args, ctx, info) => {
        const supervisor = await findSupervisor(ctx.prisma, requireViewer(ctx), contract.id);
        return conversationPage(ctx, info, supervisor.headMessageId, supervisor.messageCount, args);
      },
    },
    ConversationMessageConnection,
  ),
);

const MessageInput = builder.inputType('MessageInput', {
  description: 'One message to append. Content and tool calls together at most MAKIMA_MAX_MESSAGE_BYTES (1 MiB) as JSON, nested at most 100 levels',
  fields: (t) => ({
    role: t.field({ type: MessageRoleEnum, required: true, description: 'Who wrote it' }),
    content: t.field({ type: 'JSON', required: true, description: 'What was said; not null' }),
    toolCalls: t.field({ type: 'JSON', description: 'The tool calls the message made' }),
  }),
});

const AppendMessagesInput = builder.inputType('AppendMessagesInput', {
  description: 'Messages to append to a task\'s conversation, after its head',
  fields: (t) => ({
    taskId: t.id({ required: true, description: 'A Task ID (or its UUID)' }),
    messages: t.field({
      type: [MessageInput],
      required: true,
      description: `In order, at least 1 and at most ${MAX_MESSAGES_PER_APPEND}`,
      extensions: { maxItems: MAX_MESSAGES_PER_APPEND },
    }),
    expectedHeadId: t.id({
      description: 'When given, the append is a CONFLICT (extensions.currentHeadId: the head now, a global ID) unless this message is still the head; null requires an empty conversation',
    }),
    workerId: t.string({ description: 'Set by a worker: the append is a CONFLICT unless this worker holds the task (RUNNING, lease not lapsed)' }),
  }),
});

const AppendMessagesPayload = builder.simpleObject('AppendMessagesPayload', {
  description: 'What appendMessages wrote',
  fields: (t) => ({
    task: t.field({ type: TaskRef, description: 'The task, its head now the last new message' }),
    messages: t.field({ type: [ConversationMessageRef], description: 'The new messages, in order' }),
  }),
});

const CreateSnapshotInput = builder.inputType('CreateSnapshotInput', {
  description: 'A task whose conversation to snapshot',
  fields: (t) => ({
    taskId: t.id({ required: true, description: 'A Task ID (or its UUID)' }),
    metadata: t.field({ type: 'JSON', description: 'Anything to keep with the snapshot, at most MAKIMA_MAX_MESSAGE_BYTES (1 MiB) as JSON' }),
  }),
});

const CreateSnapshotPayload = builder.simpleObject('CreateSnapshotPayload', {
  description: 'What createSnapshot took',
  fields: (t) => ({ snapshot: t.field({ type: ConversationSnapshotRef, description: 'The new MANUAL snapshot' }) }),
});

const RewindConversationInput = builder.inputType('RewindConversationInput', {
  description: 'Exactly one of contractId (its supervisor) and taskId; exactly one of toMessageId and toSnapshotId',
  fields: (t) => ({
    contractId: t.id({ description: "A Contract ID: rewind its supervisor's conversation" }),
    taskId: t.id({ description: "A Task ID: rewind this task's conversation" }),
    toMessageId: t.id({ description: "A message of that conversation's tree (one rewound away from too): it becomes the head" }),
    toSnapshotId: t.id({ description: 'A snapshot of that task: its head becomes the head' }),
  }),
});

const RewindConversationPayload = builder.simpleObject('RewindConversationPayload', {
  description: 'What rewindConversation moved, and how to undo it',
  fields: (t) => ({
    task: t.field({ type: TaskRef, description: 'The task, its head moved' }),
    backupSnapshot: t.field({ type: ConversationSnapshotRef, description: 'The old head; rewind to it to undo' }),
  }),
});

const optionalId = (value: unknown, typename: string, field: string) => decodeOptionalId(value as string | null | undefined, typename, field);

builder.mutationFields((t) => ({
  rewindConversation: t.field({
    type: RewindConversationPayload,
    description:
      "Moves a task's (or a supervisor's) conversation head to a message or a snapshot. Saves first: an AUTO snapshot of the old head (backupSnapshot); " +
      'nothing is deleted. Writes CHAT/rewound. BAD_USER_INPUT unless exactly one of contractId/taskId and one of toMessageId/toSnapshotId, or for a ' +
      'message or snapshot of another task; NOT_FOUND for one not yours; CONFLICT while a worker holds the task',
    args: { input: t.arg({ type: RewindConversationInput, required: true, description: 'The arguments, as one object' }) },
    resolve: (_root, { input }, ctx) =>
      rewindConversation(serviceContext(ctx), {
        contractId: optionalId(input.contractId, 'Contract', 'contractId'),
        taskId: optionalId(input.taskId, 'Task', 'taskId'),
        toMessageId: optionalId(input.toMessageId, 'ConversationMessage', 'toMessageId'),
        toSnapshotId: optionalId(input.toSnapshotId, 'ConversationSnapshot', 'toSnapshotId'),
      }),
  }),
  appendMessages: t.field({
    ...workerMayReport,
    type: AppendMessagesPayload,
    description:
      "Appends messages after the conversation's head, all or nothing; writes CHAT/message, and an AUTO snapshot every MAKIMA_SNAPSHOT_EVERY messages. " +
      'BAD_USER_INPUT for an empty or oversized batch or message; CONFLICT for a stale expectedHeadId (extensions.currentHeadId) or a worker that does not hold the task; NOT_FOUND for a task not yours',
    args: { input: t.arg({ type: AppendMessagesInput, required: true, description: 'The arguments, as one object' }) },
    resolve: async (_root, { input }, ctx) => {
      const result = await appendMessages(serviceContext(ctx), {
        taskId: decodeId(String(input.taskId), 'Task', 'taskId'),
        messages: input.messages.map((m) => ({ role: m.role, content: m.content, toolCalls: m.toolCalls })),
        workerId: input.workerId,
        expectedHeadId: input.expectedHeadId === undefined ? undefined : (decodeOptionalId(input.expectedHeadId as string | null, 'ConversationMessage', 'expectedHeadId') ?? null),
      });
      return { task: result.task, messages: result.messages };
    },
  }),
  createSnapshot: t.field({
    type: CreateSnapshotPayload,
    description: "Takes a MANUAL snapshot of a task's conversation as it is now; writes CHAT/snapshot. BAD_USER_INPUT for oversized metadata, NOT_FOUND for a task not yours",
    args: { input: t.arg({ type: CreateSnapshotInput, required: true, description: 'The arguments, as one object' }) },
    resolve: async (_root, { input }, ctx) => ({
      snapshot: await createSnapshot(serviceContext(ctx), { taskId: decodeId(String(input.taskId), 'Task', 'taskId'), metadata: input.metadata }),
    }),
  }),
}));
