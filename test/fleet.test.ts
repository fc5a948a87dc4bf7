// Query.tasks, the fleet view: the viewer's tasks across contracts, newest first, filtered by
// status, contract and worker, with their worker and lease; keyset pages; nobody else's tasks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../src/generated/gql/index.js';
import { codes, startTestServer, type TestServer } from './harness.js';
import { claim, newContract } from './fixtures.js';

const Fleet = graphql(`
  query Fleet($first: Int, $after: String, $filter: TaskFilter) {
    tasks(first: $first, after: $after, filter: $filter) {
      edges { cursor node { id name status workerId leaseExpiresAt contract { id } } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => t?.stop());

describe('Query.tasks', () => {
  it("lists the viewer's tasks newest first, and only the viewer's", async () => {
    const user = await t.createUser();
    const other = await t.createUser('other');
    const a = await newContract(t, user, 1);
    const b = await newContract(t, user, 1);
    await newContract(t, other, 2);
    const ids = (await user.ok(Fleet, { first: 100 })).tasks.edges.map((e) => e.node.id);
    expect(ids).toEqual([b.taskIds[0], b.supervisorId, a.taskIds[0], a.supervisorId]);
  });

  it('filters by status, contract and worker, and shows the worker and its lease', async () => {
    const user = await t.createUser();
    const a = await newContract(t, user, 2);
    const b = await newContract(t, user, 0);
    const held = await claim(user, 'fleet-worker-1', { leaseSeconds: 120 });
    expect(held!.task.id).toBe(a.supervisorId);

    const running = (await user.ok(Fleet, { first: 10, filter: { status: ['RUNNING'] } })).tasks.edges.map((e) => e.node);
    expect(running).toEqual([
      { id: a.supervisorId, name: 'c supervisor', status: 'RUNNING', workerId: 'fleet-worker-1', leaseExpiresAt: held!.leaseExpiresAt, contract: { id: a.contractId } },
    ]);
    const ofContract = (await user.ok(Fleet, { first: 10, filter: { contractId: b.contractId } })).tasks.edges.map((e) => e.node.id);
    expect(ofContract).toEqual([b.supervisorId]);
    const pendingOfA = (await user.ok(Fleet, { first: 10, filter: { contractId: a.contractId, status: ['PENDING', 'FAILED'] } })).tasks.edges.map((e) => e.node.id);
    expect(pendingOfA).toEqual([a.taskIds[1], a.taskIds[0]]);
    const byWorker = (await user.ok(Fleet, { first: 10, filter: { workerId: 'fleet-worker-1' } })).tasks.edges.map((e) => e.node.id);
    expect(byWorker).toEqual([a.supervisorId]);
    expect((await user.ok(Fleet, { first: 10, filter: { workerId: 'nobody' } })).tasks.edges).toEqual([]);
  });

  it('pages with first/after without gaps or repeats', async () => {
    const user = await t.createUser();
    await newContract(t, user, 4);
    const all = (await user.ok(Fleet, { first: 100 })).tasks.edges.map((e) => e.node.id);
    const paged: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = (await user.ok(Fleet, { first: 2, after })).tasks;
      paged.push(...page.edges.map((e) => e.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor!;
    }
    expect(all).toHaveLength(5);
    expect(paged).toEqual(all);
  });

  it('refuses a contract ID of another type, a page over 100 and an unauthenticated request', async () => {
    const user = await t.createUser();
    const a = await newContract(t, user, 0);
    expect(codes(await user.gql(Fleet, { first: 10, filter: { contractId: a.supervisorId } }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await user.gql(Fleet, { first: 101 }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await user.gql(Fleet, { first: 10, filter: { workerId: ' ' } }))).toEqual(['BAD_USER_INPUT']);
    const anonymous = await t.gql(Fleet, { first: 10 });
    expect(codes(anonymous)).toEqual(['UNAUTHENTICATED']);
  });
});
