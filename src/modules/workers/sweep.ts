// The lease sweep: every MAKIMA_LEASE_SWEEP_MS, RUNNING tasks whose lease lapsed become INTERRUPTED
// (which makes them resumable). Several instances may sweep the same database at once safely.
import type { AppContext } from '../../context.js';
import { change } from '../../db/change.js';
import { repeatEvery } from '../../lib/repeat.js';
import { interruptLapsed } from '../../change/access.js';

/** One sweep; returns the ids of the tasks it interrupted. */
export async function sweepLapsedLeases(app: AppContext): Promise<string[]> {
  const ids = await change(app.prisma, async (tx, record) => {
    const interrupted = await interruptLapsed(tx, record, 'lease sweep');
    return interrupted.length ? interrupted : null;
  });
  return ids ?? [];
}

/** Starts sweeping; the returned function stops it and waits for a sweep in progress. */
export function startLeaseSweep(app: AppContext): () => Promise<void> {
  return repeatEvery(
    app.config.leaseSweepMs,
    async () => {
      const ids = await sweepLapsedLeases(app);
      if (!ids.length) return;
      app.logger.info({ tasks: ids }, 'interrupted tasks whose lease lapsed');
      app.live.emit('lease-lapsed', ids);
    },
    (err) => app.logger.error({ err }, 'lease sweep failed'),
  );
}
