// A job repeated in the background (the lease sweep, archive retention): each run is scheduled when
// the previous one ends (not setInterval), so a slow run never overlaps the next.

/**
 * Runs `run` every `everyMs` until the returned function is called; that function waits for a run
 * in progress. A failed run goes to `onError` and the next one still comes. The timer does not keep
 * the process alive.
 */
export function repeatEvery(everyMs: number, run: () => Promise<void>, onError: (err: unknown) => void): () => Promise<void> {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = run().catch(onError).finally(schedule);
    }, everyMs);
    timer.unref();
  };
  schedule();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await running;
  };
}
