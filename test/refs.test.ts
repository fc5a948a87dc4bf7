// References people type (docs/design.md §16): every task has a number per user (42), every
// contract a unique short name, and Query.task(ref:) / Query.contract(ref:) resolve a number, a
// name, a prefix of an id or branch, or an ID — ambiguity is BAD_USER_INPUT listing the candidates.
// Also the migration that numbers and names the rows that existed before it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, readMigrations } from '../src/db/migrate.js';
import { graphql } from '../src/generated/gql/index.js';
import { codes, createTestDatabase, rawId, startTestServer, type TestServer, type TestUser } from './harness.js';
import { createContract, createTask } from './fixtures.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => t?.stop());

const TaskByRef = graphql(`
  query RefsTask($ref: String, $id: ID) { task(ref: $ref, id: $id) { id number name branch } }
`);
const ContractByRef = graphql(`
  query RefsContract($ref: String) { contract(ref: $ref) { id shortName name } }
`);
const CreateNamedContract = graphql(`
  mutation RefsCreateContract($input: CreateContractInput!) { createContract(input: $input) { contract { id shortName supervisor { number } } } }
`);

async function taskRef(user: TestUser, ref: string) {
  return user.gql(TaskByRef, { ref });
}

describe('Task.number', () => {
  it('numbers each user’s tasks 1, 2, 3… in creation order, independently of other users, also when created at once', async () => {
    const alice = await t.createUser('alice');
    const bob = await t.createUser('bob');
    const contract = await createContract(alice, await t.makeRepo());
    const bobs = await createContract(bob, await t.makeRepo());
    const first = await createTask(alice, contract.id, 'first');
    const together = await Promise.all([1, 2, 3, 4].map((i) => createTask(alice, contract.id, `together ${i}`)));
    const numbers = async (user: TestUser, ids: string[]) => Promise.all(ids.map(async (id) => (await user.ok(TaskByRef, { id })).task!.number));
    expect(await numbers(alice, [first.id])).toEqual([2]); // the supervisor is #1
    expect((await numbers(alice, together.map((x) => x.id))).sort()).toEqual([3, 4, 5, 6]);
    expect((await bob.ok(TaskByRef, { ref: '#1' })).task!.id).not.toBe((await alice.ok(TaskByRef, { ref: '#1' })).task!.id);
    expect((await createTask(bob, bobs.id, 'bob task')).id).toBe((await bob.ok(TaskByRef, { ref: '2' })).task!.id);
  });
});

describe('Contract.shortName', () => {
  it('is the slug of the name, made unique with -2, or the one given; a taken or malformed one is refused', async () => {
    const user = await t.createUser();
    const repo = await t.makeRepo();
    const create = (input: Record<string, unknown>) => user.gql(CreateNamedContract, { input: { repositoryPath: repo, ...input } as never });
    expect((await create({ name: 'Calc App!' })).data?.createContract.contract.shortName).toBe('calc-app');
    expect((await create({ name: 'calc  app' })).data?.createContract.contract.shortName).toBe('calc-app-2');
    expect((await create({ name: 'other', shortName: 'calc' })).data?.createContract.contract).toMatchObject({ shortName: 'calc', supervisor: { number: 3 } });
    const taken = await create({ name: 'again', shortName: 'calc' });
    expect(codes(taken)).toEqual(['CONFLICT']);
    const bad = await create({ name: 'bad', shortName: 'Calc App' });
    expect(codes(bad)).toEqual(['BAD_USER_INPUT']);
    expect(bad.errors?.[0].message).toMatch(/lower-case letters, digits and single dashes.*like calc-app/);
    // Another user's short names are theirs: the same one is free for this one.
    const other = await t.createUser();
    expect((await other.gql(CreateNamedContract, { input: { name: 'x', shortName: 'calc', repositoryPath: await t.makeRepo() } })).data?.createContract.contract.shortName).toBe('calc');
  });
});

describe('Query.task(ref:)', () => {
  it('finds a task by number, #number, name (any case), id prefix, branch prefix or ID', async () => {
    const user = await t.createUser();
    const contract = await createContract(user, await t.makeRepo());
    const task = await createTask(user, contract.id, 'Calculator');
    const uuid = rawId(task.id);
    const branchTail = task.branch!.replace(/^makima\//, '');
    for (const ref of ['2', '#2', 'calculator', uuid.slice(0, 8), task.branch!.slice(0, 12), branchTail.slice(0, 8), task.id, uuid]) {
      const result = await taskRef(user, ref);
      expect([ref, result.errors]).toEqual([ref, undefined]);
      expect([ref, result.data?.task?.id]).toEqual([ref, task.id]);
    }
  });

  it('refuses an ambiguous reference with BAD_USER_INPUT, each candidate in extensions.candidates', async () => {
    const user = await t.createUser();
    const contract = await createContract(user, await t.makeRepo());
    const a = await createTask(user, contract.id, 'twin');
    const b = await createTask(user, contract.id, 'Twin');
    const result = await taskRef(user, 'twin');
    expect(codes(result)).toEqual(['BAD_USER_INPUT']);
    expect(result.errors?.[0].message).toMatch(/"twin" names 2 of your tasks: #2 twin \(makima\/twin-\w{8}\), #3 Twin .*like 2/);
    expect(result.errors?.[0].extensions?.candidates).toEqual([
      { id: a.id, number: 2, name: 'twin', branch: a.branch, status: 'PENDING' },
      { id: b.id, number: 3, name: 'Twin', branch: b.branch, status: 'PENDING' },
    ]);
    const prefix = await taskRef(user, 'twin-');
    expect(codes(prefix)).toEqual(['BAD_USER_INPUT']);
    expect(prefix.errors?.[0].message).toMatch(/begins the id or branch of 2 of your tasks/);
  });

  it("is NOT_FOUND for another user's task or for nothing, and BAD_USER_INPUT for both id and ref, neither, or another type's ID", async () => {
    const owner = await t.createUser();
    const stranger = await t.createUser();
    const contract = await createContract(owner, await t.makeRepo());
    const task = await createTask(owner, contract.id, 'private');
    for (const ref of ['private', rawId(task.id).slice(0, 8), '#2', task.id]) {
      expect([ref, codes(await taskRef(stranger, ref))]).toEqual([ref, ['NOT_FOUND']]);
    }
    expect(codes(await taskRef(owner, '#99'))).toEqual(['NOT_FOUND']);
    expect(codes(await taskRef(owner, 'nothing-like-it'))).toEqual(['NOT_FOUND']);
    expect(codes(await owner.gql(TaskByRef, { ref: '2', id: task.id }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await owner.gql(TaskByRef, {}))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await taskRef(owner, contract.id))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await taskRef(owner, '   '))).toEqual(['BAD_USER_INPUT']);
  });
});

describe('Query.contract(ref:)', () => {
  it('finds a contract by short name, name, prefix or ID; an ambiguous prefix lists the candidates', async () => {
    const user = await t.createUser();
    const repo = await t.makeRepo();
    const one = (await user.ok(CreateNamedContract, { input: { name: 'Search Box', repositoryPath: repo } })).createContract.contract;
    const two = (await user.ok(CreateNamedContract, { input: { name: 'Search Box', repositoryPath: repo } })).createContract.contract;
    for (const [ref, id] of [['search-box', one.id], ['search-box-2', two.id], [rawId(two.id).slice(0, 6), two.id], [one.id, one.id]]) {
      expect([ref, (await user.gql(ContractByRef, { ref })).data?.contract?.id]).toEqual([ref, id]);
    }
    const byName = await user.gql(ContractByRef, { ref: 'search box' });
    expect(codes(byName)).toEqual(['BAD_USER_INPUT']);
    expect(byName.errors?.[0].extensions?.candidates).toEqual([
      { id: one.id, shortName: 'search-box', name: 'Search Box' },
      { id: two.id, shortName: 'search-box-2', name: 'Search Box' },
    ]);
    expect(codes(await user.gql(ContractByRef, { ref: 'search' }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await user.gql(ContractByRef, { ref: 'nope' }))).toEqual(['NOT_FOUND']);
  });
});

describe('migration 20261205070000_task_numbers_contract_short_names', () => {
  it('numbers existing tasks per owner in creation order and gives existing contracts unique short names', async () => {
    const test = await createTestDatabase();
    try {
      const db = test.db;
      await db.rawTransaction((tx) => tx.exec('DROP SCHEMA public CASCADE; CREATE SCHEMA public;'));
      const all = readMigrations();
      const at = all.findIndex((m) => m.name === '20261205070000_task_numbers_contract_short_names');
      await migrate(db, all.slice(0, at));
      const [u1, u2] = ['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002'];
      await db.query(`INSERT INTO users (id, name) VALUES ($1, 'one'), ($2, 'two')`, [u1, u2]);
      const contracts: [string, string, string, string][] = [
        ['10000000-0000-4000-8000-000000000001', u1, 'Calc App', '2026-01-01'],
        ['10000000-0000-4000-8000-000000000002', u1, 'calc app', '2026-01-02'],
        ['10000000-0000-4000-8000-000000000003', u2, 'Calc App', '2026-01-03'],
        ['10000000-0000-4000-8000-000000000004', u2, '!!!', '2026-01-04'],
      ];
      for (const [id, owner, name, at] of contracts) {
        await db.query(`INSERT INTO contracts (id, owner_id, name, repository_path, created_at) VALUES ($1, $2, $3, '/r', $4)`, [id, owner, name, at]);
      }
      const tasks: [string, string, string][] = [
        ['20000000-0000-4000-8000-000000000003', u1, '2026-02-03'],
        ['20000000-0000-4000-8000-000000000001', u1, '2026-02-01'],
        ['20000000-0000-4000-8000-000000000002', u2, '2026-02-02'],
        ['20000000-0000-4000-8000-000000000004', u1, '2026-02-04'],
      ];
      for (const [id, owner, at] of tasks) {
        await db.query(`INSERT INTO tasks (id, owner_id, name, created_at) VALUES ($1, $2, 't', $3)`, [id, owner, at]);
      }
      await migrate(db, all);
      const numbered = await db.query<{ id: string; number: number }>(`SELECT id, number FROM tasks ORDER BY id`);
      expect(numbered.map((r) => [r.id.slice(-1), r.number])).toEqual([['1', 1], ['2', 1], ['3', 2], ['4', 3]]);
      const last = await db.query<{ name: string; last_task_number: number }>(`SELECT name, last_task_number FROM users ORDER BY name`);
      expect(last).toEqual([{ name: 'one', last_task_number: 3 }, { name: 'two', last_task_number: 1 }]);
      const named = await db.query<{ id: string; short_name: string }>(`SELECT id, short_name FROM contracts ORDER BY id`);
      expect(named.map((r) => r.short_name)).toEqual(['calc-app', 'calc-app-10000000', 'calc-app', 'contract']);
    } finally {
      await test.drop();
    }
  });
});
