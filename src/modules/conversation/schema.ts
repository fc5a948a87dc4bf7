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
import { ContractRef } from '../contracts/schema.js';
import { TaskRef } from '../tasks/schema.js';
import { findSupervisor } from '../contracts/service.js';
import { rewindConversation } from './rewind.js';
import { appendMessages, createSnapshot, MAX_MESSAGES_PER_APPEND, pathMessages } from './service.js';


export const ConversationMessageRef = builder.prismaNode('ConversationMessage', {
  id: { field: 'id' },
  findUnique: (id, ctx) => nodeWhere(id, 'ConversationMessage', { task: { ownerId: ctx.viewer?.id ?? '' } }),
  fields: (t) => ({
    role: t.expose('role', { type: MessageRoleEnum }),
    content: t.expose('content', { type: 'JSON' }),
    toolCalls: t.expose('toolCalls', { type: 'JSON', nullable: true }),
    index: t.exposeInt('depth', { description: 'Position in the conversation, 0-based' }),
    parent: t.relation('parent', { nullable: true }),
    task: t.relation('task', { description: 'The task that wrote this message' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
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
  extensions: { cursor: CONVERSATION_CURSOR },
});

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
  return connection;
}

export const ConversationSnapshotRef = builder.prismaNode('ConversationSnapshot', {
  id: { field: 'id' },
  findUnique: (id, ctx) => nodeWhere(id, 'ConversationSnapshot', { task: { ownerId: ctx.viewer?.id ?? '' } }),
  fields: (t) => ({
    task: t.relation('task'),
    snapshotType: t.expose('snapshotType', { type: SnapshotTypeEnum }),
    messageCount: t.exposeInt('messageCount'),
    metadata: t.expose('metadata', { type: 'JSON', nullable: true }),
    headMessage: t.relation('headMessage', { nullable: true, description: 'The last message of the conversation at this snapshot' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
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
  extensions: { cursor: ID_CURSOR },
});

async function taskConversation(ctx: Context, info: GraphQLResolveInfo, task: Task, atSnapshot: string | null | undefined, args: DefaultConnectionArguments) {
  if (!atSnapshot) return conversationPage(ctx, info, task.headMessageId, task.messageCount, args);
  const snapshotId = decodeId(atSnapshot, 'ConversationSnapshot', 'atSnapshot');
  const snapshot = await ctx.prisma.conversationSnapshot.findFirst({ where: { id: snapshotId, taskId: task.id } });
  if (!snapshot) throw new BadInputError(`atSnapshot: ${atSnapshot} is not a snapshot of task ${task.id}`, 'atSnapshot');
  return conversationPage(ctx, info, snapshot.headMessageId, snapshot.messageCount, args);
}

builder.prismaObjectFields(TaskRef, (t) => ({
  messageCount: t.exposeInt('messageCount', { description: 'Messages from the root to the head' }),
  headMessage: t.relation('headMessage', { nullable: true }),
  conversation: t.connection(
    {
      type: ConversationMessageRef,
      description: 'The conversation root → head (or as it was at a snapshot of this task), root first',
      args: { atSnapshot: t.arg.id() },
      resolve: (task, args, ctx, info) => taskConversation(ctx, info, task, args.atSnapshot as string | null | undefined, args),
    },
    ConversationMessageConnection,
  ),
  snapshots: t.relatedConnection('snapshots', { cursor: 'id', query: { orderBy: { createdAt: 'asc' } } }, ConversationSnapshotConnection),
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
  fields: (t) => ({
    role: t.field({ type: MessageRoleEnum, required: true }),
    content: t.field({ type: 'JSON', required: true }),
    toolCalls: t.field({ type: 'JSON' }),
  }),
});

const AppendMessagesInput = builder.inputType('AppendMessagesInput', {
  fields: (t) => ({
    taskId: t.id({ required: true }),
    messages: t.field({
      type: [MessageInput],
      required: true,
      description: `At most ${MAX_MESSAGES_PER_APPEND}`,
      extensions: { maxItems: MAX_MESSAGES_PER_APPEND },
    }),
    expectedHeadId: t.id({ description: 'When given, the append is a CONFLICT unless this is still the head' }),
    workerId: t.string({ description: 'Set by a worker: the append is a CONFLICT unless this worker holds the task (RUNNING, lease not lapsed)' }),
  }),
});

const AppendMessagesPayload = builder.simpleObject('AppendMessagesPayload', {
  fields: (t) => ({
    task: t.field({ type: TaskRef }),
    messages: t.field({ type: [ConversationMessageRef] }),
  }),
});

const CreateSnapshotInput = builder.inputType('CreateSnapshotInput', {
  fields: (t) => ({
    taskId: t.id({ required: true }),
    metadata: t.field({ type: 'JSON' }),
  }),
});

const CreateSnapshotPayload = builder.simpleObject('CreateSnapshotPayload', {
  fields: (t) => ({ snapshot: t.field({ type: ConversationSnapshotRef }) }),
});

const RewindConversationInput = builder.inputType('RewindConversationInput', {
  description: 'Exactly one of contractId (its supervisor) and taskId; exactly one of toMessageId and toSnapshotId',
  fields: (t) => ({ contractId: t.id(), taskId: t.id(), toMessageId: t.id(), toSnapshotId: t.id() }),
});

const RewindConversationPayload = builder.simpleObject('RewindConversationPayload', {
  fields: (t) => ({
    task: t.field({ type: TaskRef }),
    backupSnapshot: t.field({ type: ConversationSnapshotRef, description: 'The old head; rewind to it to undo' }),
  }),
});

const optionalId = (value: unknown, typename: string, field: string) => decodeOptionalId(value as string | null | undefined, typename, field);

builder.mutationFields((t) => ({
  rewindConversation: t.field({
    type: RewindConversationPayload,
    args: { input: t.arg({ type: RewindConversationInput, required: true }) },
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
    args: { input: t.arg({ type: AppendMessagesInput, required: true }) },
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
    args: { input: t.arg({ type: CreateSnapshotInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      snapshot: await createSnapshot(serviceContext(ctx), { taskId: decodeId(String(input.taskId), 'Task', 'taskId'), metadata: input.metadata }),
    }),
  }),
}));
