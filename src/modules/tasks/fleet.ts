// The fleet view's rule (Query.tasks): which of the viewer's tasks a TaskFilter selects, newest
// first. Only the viewer's own tasks are ever listed; a filter narrows them, never widens them.
import type { Viewer } from '../../context.js';
import type { Prisma } from '../../generated/prisma/client.js';
import type { TaskStatus } from '../../generated/prisma/enums.js';
import { assertWorkerId } from '../../change/access.js';

export interface TaskFilter {
  status?: TaskStatus[] | null;
  contractId?: string | null;
  workerId?: string | null;
}

/** The `where` of the viewer's tasks that match `filter` (an empty status list means any status). */
export function fleetWhere(viewer: Viewer, filter: TaskFilter = {}): Prisma.TaskWhereInput {
  return {
    ownerId: viewer.id,
    ...(filter.status?.length ? { status: { in: filter.status } } : {}),
    ...(filter.contractId ? { contractId: filter.contractId } : {}),
    ...(filter.workerId != null ? { workerId: assertWorkerId(filter.workerId) } : {}),
  };
}

/** Newest first; the id breaks ties between tasks created in the same millisecond, so pages never overlap. */
export const FLEET_ORDER: Prisma.TaskOrderByWithRelationInput[] = [{ createdAt: 'desc' }, { id: 'desc' }];
