// GraphQL: reading history — Query.timeline, Contract.history and Task.history — and following it
// live — Subscription.timeline and Subscription.contractHistory (docs/design.md §6).
import type { Context } from '../../context.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { builder } from '../../schema/builder.js';
import { HISTORY_CURSOR } from '../../schema/cursors.js';
import { decodeId } from '../../schema/ids.js';
import { keysetPage, type CursorPageQuery } from '../../schema/keyset.js';
import { closeSlowSubscriber, liveEvent, parseSeqCursor } from '../../schema/subscriptions.js';
import { requireViewer, serviceContext } from '../../schema/viewer.js';
import { ContractRef } from '../contracts/schema.js';
import { decodeHistoryFilter, HistoryEventConnection, HistoryEventRef, HistoryFilterInput } from '../history/schema.js';
import { historyWhere } from '../history/service.js';
import { TaskRef } from '../tasks/schema.js';
import { followContractHistory, followTimeline } from './service.js';

/** One page of the viewer's history events matching `where`, newest first, by keyset on `seq`. */
function historyPage<Q extends CursorPageQuery & { cursor?: { seq?: bigint | number } }>(ctx: Context, query: Q, where: Prisma.HistoryEventWhereInput[]) {
  const { page, seq } = keysetPage(query, 'desc', (cursor) => cursor.seq);
  return ctx.prisma.historyEvent.findMany({ ...page, where: { AND: seq ? [...where, { seq }] : where }, orderBy: { seq: 'desc' } });
}

builder.queryField('timeline', (t) =>
  t.prismaConnection(
    {
      type: 'HistoryEvent',
      cursor: 'seq',
      description: "Every history event of yours, newest first (no totalCount: the timeline is unbounded)",
      args: { filter: t.arg({ type: HistoryFilterInput, description: 'Which events; all of them when left out' }) },
      resolve: (query, _root, args, ctx) => historyPage(ctx, query, [historyWhere(requireViewer(ctx).id, decodeHistoryFilter(args.filter))]),
    },
    HistoryEventConnection,
  ),
);

builder.prismaObjectField(ContractRef, 'history', (t) =>
  t.prismaConnection(
    {
      type: 'HistoryEvent',
      cursor: 'seq',
      description: 'Every event of this contract across all phases, newest first',
      args: { filter: t.arg({ type: HistoryFilterInput, description: 'Which events; all of them when left out' }) },
      resolve: (query, contract, args, ctx) =>
        historyPage(ctx, query, [historyWhere(requireViewer(ctx).id, decodeHistoryFilter(args.filter)), { contractId: contract.id }]),
    },
    HistoryEventConnection,
  ),
);

builder.prismaObjectField(TaskRef, 'history', (t) =>
  t.prismaConnection(
    {
      type: 'HistoryEvent',
      cursor: 'seq',
      description: 'Every event of this task, newest first',
      args: { filter: t.arg({ type: HistoryFilterInput, description: 'Which events; all of them when left out' }) },
      resolve: (query, task, args, ctx) =>
        historyPage(ctx, query, [historyWhere(requireViewer(ctx).id, decodeHistoryFilter(args.filter)), { taskId: task.id }]),
    },
    HistoryEventConnection,
  ),
);

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
