// Cancel and archive: cancelTask on pending and running tasks (the worker learns it
// at its next call), archiveTask / archiveContract on real git repositories (worktree and branch
// gone, every checkpoint and the last commit kept under refs/makima/, still forkable and
// branchable), the retention, and the trailers on checkpoint commits.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpoint, claim, createContract, createTask, ForkTask, RenewLease, say, taskEvent, taskOnRepo } from './fixtures.js';
import { codes, rawId, startTestServer, type TestServer, type TestUser } from './harness.js';

let t: TestServer;
let user: TestUser;

beforeAll(async () => {
  t = await startTestServer({ MAKIMA_LEASE_SWEEP_MS: '100' });
  user = await t.createUser();
}, 60_000);
afterAll(async () => t?.stop());

const CancelTask = `mutation($id: ID!, $reason: String) { cancelTask(input: { taskId: $id, reason: $reason }) { task { id status cancelRequestedAt cancelReason } } }`;
const ArchiveTask = `mutation($id: ID!) { archiveTask(input: { taskId: $id }) { task { id status archivedAt worktreePath branch headCommit } } }`;
const ArchiveContract = `mutation($id: ID!) { archiveContract(input: { contractId: $id }) { contract { id archivedAt tasks(first: 10) { edges { node { id archivedAt status } } } } } }`;
const TaskStatus = `query($id: ID!) { task(id: $id) { status archivedAt worktreePath branch headCommit history(first: 50) { edges { node { eventSubtype data } } } conversation(first: 10) { edges { node { content } } } } }`;
const Complete = `mutation($id: ID!, $w: String!) { completeTask(input: { taskId: $id, workerId: $w }) { task { status } } }`;

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' }).trim();
}

/** Claims every pending task of the user as `workerId` until `taskId` is held. */
async function claimUntil(u: TestUser, workerId: string, taskId: string, leaseSeconds = 60): Promise<void> {
  for (let i = 0; i < 10; i++) {
    const assignment = await claim(u, workerId, { leaseSeconds });
    if (!assignment) break;
    if (assignment.task.id === taskId) return;
  }
  throw new Error(`task ${taskId} was not claimed`);
}

/** A task on a real repository, run by a worker to COMPLETED, with two checkpoints and a conversation. */
async function completedTask(u: TestUser = user) {
  const f = await taskOnRepo(t, u);
  await say(u, f.taskId, 'hello');
  fs.writeFileSync(path.join(f.worktree, 'one.txt'), 'one\n');
  const first = await checkpoint(u, f.taskId, 'first');
  fs.writeFileSync(path.join(f.worktree, 'two.txt'), 'two\n');
  const second = await checkpoint(u, f.taskId, 'second');
  await claimUntil(u, 'w-done', f.taskId);
  await u.ok(Complete, { id: f.taskId, w: 'w-done' });
  return { ...f, first, second };
}

describe('cancelTask', () => {
  it('cancels a pending task at once, and no worker receives it', async () => {
    const f = await taskOnRepo(t, user);
    const { cancelTask } = await user.ok(CancelTask, { id: f.taskId, reason: 'not needed' });
    expect(cancelTask.task).toMatchObject({ status: 'CANCELLED', cancelReason: 'not needed', cancelRequestedAt: null });
    const history = (await user.ok(TaskStatus, { id: f.taskId })).task.history.edges.map((e: any) => e.node);
    expect(history[0]).toMatchObject({ eventSubtype: 'cancelled', data: { from: 'PENDING', to: 'CANCELLED', reason: 'not needed' } });
    // Claims take everything else that is pending, never the cancelled task.
    for (let a = await claim(user, 'w-x'); a; a = await claim(user, 'w-x')) expect(a.task.id).not.toBe(f.taskId);
  });

  it('asks a running task to stop: its next renew is a CONFLICT with reason CANCELLED, and it ends CANCELLED', async () => {
    const u = await t.createUser();
    const f = await taskOnRepo(t, u);
    await claimUntil(u, 'w-run', f.taskId);
    const asked = (await u.ok(CancelTask, { id: f.taskId, reason: 'wrong approach' })).cancelTask.task;
    expect(asked.status).toBe('RUNNING');
    expect(asked.cancelRequestedAt).not.toBeNull();
    expect(codes(await u.gql(CancelTask, { id: f.taskId }))).toEqual(['CONFLICT']); // asked once already

    const renew = await u.gql(RenewLease, { input: { taskId: f.taskId, workerId: 'w-run' } });
    expect(codes(renew)).toEqual(['CONFLICT']);
    expect(renew.errors![0].extensions).toMatchObject({ reason: 'CANCELLED', cancelReason: 'wrong approach' });
    expect(renew.errors![0].message).toContain('was cancelled (wrong approach)');
    const after = (await u.ok(TaskStatus, { id: f.taskId })).task;
    expect(after.status).toBe('CANCELLED');
    expect(after.history.edges.map((e: any) => e.node.eventSubtype).slice(0, 2)).toEqual(['cancelled', 'cancel_requested']); // newest first
    // Any later call of the worker says the same.
    const late = await u.gql(Complete, { id: f.taskId, w: 'w-run' });
    expect(late.errors![0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'CANCELLED' });
  });

  it('ends a running task CANCELLED when its worker never calls again and the lease lapses', async () => {
    const u = await t.createUser();
    const f = await taskOnRepo(t, u);
    await claimUntil(u, 'w-gone', f.taskId, 1);
    await u.ok(CancelTask, { id: f.taskId });
    const event = await taskEvent(t, u, f.taskId, 'cancelled');
    expect(event.data).toMatchObject({ from: 'RUNNING', to: 'CANCELLED', workerId: 'w-gone' });
    expect((await u.ok(TaskStatus, { id: f.taskId })).task.status).toBe('CANCELLED');
  });

  it("refuses a finished task, a supervisor, and another user's task", async () => {
    const f = await completedTask();
    expect(codes(await user.gql(CancelTask, { id: f.taskId }))).toEqual(['CONFLICT']);
    const contract = await createContract(user, await t.makeRepo());
    expect(codes(await user.gql(CancelTask, { id: contract.supervisor.id }))).toEqual(['BAD_USER_INPUT']);
    const other = await t.createUser('other');
    expect(codes(await other.gql(CancelTask, { id: f.taskId }))).toEqual(['NOT_FOUND']);
  });
});

describe('archiveTask', () => {
  it('removes the worktree and branch, keeps every checkpoint and the history, and can still be forked and branched from', async () => {
    const f = await completedTask();
    // Work left uncommitted in the worktree is committed and kept, not lost.
    fs.writeFileSync(path.join(f.worktree, 'left-over.txt'), 'uncommitted\n');
    const archived = (await user.ok(ArchiveTask, { id: f.taskId })).archiveTask.task;
    expect(archived).toMatchObject({ status: 'COMPLETED', worktreePath: null, branch: null });
    expect(archived.archivedAt).not.toBeNull();

    expect(fs.existsSync(f.worktree)).toBe(false);
    expect(git(f.repo, 'branch', '--list', f.branch)).toBe('');
    expect(git(f.repo, 'worktree', 'list', '--porcelain')).not.toContain(f.worktree);
    const id = rawId(f.taskId);
    expect(git(f.repo, 'rev-parse', `refs/makima/checkpoints/${id}/1`)).toBe(f.first.commitSha);
    expect(git(f.repo, 'rev-parse', `refs/makima/checkpoints/${id}/2`)).toBe(f.second.commitSha);
    expect(git(f.repo, 'rev-parse', `refs/makima/archived/${id}`)).toBe(archived.headCommit);
    expect(git(f.repo, 'show', `refs/makima/archived/${id}:left-over.txt`)).toBe('uncommitted');

    const state = (await user.ok(TaskStatus, { id: f.taskId })).task;
    expect(state.conversation.edges.map((e: any) => e.node.content)).toEqual([{ text: 'hello' }]);
    expect(state.history.edges[0].node).toMatchObject({ eventSubtype: 'archived', data: { branch: f.branch, retention: false } });

    const fork = await user.ok(ForkTask, { input: { taskId: f.taskId, checkpointId: f.first.id } });
    const forked = fork.forkTask.task;
    expect(fs.readFileSync(path.join(forked.worktreePath!, 'one.txt'), 'utf8')).toBe('one\n');
    const branched = await user.ok(`mutation($t: ID!, $c: ID!) { branchFromCheckpoint(input: { taskId: $t, checkpointId: $c, branchName: "from-archive" }) { commitSha } }`, {
      t: f.taskId,
      c: f.second.id,
    });
    expect(branched.branchFromCheckpoint.commitSha).toBe(f.second.commitSha);

    // Archived: not again, and not resumable.
    expect(codes(await user.gql(ArchiveTask, { id: f.taskId }))).toEqual(['CONFLICT']);
  });

  it('refuses a running or pending task with CONFLICT and changes nothing', async () => {
    const u = await t.createUser();
    const f = await taskOnRepo(t, u);
    const pending = await u.gql(ArchiveTask, { id: f.taskId });
    expect(codes(pending)).toEqual(['CONFLICT']);
    expect(pending.errors![0].message).toContain('cancel it first');
    await claimUntil(u, 'w-busy', f.taskId);
    expect(codes(await u.gql(ArchiveTask, { id: f.taskId }))).toEqual(['CONFLICT']);
    expect(fs.existsSync(f.worktree)).toBe(true);
    expect(git(f.repo, 'branch', '--list', f.branch)).not.toBe('');
  });

  it('makes a FAILED task no longer resumable', async () => {
    const u = await t.createUser();
    const f = await taskOnRepo(t, u);
    await claimUntil(u, 'w-f', f.taskId);
    await u.ok(`mutation($id: ID!) { failTask(input: { taskId: $id, workerId: "w-f", error: "boom" }) { task { status } } }`, { id: f.taskId });
    await u.ok(ArchiveTask, { id: f.taskId });
    const resumed = await u.gql(`mutation($id: ID!) { resumeTask(input: { taskId: $id }) { task { status } } }`, { id: f.taskId });
    expect(codes(resumed)).toEqual(['CONFLICT']);
    expect(resumed.errors![0].message).toContain('archived');
  });
});

describe('archiveContract', () => {
  it('archives every task of a finished contract (its pending supervisor cancelled), and refuses while a task runs', async () => {
    const u = await t.createUser();
    const repo = await t.makeRepo();
    const contract = await createContract(u, repo);
    const task = await createTask(u, contract.id, 'busy');
    const held: string[] = [];
    for (let a = await claim(u, 'w-c'); a; a = await claim(u, 'w-c')) held.push(a.task.id);
    expect(held).toEqual([contract.supervisor.id, task.id]);
    const refused = await u.gql(ArchiveContract, { id: contract.id });
    expect(codes(refused)).toEqual(['CONFLICT']);
    expect(fs.existsSync(task.worktreePath!)).toBe(true);

    await u.ok(Complete, { id: task.id, w: 'w-c' });
    // The supervisor is back to PENDING (as a contract's supervisor waits for its next run): cancelled by the archive.
    await u.ok(`mutation($id: ID!) { failTask(input: { taskId: $id, workerId: "w-c", error: "stop" }) { task { id } } }`, { id: contract.supervisor.id });
    await u.ok(`mutation($id: ID!) { resumeTask(input: { taskId: $id }) { task { status } } }`, { id: contract.supervisor.id });
    const archived = (await u.ok(ArchiveContract, { id: contract.id })).archiveContract.contract;
    expect(archived.archivedAt).not.toBeNull();
    expect(archived.tasks.edges.every((e: any) => e.node.archivedAt !== null)).toBe(true);
    const supervisor = (await u.ok(TaskStatus, { id: contract.supervisor.id })).task;
    expect(supervisor.status).toBe('CANCELLED');
    expect(supervisor.history.edges.slice(0, 2).map((e: any) => e.node.eventSubtype)).toEqual(['archived', 'cancelled']);
    expect(git(repo, 'for-each-ref', '--format=%(refname)', 'refs/heads/makima/')).toBe('');
    expect(git(repo, 'worktree', 'list', '--porcelain').split('\n').filter((l) => l.startsWith('worktree ')).length).toBe(1);
    expect(codes(await u.gql(ArchiveContract, { id: contract.id }))).toEqual(['CONFLICT']);
  });
});

describe('archiveContract racing createTask', () => {
  it('never leaves a task in an archived contract: one of the two waits for the other', async () => {
    const u = await t.createUser();
    let archivedFirst = 0;
    let tasksFirst = 0;
    for (let round = 0; round < 6; round++) {
      const repo = await t.makeRepo();
      const contract = await createContract(u, repo, `race ${round}`);
      // Started together: the tasks' checks outside the transaction run while the archive commits.
      const creates = [0, 1, 2].map((i) => u.gql(`mutation($c: ID!, $n: String!) { createTask(input: { contractId: $c, name: $n }) { task { id } } }`, { c: contract.id, n: `t${i}` }));
      const archive = u.gql(ArchiveContract, { id: contract.id });
      const [archived, ...created] = await Promise.all([archive, ...creates]);
      const state = await u.ok(`query($c: ID!) { contract(id: $c) { archivedAt tasks(first: 10) { edges { node { id archivedAt isSupervisor } } } } }`, { c: contract.id });
      const open = state.contract.tasks.edges.filter((e: any) => e.node.archivedAt === null);
      if (state.contract.archivedAt !== null) {
        expect(codes(archived)).toEqual([]);
        expect(open, `round ${round}: no task of the archived contract is left unarchived`).toEqual([]);
        for (const c of created) expect(codes(c), `round ${round}: a task created after the archive is refused`).toEqual(['CONFLICT']);
        archivedFirst++;
      } else {
        expect(codes(archived)).toEqual(['CONFLICT']); // a PENDING task was there first
        expect(created.some((c) => codes(c).length === 0)).toBe(true);
        tasksFirst++;
      }
    }
    expect(archivedFirst + tasksFirst).toBe(6);
  });
});

describe('the retention', () => {
  it('archives finished tasks after MAKIMA_ARCHIVE_AFTER_DAYS, as the server itself', async () => {
    const r = await startTestServer({ MAKIMA_ARCHIVE_AFTER_DAYS: '0.00001', MAKIMA_ARCHIVE_SWEEP_MS: '200' }); // ≈ 0.9 s
    try {
      const u = await r.createUser();
      const f = await taskOnRepo(r, u);
      for (let a = await claim(u, 'w-r'); a; a = await claim(u, 'w-r')) await u.ok(Complete, { id: a.task.id, w: 'w-r' });
      const event = await taskEvent(r, u, f.taskId, 'archived');
      expect(event.data).toMatchObject({ retention: true, branch: f.branch });
      expect(fs.existsSync(f.worktree)).toBe(false);
      const actor = await u.ok(`query($id: ID!) { task(id: $id) { history(first: 1) { edges { node { actor { kind description } } } } } }`, { id: f.taskId });
      expect(actor.task.history.edges[0].node.actor).toEqual({ kind: 'SERVER', description: 'server' });
    } finally {
      await r.stop();
    }
  });
});

describe('checkpoint commits', () => {
  it('carry trailers naming the task and the contract', async () => {
    const f = await taskOnRepo(t, user);
    fs.writeFileSync(path.join(f.worktree, 'x.txt'), 'x\n');
    const cp = await checkpoint(user, f.taskId, 'with trailers');
    const message = git(f.repo, 'log', '-1', '--format=%B', cp.commitSha);
    expect(message).toContain('with trailers');
    expect(git(f.repo, 'log', '-1', '--format=%(trailers:key=Makima-Task,valueonly)', cp.commitSha)).toBe(rawId(f.taskId));
    expect(git(f.repo, 'log', '-1', '--format=%(trailers:key=Makima-Contract,valueonly)', cp.commitSha)).toBe(rawId(f.contractId));
    const stored = await user.ok(`query($id: ID!) { node(id: $id) { ... on Checkpoint { message } } }`, { id: cp.id });
    expect(stored.node.message).toBe('with trailers');
  });
});
