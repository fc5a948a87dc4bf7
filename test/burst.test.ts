// A burst of concurrent mutations on a real server: each is served in order, or, when no database
// connection comes free within MAKIMA_TRANSACTION_MAX_WAIT_MS, answered SERVER_BUSY (HTTP 503 with
// Retry-After) having done nothing — never INTERNAL_SERVER_ERROR (docs/api.md, "Errors";
// docs/operations.md, "Bursts of requests").
import { PGlite } from '@electric-sql/pglite';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { newContract } from './fixtures.js';
import { createPostgresDatabase, createTestDatabase, ENGINE, startTestServer, TEST_DATABASE_URL, type TestDatabase, type TestServer } from './harness.js';

// PGlite runs every transaction on its one connection, one after the other, in this process: fewer
// keep the test fast on a loaded machine, and still all arrive at once.
const BURST = ENGINE === 'postgres' ? 80 : 40;
const CREATE_USER = 'mutation($name: String!) { createUser(input: { name: $name }) { user { id } } }';
const APPEND = 'mutation($task: ID!, $content: JSON!) { appendMessages(input: { taskId: $task, messages: [{ role: USER, content: $content }] }) { task { id } } }';

interface Answer {
  status: number;
  retryAfter: string | null;
  code: unknown;
  retryAfterSeconds: unknown;
}

/** A database of the engine under test whose transactions wait at most `maxWaitMs` for one of a pool of two connections. */
async function databaseWaiting(maxWaitMs?: number): Promise<TestDatabase> {
  if (!TEST_DATABASE_URL && maxWaitMs === undefined) return createTestDatabase();
  if (!TEST_DATABASE_URL) {
    const db = await openDatabase({ dataDir: '', pglite: await PGlite.create(), transactionMaxWaitMs: maxWaitMs });
    await migrate(db);
    return { db, drop: () => db.close() };
  }
  const postgres = await createPostgresDatabase();
  const db = await openDatabase({ databaseUrl: postgres.url, dataDir: '', poolSize: 2, transactionMaxWaitMs: maxWaitMs });
  await migrate(db);
  return { db, url: postgres.url, drop: async () => (await db.close(), await postgres.drop()) };
}

/** `count` requests sent at once, each on its own connection; their answers in order. */
async function burst(t: TestServer, token: string, count: number, query: string, variables: (i: number) => Record<string, unknown>): Promise<Answer[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const res = await fetch(t.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables: variables(i) }),
      });
      const body = (await res.json()) as { errors?: { extensions?: Record<string, unknown> }[] };
      const error = body.errors?.[0]?.extensions;
      return { status: res.status, retryAfter: res.headers.get('retry-after'), code: error?.code ?? 'OK', retryAfterSeconds: error?.retryAfterSeconds };
    }),
  );
}

function tally(answers: Answer[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const a of answers) counts[`${a.status} ${String(a.code)}`] = (counts[`${a.status} ${String(a.code)}`] ?? 0) + 1;
  return counts;
}

describe('a burst of concurrent mutations', () => {
  let t: TestServer | undefined;
  let database: TestDatabase | undefined;
  afterEach(async () => {
    await t?.stop();
    await database?.drop();
    t = database = undefined;
  });

  it(`serves ${BURST} createUser calls at once, in order, when connections come free within the default wait`, async () => {
    database = await databaseWaiting();
    t = await startTestServer({}, database);
    const admin = await t.createUser('admin');
    const answers = await burst(t, admin.token, BURST, CREATE_USER, (i) => ({ name: `burst ${i}` }));
    expect(tally(answers)).toEqual({ [`200 OK`]: BURST });
    expect(await t.db.prisma.user.count()).toBe(BURST + 1);
  });

  it('answers SERVER_BUSY with 503 and Retry-After, having done nothing, when no connection comes free in time', async () => {
    database = await databaseWaiting(20);
    t = await startTestServer({}, database);
    const admin = await t.createUser('admin');
    const { supervisorId } = await newContract(t, admin);
    const messagesBefore = await t.db.prisma.conversationMessage.count();
    // createUser goes through a Prisma transaction; appendMessages through the raw hot path (db/change.ts).
    const [users, appends] = await Promise.all([
      burst(t, admin.token, BURST, CREATE_USER, (i) => ({ name: `burst ${i}` })),
      burst(t, admin.token, BURST, APPEND, (i) => ({ task: supervisorId, content: `message ${i}` })),
    ]);
    for (const answer of [...users, ...appends]) {
      if (answer.code === 'OK') expect(answer.status).toBe(200);
      else expect(answer).toEqual({ status: 503, retryAfter: '1', code: 'SERVER_BUSY', retryAfterSeconds: 1 });
    }
    const served = (answers: Answer[]) => answers.filter((a) => a.code === 'OK').length;
    expect(await t.db.prisma.user.count()).toBe(1 + served(users));
    expect((await t.db.prisma.conversationMessage.count()) - messagesBefore).toBe(served(appends));
    // PostgreSQL: two connections for the whole burst, so the tail waits past 20 ms. PGlite queues
    // the transactions on its one connection (a one-statement append takes none), and whether one
    // waits past 20 ms depends on the machine: each answer is checked above, whichever it is.
    if (ENGINE === 'postgres') expect(BURST * 2 - served(users) - served(appends), JSON.stringify([tally(users), tally(appends)])).toBeGreaterThan(0);
  });
});
