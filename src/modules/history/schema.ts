// GraphQL: HistoryEvent (with its typed details), HistoryFilter and the history cursor. The queries
// and subscriptions that read history are in modules/timeline.
import { formatPrismaCursor } from '@pothos/plugin-prisma';
import type { ContractPhase } from '../../generated/prisma/enums.js';
import { builder } from '../../schema/builder.js';
import { HISTORY_CURSOR } from '../../schema/cursors.js';
import { ContractPhaseEnum, HistoryEventTypeEnum } from '../../schema/enums.js';
import { decodeOptionalId, nodeWhere } from '../../schema/ids.js';
import { HistoryEventDetailsRef, historyEventData, historyEventDetails } from './details.js';
import type { HistoryFilter } from './service.js';

/** The opaque cursor of a history event: the same string connections use, so it can be passed as `after`. */
export function historyCursor(seq: bigint): string {
  return formatPrismaCursor({ seq }, 'seq');
}

interface ActorRecord {
  userId?: string;
  userName?: string;
  tokenName?: string;
  workerId?: string;
}

const ActorKindEnum = builder.enumType('ActorKind', {
  description: 'What kind of party caused a history event',
  values: {
    USER: { description: 'A person (or script) calling the API with an API token' },
    WORKER: { description: "A worker's call (claim, renew, complete, fail, or a report with workerId), made with an API token" },
    SERVER: { description: 'The server itself: the lease sweep, the archive retention, a recovery at start' },
  } as const,
});

/** An event without an actor (the server itself, or recorded before actors were kept) resolves to `{}`. */
const HistoryActorRef = builder.objectRef<ActorRecord>('HistoryActor').implement({
  description: 'Who caused a history event',
  fields: (t) => ({
    kind: t.field({ type: ActorKindEnum, description: 'USER, WORKER or SERVER', resolve: (a) => (!a.userName ? 'SERVER' : a.workerId ? 'WORKER' : 'USER') }),
    userName: t.string({ nullable: true, description: "The name of the token's user; null for SERVER", resolve: (a) => a.userName ?? null }),
    tokenName: t.string({ nullable: true, description: 'The name of the API token used (ApiToken.name); null for SERVER', resolve: (a) => a.tokenName ?? null }),
    workerId: t.string({ nullable: true, description: "The worker's id, for WORKER", resolve: (a) => a.workerId ?? null }),
    description: t.string({
      description: 'One line for people, e.g. `worker w1 (alice, token "ci")`, `alice (token "default")` or `server`',
      resolve: (a) => describeActor(a),
    }),
  }),
});

/** One line naming an actor, as the CLI prints it. */
export function describeActor(a: ActorRecord | null): string {
  if (!a?.userName) return 'server';
  const who = `${a.userName ?? '?'}, token "${a.tokenName ?? '?'}"`;
  return a.workerId ? `worker ${a.workerId} (${who})` : `${a.userName ?? '?'} (token "${a.tokenName ?? '?'}")`;
}

// `task` and `contract` are added in modules/timeline (above tasks and contracts in the module
// order), where the history pages that join them in are.
export const HistoryEventRef = builder.prismaNode('HistoryEvent', {
  description: 'A state change, recorded in the same transaction as the change, with the contract\'s phase at that moment (docs/api.md lists every kind)',
  id: { field: 'id' },
  findUnique: (id, ctx) => nodeWhere(id, 'HistoryEvent', { ownerId: ctx.viewer?.id ?? '' }),
  fields: (t) => ({
    eventType: t.expose('eventType', { type: HistoryEventTypeEnum, description: 'The family of the event' }),
    eventSubtype: t.exposeString('eventSubtype', { nullable: true, description: 'What happened within the family: created, status_changed, rewound, …' }),
    phase: t.expose('phase', { type: ContractPhaseEnum, nullable: true, description: "The contract's phase when the event happened" }),
    data: t.field({
      type: 'JSON',
      description: 'The event\'s data as recorded, its ids as global IDs (see details for typed fields)',
      resolve: (e) => historyEventData(e.eventType, e.eventSubtype, e.eventData),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the change committed' }),
    actor: t.field({
      type: HistoryActorRef,
      description: 'Who caused the event: a user with a token, a worker, or the server itself (events recorded before actors were kept show SERVER)',
      resolve: (e) => (e.actor && typeof e.actor === 'object' ? (e.actor as ActorRecord) : {}),
    }),
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
  description: 'Which history events to list; every field given narrows the list (all of them must match)',
  fields: (t) => ({
    eventTypes: t.field({ type: [HistoryEventTypeEnum], description: 'Only events of these families (at most 100)' }),
    phases: t.field({ type: [ContractPhaseEnum], description: 'Only events that happened in these contract phases (at most 100)' }),
    contractId: t.id({ description: 'Only events of this contract (a Contract ID or its UUID)' }),
    taskId: t.id({ description: 'Only events of this task (a Task ID or its UUID)' }),
    since: t.field({ type: 'DateTime', description: 'Only events at or after this time' }),
    until: t.field({ type: 'DateTime', description: 'Only events at or before this time; before since is BAD_USER_INPUT' }),
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

// No totalCount: a history is unbounded and filtered arbitrarily, so counting it is a scan of it.
export const HistoryEventConnection = builder.connectionObject(
  { type: HistoryEventRef, name: 'HistoryEventConnection', description: 'A page of history events, newest first', extensions: { cursor: HISTORY_CURSOR } },
  { description: 'A history event and its cursor (the same as HistoryEvent.cursor)' },
);

