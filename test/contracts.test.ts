// Contracts and tasks end to end: create, read back through every entry point, phases, isolation.
import fs from 'node:fs';
import path from 'node:path';
import { simpleGit } from 'simple-git';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../src/generated/gql/index.js';
import { codes, startTestServer, type TestServer, type TestUser } from './harness.js';
import { AdvancePhase, CreateContract, CreateTask, Viewer, advancePhase, createContract, createTask } from './fixtures.js';

const ReadBack = graphql(`
  query ReadBack($contractId: ID!, $taskId: ID!) {
    viewer { id name }
    contract(id: $contractId) { id name phase tasks(first: 10) { edges { node { id name isSupervisor } } } }
    task(id: $taskId) { id name contract { id } }
    contracts(first: 10) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } }
    contractNode: node(id: $contractId) { id ... on Contract { name } }
    taskNode: node(id: $taskId) { id ... on Task { name } }
  }
`);

const ContractById = graphql(`
  query ContractById($id: ID!) { contract(id: $id) { id } }
`);

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => t?.stop());

async function contractWithTask(user: TestUser) {
  const repo = await t.makeRepo();
  const contract = await createContract(user, repo, 'Add search');
  const task = await createTask(user, contract.id, 'index files', { prompt: 'build an index' });
  return { repo, contract, task };
}

describe('createContract', () => {
  it('creates the contract with its supervisor task on its own worktree', async () => {
    const user = await t.createUser();
    const { contract } = await contractWithTask(user);
    expect(contract.phase).toBe('RESEARCH');
    expect(contract.supervisor.isSupervisor).toBe(true);
    expect(contract.supervisor.status).toBe('PENDING');
    expect(fs.existsSync(contract.supervisor.worktreePath!)).toBe(true);
  });

  it('refuses a path outside the repositories root, a missing path and a non-repository', async () => {
    const user = await t.createUser();
    const plain = path.join(t.reposRoot, 'not-a-repo');
    fs.mkdirSync(plain, { recursive: true });
    for (const repositoryPath of ['/etc', path.join(t.reposRoot, 'missing'), plain, `${t.reposRoot}/../..`]) {
      const result = await user.gql(CreateContract, { input: { name: 'x', repositoryPath } });
      expect(codes(result), repositoryPath).toEqual(['BAD_USER_INPUT']);
    }
    const count = await t.db.prisma.contract.count({ where: { ownerId: user.id } });
    expect(count).toBe(0);
  });

  it('refuses an empty name without writing anything', async () => {
    const user = await t.createUser();
    const repo = await t.makeRepo();
    const result = await user.gql(CreateContract, { input: { name: '   ', repositoryPath: repo } });
    expect(codes(result)).toEqual(['BAD_USER_INPUT']);
    expect(await t.db.prisma.historyEvent.count({ where: { ownerId: user.id } })).toBe(0);
  });
});

describe('createTask', () => {
  it("creates the task's worktree on its own branch at the repository's head", async () => {
    const user = await t.createUser();
    const { repo, task } = await contractWithTask(user);
    const head = await simpleGit(repo).revparse(['HEAD']);
    expect(task.baseCommit).toBe(head);
    expect(fs.existsSync(path.join(task.worktreePath!, 'README.md'))).toBe(true);
    const branch = await simpleGit(task.worktreePath!).revparse(['--abbrev-ref', 'HEAD']);
    expect(branch).toBe(task.branch);
  });

  it("continues from a previous task's head commit (worktree inheritance)", async () => {
    const user = await t.createUser();
    const { contract, task } = await contractWithTask(user);
    fs.writeFileSync(path.join(task.worktreePath!, 'work.txt'), 'done\n');
    const g = simpleGit(task.worktreePath!);
    await g.add('.').commit('work', { '--author': 'a <a@b.c>' });
    const head = await g.revparse(['HEAD']);
    const next = await createTask(user, contract.id, 'next', { continueFromTaskId: task.id });
    expect(next.baseCommit).toBe(head);
    expect(next.continuedFrom?.id).toBe(task.id);
    expect(fs.readFileSync(path.join(next.worktreePath!, 'work.txt'), 'utf8')).toBe('done\n');
  });
});

describe('reading back', () => {
  it('returns contracts and tasks through contract, task, contracts, node and viewer', async () => {
    const user = await t.createUser('reader');
    const { contract, task } = await contractWithTask(user);
    const data = await user.ok(ReadBack, { contractId: contract.id, taskId: task.id });
    expect(data.viewer.name).toBe('reader');
    expect(data.contract?.tasks.edges.map((e) => e.node.id)).toContain(task.id);
    expect(data.task?.contract?.id).toBe(contract.id);
    expect(data.contracts.edges.map((e) => e.node.id)).toEqual([contract.id]);
    expect(data.contractNode?.id).toBe(contract.id);
    expect(data.taskNode?.id).toBe(task.id);
  });

  it('accepts raw UUIDs where an ID is expected', async () => {
    const user = await t.createUser();
    const { contract } = await contractWithTask(user);
    const row = await t.db.prisma.contract.findFirstOrThrow({ where: { ownerId: user.id } });
    const data = await user.ok(ContractById, { id: row.id });
    expect(data.contract!.id).toBe(contract.id);
  });

  it("hides another user's contract, task and nodes as NOT_FOUND", async () => {
    const owner = await t.createUser('owner');
    const other = await t.createUser('other');
    const { contract, task } = await contractWithTask(owner);
    const result = await other.gql(ReadBack, { contractId: contract.id, taskId: task.id });
    expect(codes(result)).toEqual(['NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND']);
    expect(result.data?.contract).toBeNull();
    expect(result.data?.task).toBeNull();
    expect(result.data?.contractNode).toBeNull();
    expect(result.data?.taskNode).toBeNull();
    expect(result.data?.contracts.edges).toEqual([]);
    const advance = await other.gql(AdvancePhase, { input: { contractId: contract.id, phase: 'PLAN' } });
    expect(codes(advance)).toEqual(['NOT_FOUND']);
    const create = await other.gql(CreateTask, { input: { contractId: contract.id, name: 'sneaky' } });
    expect(codes(create)).toEqual(['NOT_FOUND']);
  });

  it('requires a token', async () => {
    const result = await t.gql(Viewer);
    expect(codes(result)).toEqual(['UNAUTHENTICATED']);
    const wrong = await t.gql(Viewer, {}, 'mk_not-a-real-token');
    expect(codes(wrong)).toEqual(['UNAUTHENTICATED']);
  });
});

describe('advanceContractPhase', () => {
  it('moves forward only and writes PHASE history events with from and to', async () => {
    const user = await t.createUser();
    const { contract } = await contractWithTask(user);
    const advanced = await advancePhase(user, contract.id, 'PLAN');
    expect(advanced.phase).toBe('PLAN');
    const back = await user.gql(AdvancePhase, { input: { contractId: contract.id, phase: 'SPECIFY' } });
    expect(codes(back)).toEqual(['BAD_USER_INPUT']);
    const events = await t.db.prisma.historyEvent.findMany({ where: { ownerId: user.id }, orderBy: { seq: 'asc' } });
    const phaseEvents = events.filter((e) => e.eventType === 'PHASE');
    expect(phaseEvents.map((e) => e.eventSubtype)).toEqual(['created', 'changed']);
    expect(phaseEvents[1].eventData).toEqual({ from: 'RESEARCH', to: 'PLAN' });
    expect(phaseEvents[1].phase).toBe('PLAN');
    const taskEvents = events.filter((e) => e.eventType === 'TASK' && e.eventSubtype === 'created');
    expect(taskEvents).toHaveLength(2);
    expect(taskEvents.every((e) => e.phase === 'RESEARCH')).toBe(true);
  });
});
