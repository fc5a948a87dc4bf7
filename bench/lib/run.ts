// The frame every benchmark runs in: a clear message and a non-zero exit when PostgreSQL is not
// reachable, and cleanup (child servers, the benchmark's database) on success, failure or Ctrl-C.
import { killAllChildren } from './children.js';
import { dropAllBenchDatabases, PostgresUnreachableError } from './postgres.js';

async function cleanup(): Promise<void> {
  killAllChildren();
  await dropAllBenchDatabases();
}

export function runBench(name: string, main: () => Promise<void>): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`\nbench:${name} interrupted; cleaning up`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  main()
    .then(cleanup)
    .then(() => process.exit(0))
    .catch(async (err: unknown) => {
      await cleanup();
      if (err instanceof PostgresUnreachableError) {
        console.error(`bench:${name}: ${err.message}`);
        process.exit(2);
      }
      console.error(`bench:${name} failed:`, err);
      process.exit(1);
    });
}
