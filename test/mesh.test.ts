// The mesh: workers claim pending tasks with their full context, hold them through leases, and
// complete or fail them; waiting claims learn of new work within a second.
import { print } from 'graphql';
import { simpleGit } from 'simple-git';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/database.js';
import { workSignals } from '../src/live/work.js';
import { codes, createTestDatabase, eventually, rawId, startTestServer, type GqlResult, type TestDatabase, type TestServer, type TestUser } from './harness.js';
import {
  AppendMessages,
  appendMessages,
  claim,
  ClaimTask,
  CompleteTask,
  createContract,
  createTask,
  FailTask,
  ForkTask,
  interruptedEvent,
  leaseLapsed,
  newContract,
  RenewLease,
  ResumeTask,
  subtypes,
  taskHistory,
  TaskState,
} from './fixtures.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ MAKIMA_LEASE_SWEEP_MS: '100' });
});
afterAll(async () => t?.stop());

describe('claimTask', () => {
  it('assigns the oldest pending task with its full conversation, worktree, branch, commit and lease', async () => {
    const user = await t.createUser();
    const { supervisorId, taskIds } = await newContract(t, user, 1);
    const written = await appendMessages(user, supervisorId, [{ role: 'SYSTEM', content: 'plan' }, { role: 'USER', content: { text: 'go' } }, { role: 'ASSISTANT', content: 'ok' }]);
    const before = Date.now();
    const a = await claim(user, 'worker-1', { leaseSeconds: 30 });
    expect(a).not.toBeNull();
    expect(a!.task).toMatchObject({ id: supervisorId, status: 'RUNNING', workerId: 'worker-1' });
    expect(a!.reason).toBe('NEW');
    expect(a!.resumeNote).toBeNull();
    expect(a!.conversation.map((m) => m.id)).toEqual(written.messages.map((m) => m.id));
    expect(a!.conversation.map((m) => [m.index, m.role, m.content])).toEqual([[0, 'SYSTEM', 'plan'], [1, 'USER', { text: 'go' }], [2, 'ASSISTANT', 'ok']]);
    const git = simpleGit(a!.worktreePath);
    expect(a!.commitSha).toBe((await git.revparse(['HEAD'])).trim());
    expect((await git.revparse(['--abbrev-ref', 'HEAD'])).trim()).toBe(a!.branch);
    const lease = Date.parse(a!.leaseExpiresAt);
    expect(lease).toBeGreaterThan(before + 25_000);
    expect(lease).toBeLessThan(Date.now() + 35_000);

    const next = await claim(user, 'worker-2');
    expect(next!.task.id).toBe(taskIds[0]);
    expect(next!.conversation).toEqual([]);
    expect(await claim(user, 'worker-3')).toBeNull();
  });

  it('writes TASK/status_changed with from, to, workerId and reason', async () => {
    const user = await t.createUser();
    const { supervisorId } = await newContract(t, user);
    await claim(user, 'w');
    const events = await taskHistory(t, supervisorId);
    expect(events.map((e) => `${e.eventType}/${e.eventSubtype}`)).toEqual(['TASK/created', 'TASK/status_changed']);
    expect(events[1].eventData).toMatchObject({ from: 'PENDING', to: 'RUNNING', workerId: 'w', reason: 'NEW' });
  });

  it("only ever sees the viewer's own tasks", async () => {
    const owner = await t.createUser('owner');
    const other = await t.createUser('other');
    const { supervisorId } = await newContract(t, owner);
    expect(await claim(other, 'intruder')).toBeNull();
    expect((await owner.ok(TaskState, { id: supervisorId })).task!.status).toBe('PENDING');
  });

  it('gives each of 5 pending tasks to exactly one of 20 concurrent claims', async () => {
    const user = await t.createUser();
    const { supervisorId, taskIds } = await newContract(t, user, 4);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => user.gql(ClaimTask, { input: { workerId: `w${i}` } })));
    expect(results.flatMap((r) => r.errors ?? [])).toEqual([]);
    const claimed = results.map((r) => r.data!.claimTask.assignment).filter((a) => !!a);
    expect(claimed).toHaveLength(5);
    expect(new Set(claimed.map((a) => a.task.id))).toEqual(new Set([supervisorId, ...taskIds]));
    for (const a of claimed) {
      const row = await t.db.prisma.task.findUniqueOrThrow({ where: { id: rawId(a.task.id) } });
      expect(row).toMatchObject({ status: 'RUNNING', workerId: a.task.workerId });
      expect((await subtypes(t, a.task.id)).filter((s) => s === 'status_changed')).toHaveLength(1);
    }
  });

  it('refuses bad input with BAD_USER_INPUT and claims nothing', async () => {
    const user = await t.createUser();
    const { supervisorId } = await newContract(t, user);
    const bad = [
      { workerId: '' },
      { workerId: '   ' },
      { workerId: 'x'.repeat(201) },
      { workerId: 'bell\u0007' },
      { workerId: 'w', leaseSeconds: 0 },
      { workerId: 'w', leaseSeconds: 3601 },
      { workerId: 'w', waitSeconds: -1 },
      { workerId: 'w', waitSeconds: 61 },
    ];
    for (const input of bad) expect(codes(await user.gql(ClaimTask, { input })), JSON.stringify(input)).toEqual(['BAD_USER_INPUT']);
    expect((await user.ok(TaskState, { id: supervisorId })).task!.status).toBe('PENDING');
    expect(await subtypes(t, supervisorId)).toEqual(['created']);
  });

  it('requires a token', async () => {
    expect(codes(await t.gql(ClaimTask, { input: { workerId: 'w' } }))).toEqual(['UNAUTHENTICATED']);
  });
});

/**
 * Starts a claim and resolves, once it is waiting on `server`, with (a function returning) its result.
 * A waiting claim never polls: it returns work only when a notification wakes it, and null at its
 * deadline otherwise — so an assignment proves the wake-up, with no timing to measure on a busy machine.
 */
async function waitingClaim(server: TestServer, user: TestUser, workerId: string, waitSeconds = 60) {
  const signals = workSignals(server.db);
  const before = signals.waiting(user.id);
  const result = user.gql(ClaimTask, { input: { workerId, waitSeconds } });
  // Polls, because a claim that starts waiting announces it nowhere: nothing is written, nothing is
  // sent to the client, and WorkSignals emits no event; its waiting() count is all there is to see.
  await eventually(async () => signals.waiting(user.id) > before, 'the claim to wait');
  return () => result;
}

/** A task of `user` that is INTERRUPTED (its 1-second lease lapsed and the sweep noticed). */
async function interruptedTask(server: TestServer, user: TestUser): Promise<string> {
  const { supervisorId } = await newContract(server, user);
  await claim(user, 'short-lived', { leaseSeconds: 1 });
  await interruptedEvent(server, user, supervisorId);
  return supervisorId;
}

describe('claimTask with waitSeconds (long-poll)', () => {
  it('is woken with the task when a resume makes it pending', async () => {
    const user = await t.createUser();
    const taskId = await interruptedTask(t, user);
    const waiting = await waitingClaim(t, user, 'idle-worker');
    await user.ok(ResumeTask, { input: { taskId } });
    const result = await waiting();
    expect(result.data!.claimTask.assignment).toMatchObject({ reason: 'RESUME', task: { id: taskId, workerId: 'idle-worker' } });
  });

  it('is woken with the task createTask makes', async () => {
    const user = await t.createUser();
    const { contractId } = await newContract(t, user);
    await claim(user, 'busy'); // takes the supervisor: nothing is pending
    const waiting = await waitingClaim(t, user, 'idle');
    const created = await createTask(user, contractId, 'new');
    const result = await waiting();
    expect(result.data!.claimTask.assignment).toMatchObject({ reason: 'NEW', task: { id: created.id } });
  });

  it('is woken with the supervisor createContract makes', async () => {
    const user = await t.createUser();
    const repo = await t.makeRepo();
    const waiting = await waitingClaim(t, user, 'idle');
    const created = await createContract(user, repo);
    const result = await waiting();
    expect(result.data!.claimTask.assignment).toMatchObject({ reason: 'NEW', task: { id: created.supervisor.id } });
  });

  it('is woken with the fork forkTask makes, with reason FORK and the shared conversation', async () => {
    const user = await t.createUser();
    const { supervisorId } = await newContract(t, user);
    await claim(user, 'busy');
    const appended = await appendMessages(user, supervisorId, [{ role: 'USER', content: 'fork here' }], { workerId: 'busy' });
    const messageId = appended.messages[0].id;
    const waiting = await waitingClaim(t, user, 'idle');
    const fork = await user.ok(ForkTask, { input: { taskId: supervisorId, messageId } });
    const result = await waiting();
    expect(result.data!.claimTask.assignment).toMatchObject({ reason: 'FORK', task: { id: fork.forkTask.task.id } });
    expect(result.data!.claimTask.assignment!.conversation.map((m) => m.id)).toEqual([messageId]);
  });

  it("is not woken by another user's work, and is by its own", async () => {
    const user = await t.createUser();
    const other = await t.createUser();
    const signals = workSignals(t.db);
    const waiting = await waitingClaim(t, user, 'idle', 30);
    // Beside the claim, one waiter per user, as claimTask makes them: the other's tells when the
    // other's announcement has arrived here, and by then a wrong wake-up of ours would have happened.
    const ours = signals.waiter(user.id);
    const theirs = signals.waiter(other.id);
    let woken = false;
    const oursWoke = ours.next(30_000).then(() => (woken = true));
    const theirsWoke = theirs.next(30_000);
    await newContract(t, other);
    await theirsWoke;
    await new Promise(setImmediate);
    expect(woken).toBe(false);
    // Our own work wakes both the waiter and the claim, which takes it.
    const { supervisorId } = await newContract(t, user);
    await oursWoke;
    expect((await waiting()).data!.claimTask.assignment).toMatchObject({ task: { id: supervisorId } });
    ours.dispose();
    theirs.dispose();
  });

  it('returns null when the time is up', async () => {
    const user = await t.createUser();
    const started = Date.now();
    const result = await user.ok(ClaimTask, { input: { workerId: 'idle', waitSeconds: 1 } });
    expect(result.claimTask.assignment).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(workSignals(t.db).waiting(user.id)).toBe(0);
  });

  it('claims at once when work is already pending', async () => {
    const user = await t.createUser();
    const { supervisorId } = await newContract(t, user);
    const started = Date.now();
    expect((await claim(user, 'w', { waitSeconds: 30 }))!.task.id).toBe(supervisorId);
    // Not after a wait: a claim that waited for nothing would return null at 30 s.
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('a server that stops releases its waiting claims at once, with a null assignment', async () => {
    const server = await startTestServer();
    const user = await server.createUser();
    const waiting = await waitingClaim(server, user, 'idle', 60);
    const started = Date.now();
    await server.stop();
    expect((await waiting()).data!.claimTask.assignment).toBeNull();
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('a claim whose client went away stops waiting and claims nothing', async () => {
    const user = await t.createUser();
    const signals = workSignals(t.db);
    const controller = new AbortController();
    const request = fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${user.token}` },
      body: JSON.stringify({ query: print(ClaimTask), variables: { input: { workerId: 'gone', waitSeconds: 60 } } }),
      signal: controller.signal,
    }).catch((err: Error) => err.name);
    // Polls, as waitingClaim does: WorkSignals' waiting() count is the only sign that a claim waits,
    // or that the server noticed the client went away and stopped waiting.
    await eventually(async () => signals.waiting(user.id) === 1, 'the claim to wait');
    controller.abort();
    expect(await request).toBe('AbortError');
    await eventually(async () => signals.waiting(user.id) === 0, 'the abandoned claim to stop waiting');
    const { supervisorId } = await newContract(t, user);
    expect((await user.ok(TaskState, { id: supervisorId })).task!.status).toBe('PENDING');
  });

  describe('across two server instances', () => {
    let database: TestDatabase;
    let first: TestServer;
    let second: TestServer;
    beforeAll(async () => {
      database = await createTestDatabase();
      first = await startTestServer({ MAKIMA_LEASE_SWEEP_MS: '100' }, database);
      // On PostgreSQL the second instance has its own connections (NOTIFY crosses processes);
      // PGlite is one process, so both instances share it.
      const db = database.url ? await openDatabase({ databaseUrl: database.url, dataDir: '' }) : database.db;
      second = await startTestServer({ MAKIMA_LEASE_SWEEP_MS: '100' }, { db, url: database.url, drop: async () => undefined });
    });
    afterAll(async () => {
      await second?.stop();
      if (database?.url) await second?.db.close();
      await first?.stop();
      await database?.drop();
    });

    it('a claim waiting on one instance is woken with work resumed on the other', async () => {
      const owner = await first.createUser();
      const taskId = await interruptedTask(first, owner);
      const onSecond: TestUser = { ...owner, gql: (doc, v) => second.gql(doc, v, owner.token) };
      const waiting = await waitingClaim(second, onSecond, 'remote-worker');
      await owner.ok(ResumeTask, { input: { taskId } });
      const result = await waiting();
      expect(result.data!.claimTask.assignment).toMatchObject({ reason: 'RESUME', task: { id: taskId, workerId: 'remote-worker' } });
    });
  });
});

describe('renewLease', () => {
  it("extends the holder's lease in place, without a history event (a renewal is not history)", async () => {
    const user = await t.createUser();
    const { supervisorId: taskId } = await newContract(t, user);
    const a = await claim(user, 'w', { leaseSeconds: 5 });
    const before = await taskHistory(t, taskId);
    const r = await user.ok(RenewLease, { input: { taskId, workerId: 'w', leaseSeconds: 120 } });
    expect(Date.parse(r.renewLease.leaseExpiresAt)).toBeGreaterThan(Date.parse(a!.leaseExpiresAt) + 100_000);
    const again = await user.ok(RenewLease, { input: { taskId, workerId: 'w', leaseSeconds: 60 } });
    expect(Date.parse(again.renewLease.leaseExpiresAt)).toBeLessThan(Date.parse(r.renewLease.leaseExpiresAt));
    expect((await user.ok(TaskState, { id: taskId })).task).toMatchObject({ status: 'RUNNING', leaseExpiresAt: again.renewLease.leaseExpiresAt });
    expect(await taskHistory(t, taskId)).toEqual(before);
  });

  it('refuses a renewal after the lease lapsed, recording the interruption once', async () => {
    const user = await t.createUser();
    const { supervisorId: taskId } = await newContract(t, user);
    await claim(user, 'w', { leaseSeconds: 1 });
    await t.db.prisma.task.update({ where: { id: rawId(taskId) }, data: { leaseExpiresAt: new Date(Date.now() - 60_000) } });
    const late = await user.gql(RenewLease, { input: { taskId, workerId: 'w' } });
    expect(codes(late)).toEqual(['CONFLICT']);
    expect(late.errors![0].message).toMatch(/lapsed/);
    expect((await user.ok(TaskState, { id: taskId })).task!.status).toBe('INTERRUPTED');
    expect((await taskHistory(t, taskId)).filter((e) => e.eventSubtype === 'interrupted')).toHaveLength(1);
    expect(codes(await user.gql(RenewLease, { input: { taskId, workerId: 'w' } }))).toEqual(['CONFLICT']);
    expect((await taskHistory(t, taskId)).filter((e) => e.eventSubtype === 'interrupted')).toHaveLength(1);
  });

  it('is a CONFLICT for a worker that does not hold the task, or a task that is not running', async () => {
    const user = await t.createUser();
    const { supervisorId, taskIds } = await newContract(t, user, 1);
    await claim(user, 'holder'); // the supervisor
    const other = await user.gql(RenewLease, { input: { taskId: supervisorId, workerId: 'someone-else' } });
    expect(codes(other)).toEqual(['CONFLICT']);
    expect(other.errors![0].message).toMatch(/leased by another worker \(holder\)/);
    const pending = await user.gql(RenewLease, { input: { taskId: taskIds[0], workerId: 'holder' } });
    expect(codes(pending)).toEqual(['CONFLICT']);
    expect(pending.errors![0].message).toMatch(/is PENDING, not RUNNING/);
    expect(await subtypes(t, supervisorId)).toEqual(['created', 'status_changed']);
  });
});

describe('leases', () => {
  it('a lease that is not renewed in time makes the task INTERRUPTED, found by the sweep', async () => {
    const user = await t.createUser();
    const { supervisorId: taskId } = await newContract(t, user);
    await claim(user, 'w', { leaseSeconds: 1 });
    const event = await interruptedEvent(t, user, taskId);
    expect(event.data).toMatchObject({ from: 'RUNNING', to: 'INTERRUPTED', workerId: 'w', detectedBy: 'lease sweep' });
    expect((await user.ok(TaskState, { id: taskId })).task).toMatchObject({ status: 'INTERRUPTED', workerId: 'w' });
    expect(await subtypes(t, taskId)).toEqual(['created', 'status_changed', 'interrupted']);
  });

  it('a renewed lease is not interrupted', async () => {
    const user = await t.createUser();
    const { supervisorId: taskId, taskIds } = await newContract(t, user, 1);
    await claim(user, 'renewer', { leaseSeconds: 2 });
    await user.ok(RenewLease, { input: { taskId, workerId: 'renewer', leaseSeconds: 60 } });
    await claim(user, 'quitter', { leaseSeconds: 2 });
    // The quitter's lease lapses after the renewer's first one would have: a sweep has run since.
    await interruptedEvent(t, user, taskIds[0]);
    expect((await user.ok(TaskState, { id: taskId })).task!.status).toBe('RUNNING');
  });

  describe('without a sweep in time', () => {
    let slow: TestServer;
    beforeAll(async () => {
      slow = await startTestServer({ MAKIMA_LEASE_SWEEP_MS: '600000' });
    });
    afterAll(async () => slow?.stop());

    for (const [name, asLateWorker] of [
      ['renewLease', (user, taskId) => user.gql(RenewLease, { input: { taskId, workerId: 'late' } })],
      ['completeTask', (user, taskId) => user.gql(CompleteTask, { input: { taskId, workerId: 'late' } })],
      ['failTask', (user, taskId) => user.gql(FailTask, { input: { taskId, workerId: 'late', error: 'boom' } })],
      ['appendMessages', (user, taskId) => user.gql(AppendMessages, { input: { taskId, workerId: 'late', messages: [{ role: 'ASSISTANT', content: 'late' }] } })],
    ] as [string, (user: TestUser, taskId: string) => Promise<GqlResult<unknown>>][]) {
      it(`${name} by the worker of a lapsed lease marks the task INTERRUPTED and is refused`, async () => {
        const user = await slow.createUser();
        const { supervisorId: taskId } = await newContract(slow, user);
        await claim(user, 'late', { leaseSeconds: 1 });
        await leaseLapsed(slow, taskId);
        const r = await asLateWorker(user, taskId);
        expect(codes(r)).toEqual(['CONFLICT']);
        expect(r.errors![0].message).toMatch(/lease of worker late .* lapsed at .*the task is INTERRUPTED — it may have been resumed elsewhere/);
        expect((await user.ok(TaskState, { id: taskId })).task).toMatchObject({ status: 'INTERRUPTED', messageCount: 0 });
        const events = await taskHistory(slow, taskId);
        expect(events.map((e) => e.eventSubtype)).toEqual(['created', 'status_changed', 'interrupted']);
        expect(events[2].eventData).toMatchObject({ workerId: 'late' });
      });
    }
  });
});

describe('completeTask', () => {
  it('completes the holder\'s task with TASK/completed; a second completion is a CONFLICT', async () => {
    const user = await t.createUser();
    const { supervisorId: taskId } = await newContract(t, user);
    await claim(user, 'w');
    const r = await user.ok(CompleteTask, { input: { taskId, workerId: 'w' } });
    expect(r.completeTask.task).toMatchObject({ status: 'COMPLETED', workerId: 'w', leaseExpiresAt: null });
    const events = await taskHistory(t, taskId);
    expect(events.at(-1)).toMatchObject({ eventSubtype: 'completed', eventData: { from: 'RUNNING', to: 'COMPLETED', workerId: 'w' } });
    const again = await user.gql(CompleteTask, { input: { taskId, workerId: 'w' } });
    expect(codes(again)).toEqual(['CONFLICT']);
    expect(again.errors![0].message).toMatch(/is COMPLETED, not RUNNING/);
  });
});

describe('failTask', () => {
  it("fails the holder's task with lastError and TASK/failed", async () => {
    const user = await t.createUser();
    const { supervisorId: taskId } = await newContract(t, user);
    await claim(user, 'w');
    const r = await user.ok(FailTask, { input: { taskId, workerId: 'w', error: 'tests do not pass' } });
    expect(r.failTask.task).toMatchObject({ status: 'FAILED', lastError: 'tests do not pass' });
    const events = await taskHistory(t, taskId);
    expect(events.at(-1)).toMatchObject({ eventSubtype: 'failed', eventData: { from: 'RUNNING', to: 'FAILED', workerId: 'w', error: 'tests do not pass' } });
  });

  it('refuses an empty error with BAD_USER_INPUT', async () => {
    const user = await t.createUser();
    const { supervisorId: taskId } = await newContract(t, user);
    await claim(user, 'w');
    expect(codes(await user.gql(FailTask, { input: { taskId, workerId: 'w', error: '  ' } }))).toEqual(['BAD_USER_INPUT']);
    expect((await user.ok(TaskState, { id: taskId })).task!.status).toBe('RUNNING');
  });
});

describe("another user's tasks", () => {
  it('cannot be renewed, completed, failed or written as a worker: NOT_FOUND, nothing changes', async () => {
    const owner = await t.createUser('owner');
    const other = await t.createUser('other');
    const { supervisorId: taskId } = await newContract(t, owner);
    const a = await claim(owner, 'w');
    for (const attempt of [
      () => other.gql(RenewLease, { input: { taskId, workerId: 'w' } }),
      () => other.gql(CompleteTask, { input: { taskId, workerId: 'w' } }),
      () => other.gql(FailTask, { input: { taskId, workerId: 'w', error: 'x' } }),
      () => other.gql(AppendMessages, { input: { taskId, workerId: 'w', messages: [{ role: 'USER', content: 'x' }] } }),
    ]) {
      expect(codes(await attempt())).toEqual(['NOT_FOUND']);
    }
    expect((await owner.ok(TaskState, { id: taskId })).task).toMatchObject({ status: 'RUNNING', workerId: 'w', leaseExpiresAt: a!.leaseExpiresAt, messageCount: 0 });
    expect(await subtypes(t, taskId)).toEqual(['created', 'status_changed']);
  });
});
