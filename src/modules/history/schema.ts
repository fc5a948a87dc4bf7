// GraphQL: HistoryEvent, HistoryFilter, Query.timeline, Contract.history and Task.history.
import { formatPrismaCursor } from '@pothos/plugin-prisma';
import type { Context } from '../../context.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { ContractPhase, HistoryEventType } from '../../generated/prisma/enums.js';
import { builder } from '../../schema/builder.js';
import { decodeOptionalId, nodeWhere } from '../../schema/ids.js';
import { keysetPage, type CursorPageQuery } from '../../schema/keyset.js';
import { requireViewer } from '../../schema/viewer.js';
import { ContractPhaseEnum, ContractRef } from '../contracts/schema.js';
import { TaskRef } from '../tasks/schema.js';
import { historyWhere, type HistoryFilter } from './service.js';

export const HistoryEventTypeEnum = builder.enumType(HistoryEventType, { name: 'HistoryEventType' });

/** The opaque cursor of a history event: the same string connections use, so it can be passed as `after`. */
export function historyCursor(seq: bigint): string {
  return formatPrismaCursor({ seq }, 'seq');
}

export const HistoryEventRef = builder.prismaNode('HistoryEvent', {
  id: { field: 'id' },
  findUnique: (id, ctx) => nodeWhere(id, 'HistoryEvent', { ownerId: ctx.viewer?.id ?? '' }),
  fields: (t) => ({
    eventType: t.expose('eventType', { type: HistoryEventTypeEnum }),
    eventSubtype: t.exposeString('eventSubtype', { nullable: true }),
    phase: t.expose('phase', { type: ContractPhaseEnum, nullable: true, description: "The contract's phase when the event happened" }),
    data: t.expose('eventData', { type: 'JSON' }),
    contract: t.relation('contract', { nullable: true }),
    task: t.relation('task', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    seq: t.string({ description: 'Position in commit order (a 64-bit integer as a string)', resolve: (e) => e.seq.toString() }),
    cursor: t.string({ description: 'Pass as `after` to connections and subscriptions', resolve: (e) => historyCursor(e.seq) }),
  }),
});

export const HistoryFilterInput = builder.inputType('HistoryFilter', {
  fields: (t) => ({
    eventTypes: t.field({ type: [HistoryEventTypeEnum] }),
    phases: t.field({ type: [ContractPhaseEnum] }),
    contractId: t.id(),
    taskId: t.id(),
    since: t.field({ type: 'DateTime' }),
    until: t.field({ type: 'DateTime' }),
  }),
});

type FilterArg = typeof HistoryFilterInput.$inferInput | null | undefined;

/** Decodes the IDs of a HistoryFilter argument. */
export function decodeHistoryFilter(filter: FilterArg): HistoryFilter {
  if (!filter) return {};
  return {
    eventTypes: filter.eventTypes,
    phases: filter.phases as ContractPhase[] | null | undefined,
    contractId: decodeOptionalId(filter.contractId as string | null | undefined, 'Contract', 'filter.contractId'),
    taskId: decodeOptionalId(filter.taskId as string | null | undefined, 'Task', 'filter.taskId'),
    since: filter.since,
    until: filter.until,
  };
}

export const HistoryEventConnection = builder.connectionObject({ type: HistoryEventRef, name: 'HistoryEventConnection' });

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
      description: "Every event of the viewer's, newest first",
      args: { filter: t.arg({ type: HistoryFilterInput }) },
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
      args: { filter: t.arg({ type: HistoryFilterInput }) },
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
      args: { filter: t.arg({ type: HistoryFilterInput }) },
      resolve: (query, task, args, ctx) =>
        historyPage(ctx, query, [historyWhere(requireViewer(ctx).id, decodeHistoryFilter(args.filter)), { taskId: task.id }]),
    },
    HistoryEventConnection,
  ),
);
