// The lease sweep: every MAKIMA_LEASE_SWEEP_MS, RUNNING tasks whose lease lapsed become INTERRUPTED
// (which makes them resumable). Several instances may sweep the same database at once safely.
import type { AppContext } from '../../context.js';
import { change } from '../../db/change.js';
import { interruptLapsed } from '../tasks/access.js';

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
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  // Scheduled after each sweep ends (not setInterval), so a slow sweep never overlaps the next.
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = sweepLapsedLeases(app)
        .then((ids) => {
          if (!ids.length) return;
          app.logger.info({ tasks: ids }, 'interrupted tasks whose lease lapsed');
          app.live.emit('lease-lapsed', ids);
        })
        .catch((err: unknown) => app.logger.error({ err }, 'lease sweep failed'))
        .finally(schedule);
    }, app.config.leaseSweepMs);
    timer.unref();
  };
  schedule();

  return async () => {
    stopped = true;
    clearTimeout(timer);
    await running;
  };
}
