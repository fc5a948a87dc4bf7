// The workers' hot-path SQL (docs/design.md §7): statements that run many times a second in a fleet,
// written for PostgreSQL directly through the Database seam (PGlite and pg alike), outside Prisma.
import type { Database } from '../../db/database.js';

/**
 * Renews the lease of `workerId` on the owner's task if — and only if — that worker holds it now:
 * RUNNING, leased by it, lease not lapsed by the database's clock (makima_lease_held), no cancel asked (cancelTask: the
 * general path tells the worker). One statement, no history event.
 * Returns the new expiry, or null when there was nothing to renew (the caller finds out why).
 */
export async function renewHeldLease(
  db: Database,
  lease: { taskId: string; ownerId: string; workerId: string; leaseSeconds: number },
): Promise<Date | null> {
  const rows = await db.query<{ lease_expires_at: Date | string }>(
    `UPDATE tasks SET lease_expires_at = clock_timestamp() + make_interval(secs => $4::int)
      WHERE id = $1::uuid AND owner_id = $2::uuid AND makima_lease_held(tasks, $3) AND cancel_requested_at IS NULL
     RETURNING lease_expires_at`,
    [lease.taskId, lease.ownerId, lease.workerId, lease.leaseSeconds],
  );
  return rows.length ? new Date(rows[0].lease_expires_at) : null;
}
