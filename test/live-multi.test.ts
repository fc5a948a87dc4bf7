// Several server instances on one PostgreSQL share live events through LISTEN/NOTIFY: an event
// written through one instance reaches subscribers on the others. (A PGlite database belongs to one
// process, so this applies to PostgreSQL only.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { historyLockSql } from '../src/db/change.js';
import { LISTENER_APPLICATION_NAME, openDatabase } from '../src/db/database.js';
import { historyCursor } from '../src/modules/history/schema.js';
import { createTestDatabase, ENGINE, startTestServer, type TestDatabase, type TestServer, type TestUser } from './harness.js';
import { appendMessages, createContract, LiveTimeline } from './fixtures.js';
import { collect, wsClient } from './ws-client.js';

/** One message, "hi", appended to the task by `user` (through the instance `user` talks to). */
async function append(user: TestUser, taskId: string): Promise<void> {
  await appendMessages(user, taskId, [{ role: 'USER', content: 'hi' }]);
}

describe.runIf(ENGINE === 'postgres')('several server instances on one PostgreSQL', () => {
  let shared: TestDatabase;
  let secondDb: TestDatabase;
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    shared = await createTestDatabase();
    // Instance B has its own connections (and its own LISTEN) on the same database, like a second process.
    const db = await openDatabase({ databaseUrl: shared.url, dataDir: '' });
    secondDb = { db, url: shared.url, drop: () => db.close() };
    a = await startTestServer({}, shared);
    b = await startTestServer({}, secondDb);
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await secondDb?.drop();
    await shared?.drop();
  });

  /** A user of A; the same token works on B since they share the database. */
  async function userOnBoth(): Promise<{ onA: TestUser; onB: TestUser }> {
    const onA = await a.createUser('both');
    const onB: TestUser = { ...onA, gql: (doc, v) => b.gql(doc, v, onA.token), ok: async (doc, v) => {
      const r = await b.gql(doc, v, onA.token);
      if (r.errors?.length) throw new Error(JSON.stringify(r.errors));
      return r.data as never;
    } };
    return { onA, onB };
  }

  it('delivers an event written through A to a subscriber on B, and the other way round', async () => {
    const { onA, onB } = await userOnBoth();
    const clientOfA = wsClient(a.wsUrl, onA.token);
    const clientOfB = wsClient(b.wsUrl, onA.token);
    const onSubscriberOfA = collect(clientOfA, LiveTimeline, { after: historyCursor(0n) }, 'timeline');
    const onSubscriberOfB = collect(clientOfB, LiveTimeline, { after: historyCursor(0n) }, 'timeline');

    const repo = await a.makeRepo();
    const taskId = (await createContract(onA, repo, 'multi')).supervisor.id;
    // Both subscriptions are live once they have the contract's two events: what follows reaches
    // each instance's hub only through NOTIFY from the instance that wrote it.
    await onSubscriberOfA.count(2);
    await onSubscriberOfB.count(2);
    for (let i = 0; i < 5; i++) {
      await append(onA, taskId);
      await append(onB, taskId);
    }
    const rows = await a.db.prisma.historyEvent.findMany({ where: { ownerId: onA.id }, orderBy: { seq: 'asc' } });
    const expected = rows.map((r) => r.seq.toString());
    expect(expected).toHaveLength(12);
    expect((await onSubscriberOfB.count(12)).map((e) => e.seq)).toEqual(expected);
    expect((await onSubscriberOfA.count(12)).map((e) => e.seq)).toEqual(expected);
    await clientOfA.dispose();
    await clientOfB.dispose();
  });

  it('recovers when the LISTEN connection is lost: nothing written meanwhile is missed', async () => {
    const { onA } = await userOnBoth();
    const client = wsClient(b.wsUrl, onA.token);
    const stream = collect(client, LiveTimeline, { after: historyCursor(0n) }, 'timeline');
    const repo = await a.makeRepo();
    const taskId = (await createContract(onA, repo, 'multi')).supervisor.id;
    await stream.count(2);
    // Kill every instance's LISTEN connection, then write at once: these NOTIFYs reach nobody.
    await a.db.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()`, [LISTENER_APPLICATION_NAME]);
    for (let i = 0; i < 3; i++) await append(onA, taskId);
    const rows = await a.db.prisma.historyEvent.findMany({ where: { ownerId: onA.id }, orderBy: { seq: 'asc' } });
    expect((await stream.count(5)).map((e) => e.seq)).toEqual(rows.map((r) => r.seq.toString()));
    await client.dispose();
  });

  it('keeps seq order across instances while both take concurrent writes', async () => {
    const { onA, onB } = await userOnBoth();
    const repo = await a.makeRepo();
    const taskId = (await createContract(onA, repo, 'multi')).supervisor.id;
    const client = wsClient(b.wsUrl, onA.token);
    const stream = collect(client, LiveTimeline, { after: historyCursor(0n) }, 'timeline');
    await Promise.all(
      Array.from({ length: 10 }, async (_, w) => {
        for (let i = 0; i < 8; i++) await append(w % 2 ? onA : onB, taskId);
      }),
    );
    const rows = await a.db.prisma.historyEvent.findMany({ where: { ownerId: onA.id }, orderBy: { seq: 'asc' } });
    expect(rows).toHaveLength(82);
    expect((await stream.count(82)).map((e) => e.seq)).toEqual(rows.map((r) => r.seq.toString()));
    await client.dispose();
  });

  it('delivers each user exactly their events while many users write concurrently through both instances', async () => {
    const users = await Promise.all([0, 1, 2].map(() => userOnBoth()));
    const repo = await a.makeRepo();
    const tasks = await Promise.all(users.map(async ({ onA }) => (await createContract(onA, repo, 'fleet')).supervisor.id));
    // Each user has a subscriber on each instance, following from the start.
    const clients = users.flatMap(({ onA }) => [wsClient(a.wsUrl, onA.token), wsClient(b.wsUrl, onA.token)]);
    const streams = clients.map((client) => collect(client, LiveTimeline, { after: historyCursor(0n) }, 'timeline'));
    // 18 writers (6 per user, half through each instance), each on its user's task, with no global lock.
    await Promise.all(
      users.flatMap(({ onA, onB }, u) =>
        Array.from({ length: 6 }, async (_, w) => {
          for (let i = 0; i < 6; i++) await append(w % 2 ? onA : onB, tasks[u]);
        }),
      ),
    );
    for (const [u, { onA }] of users.entries()) {
      const rows = await a.db.prisma.historyEvent.findMany({ where: { ownerId: onA.id }, orderBy: { seq: 'asc' } });
      expect(rows).toHaveLength(2 + 36);
      for (const stream of streams.slice(2 * u, 2 * u + 2)) {
        expect((await stream.count(rows.length)).map((e) => e.seq)).toEqual(rows.map((r) => r.seq.toString()));
      }
    }
    await Promise.all(clients.map((c) => c.dispose()));
  });

  it("never makes one user's writer wait for another user's history lock", async () => {
    const { onA: first } = await userOnBoth();
    const { onA: second } = await userOnBoth();
    const repo = await a.makeRepo();
    const firstTask = (await createContract(first, repo, 'held')).supervisor.id;
    const secondTask = (await createContract(second, repo, 'free')).supervisor.id;
    // Another connection holds the first user's history lock (as a writer between its insert and COMMIT).
    const holder = await openDatabase({ databaseUrl: shared.url, dataDir: '' });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let holding!: () => void;
    const held = new Promise<void>((resolve) => (holding = resolve));
    const transaction = holder.rawTransaction(async (sql) => {
      await sql.query(historyLockSql(`ARRAY['${first.id}']::uuid[]`));
      holding();
      await released;
    });
    await held;
    let firstDone = false;
    const firstAppend = append(first, firstTask).then(() => (firstDone = true));
    // The second user's writes go through while the first user's lock is held …
    await append(second, secondTask);
    await append(second, secondTask);
    expect(firstDone).toBe(false);
    // … and the first user's write completes once it is released.
    release();
    await transaction;
    await firstAppend;
    expect(firstDone).toBe(true);
    await holder.close();
  });
});
