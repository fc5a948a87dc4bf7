// Reading history: the filter shared by the timeline, Contract.history, Task.history and the live
// subscriptions, always scoped to the viewer.
import type { ContractPhase, HistoryEventType, Prisma } from '../../generated/prisma/client.js';
import { BadInputError } from '../../errors.js';

export interface HistoryFilter {
  eventTypes?: HistoryEventType[] | null;
  phases?: ContractPhase[] | null;
  contractId?: string | null;
  taskId?: string | null;
  since?: Date | null;
  until?: Date | null;
}

/** BAD_USER_INPUT for a filter no event can match by construction (since after until). */
export function checkHistoryFilter(filter: HistoryFilter | null | undefined): void {
  if (filter?.since && filter.until && filter.since > filter.until) throw new BadInputError('filter.since is after filter.until', 'filter');
}

/** The Prisma `where` for the viewer's history events matching `filter`. */
export function historyWhere(ownerId: string, filter: HistoryFilter | null | undefined): Prisma.HistoryEventWhereInput {
  const f = filter ?? {};
  checkHistoryFilter(f);
  return {
    ownerId,
    ...(f.eventTypes?.length ? { eventType: { in: f.eventTypes } } : {}),
    ...(f.phases?.length ? { phase: { in: f.phases } } : {}),
    ...(f.contractId ? { contractId: f.contractId } : {}),
    ...(f.taskId ? { taskId: f.taskId } : {}),
    ...(f.since || f.until ? { createdAt: { ...(f.since ? { gte: f.since } : {}), ...(f.until ? { lte: f.until } : {}) } } : {}),
  };
}

/** Whether one event matches a filter (live delivery uses the same rule as the queries). */
export function matchesHistoryFilter(
  event: { ownerId: string; eventType: HistoryEventType; phase: ContractPhase | null; contractId: string | null; taskId: string | null; createdAt: Date },
  ownerId: string,
  filter: HistoryFilter | null | undefined,
): boolean {
  const f = filter ?? {};
  if (event.ownerId !== ownerId) return false;
  if (f.eventTypes?.length && !f.eventTypes.includes(event.eventType)) return false;
  if (f.phases?.length && (!event.phase || !f.phases.includes(event.phase))) return false;
  if (f.contractId && event.contractId !== f.contractId) return false;
  if (f.taskId && event.taskId !== f.taskId) return false;
  if (f.since && event.createdAt < f.since) return false;
  if (f.until && event.createdAt > f.until) return false;
  return true;
}
