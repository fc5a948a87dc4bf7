// claimTask with what a worker is for: contractIds (only those contracts' tasks) and supervisor
// (only supervisors, or never one); bad filters are refused before anything is claimed or waited on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, rawId, startTestServer, type TestServer, type TestUser } from './harness.js';
import { ClaimTask, createTask, newContract, TaskState } from './fixtures.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => t?.stop());

type Filter = { contractIds?: string[] | null; supervisor?: boolean | null; waitSeconds?: number };

async function claimWith(user: TestUser, filter: Filter): Promise<string | null> {
  const data = await user.ok(ClaimTask, { input: { workerId: 'w', ...filter } });
  return data.claimTask.assignment?.task.id ?? null;
}

/** Claims until nothing matching is left; the ids in the order claimed. */
async function claimAll(user: TestUser, filter: Filter): Promise<string[]> {
  const ids: string[] = [];
  for (let id = await claimWith(user, filter); id; id = await claimWith(user, filter)) ids.push(id);
  return ids;
}

describe('claimTask filters', () => {
  it('with supervisor: false never takes a supervisor, with true only supervisors', async () => {
    const user = await t.createUser();
    const a = await newContract(t, user, 2);
    const b = await newContract(t, user, 1);
    expect(await claimAll(user, { supervisor: false })).toEqual([...a.taskIds, ...b.taskIds]);
    expect(await claimAll(user, { supervisor: true })).toEqual([a.supervisorId, b.supervisorId]);
  });

  it("with contractIds takes only those contracts' tasks, oldest first; IDs and UUIDs alike", async () => {
    const user = await t.createUser();
    const a = await newContract(t, user, 1);
    const b = await newContract(t, user, 1);
    const c = await newContract(t, user, 1);
    expect(await claimAll(user, { contractIds: [c.contractId, rawId(b.contractId)], supervisor: false })).toEqual([...b.taskIds, ...c.taskIds]);
    expect(await claimAll(user, { contractIds: [b.contractId] })).toEqual([b.supervisorId]);
    // Everything of a is still pending, the supervisor first.
    expect(await claimAll(user, {})).toEqual([a.supervisorId, ...a.taskIds, c.supervisorId]);
  });

  it('refuses an empty list, a wrong ID type and a contract not yours, claiming nothing', async () => {
    const user = await t.createUser();
    const other = await t.createUser('other');
    const mine = await newContract(t, user, 0);
    const theirs = await newContract(t, other, 0);

    const empty = await user.gql(ClaimTask, { input: { workerId: 'w', contractIds: [] } });
    expect(codes(empty)).toEqual(['BAD_USER_INPUT']);
    expect(empty.errors![0].message).toBe('contractIds must name at least one contract; leave it out to claim from any');
    const wrongType = await user.gql(ClaimTask, { input: { workerId: 'w', contractIds: [mine.supervisorId] } });
    expect(codes(wrongType)).toEqual(['BAD_USER_INPUT']);
    expect(wrongType.errors![0].message).toMatch(/^contractIds: ".+" is not a Contract ID$/);
    // Another user's contract is NOT_FOUND at once, even with the claim's mine beside it and a long wait.
    const started = Date.now();
    const notYours = await user.gql(ClaimTask, { input: { workerId: 'w', contractIds: [mine.contractId, theirs.contractId], waitSeconds: 30 } });
    expect(codes(notYours)).toEqual(['NOT_FOUND']);
    expect(notYours.errors![0].message).toBe(`contract ${theirs.contractId} was not found`);
    expect(Date.now() - started).toBeLessThan(5000);

    for (const id of [mine.supervisorId, theirs.supervisorId]) {
      expect((await t.gql(TaskState, { id }, id === mine.supervisorId ? user.token : other.token)).data!.task!.status).toBe('PENDING');
    }
  });

  it('a waiting claim for one contract is not given work of another, and wakes for its own', async () => {
    const user = await t.createUser();
    const a = await newContract(t, user, 0);
    const b = await newContract(t, user, 0);
    expect(await claimAll(user, { supervisor: true })).toEqual([a.supervisorId, b.supervisorId]);
    const waiting = claimWith(user, { contractIds: [b.contractId], supervisor: false, waitSeconds: 20 });
    // Work for a (which wakes the waiting claim, as every signal of this user does), then for b.
    await createTask(user, a.contractId, 'for a');
    const forB = await createTask(user, b.contractId, 'for b');
    expect(await waiting).toBe(forB.id);
    expect(await claimWith(user, { contractIds: [a.contractId] })).not.toBeNull();
  });
});
