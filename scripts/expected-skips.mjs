// The one list of tests allowed to skip in CI (.ci/run), each with the engine run where it skips and
// why. scripts/ci-summary.mjs fails CI on any other skipped test, and on an entry whose tests do not
// pass in the other run — so a test that skips for a missing part (PostgreSQL, Chromium) cannot pass
// unnoticed. A test matches an entry when its file is `file` and its full name (describe titles and
// its own title, joined by spaces) starts with `name`.

/** @type {{ file: string, name: string, skipsOn: 'pglite' | 'postgres', why: string }[]} */
export const EXPECTED_SKIPS = [
  {
    file: 'test/live-multi.test.ts',
    name: 'several server instances on one PostgreSQL',
    skipsOn: 'pglite',
    why: 'a PGlite database belongs to one process: several instances share only a PostgreSQL',
  },
  {
    file: 'test/production.test.ts',
    name: 'MAKIMA_PG_POOL_SIZE',
    skipsOn: 'pglite',
    why: 'the pool size applies to PostgreSQL connections only',
  },
  {
    file: 'test/cli/serve.test.ts',
    name: 'makima serve (PostgreSQL)',
    skipsOn: 'pglite',
    why: 'serves a DATABASE_URL, which needs the PostgreSQL of TEST_DATABASE_URL',
  },
  {
    file: 'test/cli/serve-edges.test.ts',
    name: 'makima serve with DATABASE_URL (PostgreSQL)',
    skipsOn: 'pglite',
    why: 'serves a DATABASE_URL, which needs the PostgreSQL of TEST_DATABASE_URL',
  },
  {
    file: 'test/cli/control.test.ts',
    name: 'makima user create goes through the running server when it holds the embedded database',
    skipsOn: 'postgres',
    why: 'only the embedded database is held by one process; on PostgreSQL the CLI opens it itself',
  },
  {
    file: 'test/mesh-instances.test.ts',
    name: 'two server instances sharing PostgreSQL and the repositories',
    skipsOn: 'pglite',
    why: 'a PGlite database belongs to one process: several instances share only a PostgreSQL',
  },
];
