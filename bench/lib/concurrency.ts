// Bounded concurrency for a benchmark's set-up: creating thousands of users or sockets at once
// measures the stampede (transactions that cannot start in time, accept backlogs, init timeouts),
// not the benchmark.

/** Runs `fn` on every item, at most `limit` at a time, each next one as soon as one ends; the results in the items' order. */
export async function mapWithConcurrency<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
