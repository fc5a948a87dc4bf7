// GraphQL: reading history — Query.timeline, Contract.history and Task.history — and following it
// live — Subscription.timeline and Subscription.contractHistory (docs/design.md §6).
import { prismaConnectionHelpers } from '@pothos/plugin-prisma';
import type { FieldNode, GraphQLResolveInfo } from 'graphql';
import type { Context } from '../../context.js';
import type { Contract, Task } from '../../generated/prisma/client.js';
import { builder } from '../../schema/builder.js';
import { HISTORY_CURSOR } from '../../schema/cursors.js';
import { decodeId } from '../../schema/ids.js';
import { keysetPage } from '../../schema/keyset.js';
import { closeSlowSubscriber, liveEvent, parseSeqCursor } from '../../schema/subscriptions.js';
import { requireViewer, serviceContext } from '../../schema/viewer.js';
import { ContractRef } from '../contracts/schema.js';
import { decodeHistoryFilter, HistoryEventConnection, HistoryEventRef, HistoryFilterInput } from '../history/schema.js';
import { JOINABLE_CONTRACT_FIELDS, JOINABLE_TASK_FIELDS, readHistoryPage, type HistoryRow } from '../history/index.js';
import { TaskRef } from '../tasks/schema.js';
import { nodeSelections, selectsOnly } from '../../schema/selection.js';
import { followContractHistory, followTimeline } from './service.js';

const historyConnection = prismaConnectionHelpers(builder, 'HistoryEvent', { cursor: 'seq' });
type ConnectionArgs = PothosSchemaTypes.DefaultConnectionArguments & { filter?: Parameters<typeof decodeHistoryFilter>[0] };

/**
 * Which relations a page joins in, by what the connection field selects. A field written once
 * (the usual case) is one node of the parsed document, which yoga caches and the answer depends on
 * only: it is found once per field node, not once per request.
 */
const joinsByField = new WeakMap<FieldNode, { joinTask: boolean; joinContract: boolean }>();

function joinsOf(info: GraphQLResolveInfo): { joinTask: boolean; joinContract: boolean } {
  const single = info.fieldNodes.length === 1 ? info.fieldNodes[0] : undefined;
  let joins = single && joinsByField.get(single);
  if (!joins) {
    const nodes = nodeSelections(info);
    joins = {
      joinTask: selectsOnly(nodes, 'task', JOINABLE_TASK_FIELDS, info),
      joinContract: selectsOnly(nodes, 'contract', JOINABLE_CONTRACT_FIELDS, info),
    };
    if (single) joinsByField.set(single, joins);
  }
  return joins;
}

/**
 * One page of the viewer's history events (one contract's or one task's with `scope`), newest
 * first, by keyset on `seq`: one SQL statement (history/sql.ts), with the task's and the contract's
 * columns joined in when the query asks for no more of them than the join carries. Pagination
 * arguments, page sizes and cursors are Pothos's own (`prismaConnectionHelpers`), so they behave
 * as on every other connection.
 */
async function historyPage(ctx: Context, args: ConnectionArgs, info: GraphQLResolveInfo, scope: { contractId?: string; taskId?: string }, parent?: unknown) {
  const query = historyConnection.getQuery(args, ctx, () => ({}));
  const { seq } = keysetPage(query, 'desc', (cursor) => (cursor as { seq?: bigint | number }).seq);
  const viewer = requireViewer(ctx);
  const filter = decodeHistoryFilter(args.filter);
  const backward = args.before != null || args.last != null;
  const { joinTask, joinContract } = joinsOf(info);
  const rows = await readHistoryPage(ctx.db, {
    ownerId: viewer.id,
    filter,
    scope,
    seq: seq && ('lt' in seq ? { lt: BigInt(seq.lt) } : { gt: BigInt(seq.gt) }),
    // A backward page is the rows nearest the cursor in the other direction, read that way.
    order: backward ? 'asc' : 'desc',
    limit: Math.abs(query.take ?? 0),
    joinTask,
    joinContract,
  });
  if (backward) rows.reverse();
  return historyConnection.resolve(rows, args, ctx, parent);
}

builder.queryField('timeline', (t) =>
  t.connection(
    {
      type: HistoryEventRef,
      description: "Every history event of yours, newest first (no totalCount: the timeline is unbounded)",
      args: { filter: t.arg({ type: HistoryFilterInput, description: 'Which events; all of them when left out' }) },
      resolve: (_root, args, ctx, info) => historyPage(ctx, args, info, {}),
    },
    HistoryEventConnection,
  ),
);

builder.prismaObjectField(ContractRef, 'history', (t) =>
  t.connection(
    {
      type: HistoryEventRef,
      description: 'Every event of this contract across all phases, newest first',
      args: { filter: t.arg({ type: HistoryFilterInput, description: 'Which events; all of them when left out' }) },
      resolve: (contract, args, ctx, info) => historyPage(ctx, args, info, { contractId: contract.id }, contract),
    },
    HistoryEventConnection,
  ),
);

builder.prismaObjectField(TaskRef, 'history', (t) =>
  t.connection(
    {
      type: HistoryEventRef,
      description: 'Every event of this task, newest first',
      args: { filter: t.arg({ type: HistoryFilterInput, description: 'Which events; all of them when left out' }) },
      resolve: (task, args, ctx, info) => historyPage(ctx, args, info, { taskId: task.id }, task),
    },
    HistoryEventConnection,
  ),
);

// An event's task and contract: the columns a page joined in (history/sql.ts), else the row, read
// by id. Prisma batches the findUnique calls of one tick into one query, so a page whose query asks
// for more than the join carries costs one more statement per relation, never one per event.
builder.prismaObjectFields(HistoryEventRef, (t) => ({
  task: t.field({
    type: TaskRef,
    nullable: true,
    description: 'The task it concerns, if any',
    resolve: (event, _args, ctx) => {
      const joined = (event as HistoryRow).task;
      if (joined !== undefined) return joined as Task | null;
      return event.taskId === null ? null : ctx.prisma.task.findUnique({ where: { id: event.taskId } });
    },
  }),
  contract: t.field({
    type: ContractRef,
    nullable: true,
    description: 'The contract it concerns',
    resolve: (event, _args, ctx) => {
      const joined = (event as HistoryRow).contract;
      if (joined !== undefined) return joined as Contract | null;
      return event.contractId === null ? null : ctx.prisma.contract.findUnique({ where: { id: event.contractId } });
    },
  }),
}));

builder.subscriptionFields((t) => ({
  timeline: t.field({
    type: HistoryEventRef,
    description: "The viewer's history events matching `filter`: oldest first after the cursor `after`, then live",
    args: {
      filter: t.arg({ type: HistoryFilterInput, description: 'Which events; all of them when left out' }),
      after: t.arg.string({ description: 'A history cursor (HistoryEvent.cursor): start after it; without one, only new events' }),
    },
    extensions: { cursor: HISTORY_CURSOR },
    subscribe: (_root, args, ctx) =>
      followTimeline(serviceContext(ctx), {
        filter: decodeHistoryFilter(args.filter),
        options: { after: parseSeqCursor(args.after), onOverflow: closeSlowSubscriber(ctx) },
      }),
    resolve: liveEvent,
  }),
  contractHistory: t.field({
    type: HistoryEventRef,
    description: "A contract's history events across all phases: oldest first after the cursor `after`, then live",
    args: {
      contractId: t.arg.id({ required: true, description: 'A Contract ID (or its UUID); NOT_FOUND when it is not yours' }),
      after: t.arg.string({ description: 'A history cursor (HistoryEvent.cursor): start after it; without one, only new events' }),
    },
    extensions: { cursor: HISTORY_CURSOR },
    subscribe: (_root, args, ctx) =>
      followContractHistory(serviceContext(ctx), {
        contractId: decodeId(String(args.contractId), 'Contract', 'contractId'),
        options: { after: parseSeqCursor(args.after), onOverflow: closeSlowSubscriber(ctx) },
      }),
    resolve: liveEvent,
  }),
}));
