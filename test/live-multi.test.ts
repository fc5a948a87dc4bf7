// Several server instances on one PostgreSQL share live events through LISTEN/NOTIFY: an event
// written through one instance reaches subscribers on the others. (A PGlite database belongs to one
// process, so this applies to PostgreSQL only.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
});
