// GraphQL: HistoryEvent (with its typed details), HistoryFilter and the history cursor. The queries
// and subscriptions that read history are in modules/timeline.
import { formatPrismaCursor } from '@pothos/plugin-prisma';
import type { ContractPhase } from '../../generated/prisma/enums.js';
import { builder } from '../../schema/builder.js';
import { HISTORY_CURSOR } from '../../schema/cursors.js';
import { ContractPhaseEnum, HistoryEventTypeEnum } from '../../schema/enums.js';
import { decodeOptionalId, nodeWhere } from '../../schema/ids.js';
import { HistoryEventDetailsRef, historyEventDetails } from './details.js';
import type { HistoryFilter } from './service.js';

/** The opaque cursor of a history event: the same string connections use, so it can be passed as `after`. */
export function historyCursor(seq: bigint): string {
  return formatPrismaCursor({ seq }, 'seq');
}

// `task` and `contract` are added in modules/timeline (above tasks and contracts in the module
// order), where the history pages that join them in are.
export const HistoryEventRef = builder.prismaNode('HistoryEvent', {
  id: { field: 'id' },
  findUnique: (id, ctx) => nodeWhere(id, 'HistoryEvent', { ownerId: ctx.viewer?.id ?? '' }),
  fields: (t) => ({
    eventType: t.expose('eventType', { type: HistoryEventTypeEnum }),
    eventSubtype: t.exposeString('eventSubtype', { nullable: true }),
    phase: t.expose('phase', { type: ContractPhaseEnum, nullable: true, description: "The contract's phase when the event happened" }),
    data: t.expose('eventData', { type: 'JSON' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    seq: t.string({ description: 'Position in commit order (a 64-bit integer as a string)', resolve: (e) => e.seq.toString() }),
    cursor: t.string({ description: 'Pass as `after` to connections and subscriptions', resolve: (e) => historyCursor(e.seq) }),
    details: t.field({
      type: HistoryEventDetailsRef,
      nullable: true,
      description: 'The event\'s data, typed by its kind (`data` as typed fields, IDs as global IDs); null for a kind this server does not know',
      resolve: (e) => historyEventDetails(e.eventType, e.eventSubtype, e.eventData),
    }),
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

export const HistoryEventConnection = builder.connectionObject({ type: HistoryEventRef, name: 'HistoryEventConnection', extensions: { cursor: HISTORY_CURSOR } });

