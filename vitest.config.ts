import { createRequire } from 'node:module';
import os from 'node:os';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // graphql ships CJS and ESM builds; Node (and every dependency) loads the CJS one, so the tests'
    // own imports must too, or schema objects come from two "realms".
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // bin/makima.js (run by test/cli) runs the compiled dist/: build it first when src/ is newer.
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    // A worker process runs file after file without reloading the modules: loading src/ and its
    // dependencies took seconds per file, and each worker makes the migrated database its files
    // start from once (docs/testing.md, "The suite"). Tests leave no state behind them: each makes
    // its own server, database and directories.
    isolate: false,
    // Much of a test's time is spent waiting on other processes (servers, git, Chromium), so at
    // least two test files run at a time; vitest's default (cores − 1) would run them one by one on
    // two cores (docs/testing.md, "The suite"). MAKIMA_TEST_WORKERS overrides it.
    maxWorkers: Number(process.env.MAKIMA_TEST_WORKERS) || Math.max(2, os.availableParallelism() - 1),
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
  },
});
