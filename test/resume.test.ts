// Resume with full context: an interrupted or failed task (or a contract's supervisor, optionally
// from a snapshot) becomes pending, and the next worker receives exactly the conversation so far.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../src/generated/gql/index.js';
import { codes, rawId, startTestServer, type TestServer, type TestUser } from './harness.js';
import {
  AppendMessages,
  appendMessages,
  checkpoint,
  claim,
  CompleteTask,
  CreateCheckpoint,
  FailTask,
  interruptedEvent,
  leaseLapsed,
  newContract,
  RecordTaskEvents,
  RenewLease,
  ResumeTask,
  RewindTask,
  snapshot,
  subtypes,
  taskHistory,
  TaskState,
  type MessageInput,
  type MessageRole,
} from './fixtures.js';
import { fileMap, write } from './worktrees.js';

const ResumeSupervisor = graphql(`
  mutation ResumeSupervisor($input: ResumeSupervisorInput!) {
    resumeSupervisor(input: $input) { task { id status pendingReason resumeNote messageCount } backupSnapshot { id messageCount } }
  }
`);
const ResumeFromCheckpoint = graphql(`
  mutation ResumeFromCheckpoint($input: ResumeTaskFromCheckpointInput!) {
    resumeTaskFromCheckpoint(input: $input) {
      task { id status pendingReason resumeNote messageCount headCommit }
      backupCheckpoint { id number isBackup commitSha } backupSnapshot { id messageCount }
    }
  }
`);
const SnapshotMessages = graphql(`
  query BackupSnapshotMessages($id: ID!) { node(id: $id) { ... on ConversationSnapshot { messages(first: 10) { edges { node { content } } } } } }
`);

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ MAKIMA_LEASE_SWEEP_MS: '100' });
});
afterAll(async () => t?.stop());

const say = (role: MessageRole, text: string): MessageInput => ({ role, content: { text } });

describe('resumeTask', () => {
  it('hands a second worker exactly the conversation the first one wrote, and refuses the first one afterwards', async () => {
    const user = await t.createUser();
    const { supervisorId: taskId } = await newContract(t, user);
    const first = await claim(user, 'worker-1', { leaseSeconds: 30 });
    expect(first!.task.id).toBe(taskId);
    const written: string[] = [];
    for (const batch of [[say('SYSTEM', 'you plan'), say('USER', 'build it')], [say('ASSISTANT', 'step 1')], [say('TOOL', 'ok'), say('ASSISTANT', 'step 2')]]) {
      const r = await appendMessages(user, taskId, batch, { workerId: 'worker-1' });
      written.push(...r.messages.map((m) => m.id));
    }
    // worker-1's last heartbeat asks for one more second, then it stops renewing: the task is INTERRUPTED.
    await user.ok(RenewLease, { input: { taskId, workerId: 'worker-1', leaseSeconds: 1 } });
    await interruptedEvent(t, user, taskId);
    expect((await user.ok(TaskState, { id: taskId })).task!.status).toBe('INTERRUPTED');

    const lateBeforeResume = await user.gql(AppendMessages, { input: { taskId, workerId: 'worker-1', messages: [say('ASSISTANT', 'late')] } });
    expect(codes(lateBeforeResume)).toEqual(['CONFLICT']);
    expect(lateBeforeResume.errors![0].message).toMatch(/lapsed at .*INTERRUPTED — it may have been resumed elsewhere/);

    const resumed = await user.ok(ResumeTask, { input: { taskId } });
    expect(resumed.resumeTask.task).toMatchObject({ status: 'PENDING', pendingReason: 'RESUME', workerId: null });
    expect(resumed.resumeTask.task.resumeNote).toMatch(/INTERRUPTED — the lease of worker worker-1 lapsed at/);

    const second = await claim(user, 'worker-2');
    expect(second!.task).toMatchObject({ id: taskId, workerId: 'worker-2' });
    expect(second!.reason).toBe('RESUME');
    expect(second!.resumeNote).toBe(resumed.resumeTask.task.resumeNote);
    expect(second!.conversation.map((m) => m.id)).toEqual(written);
    expect(second!.conversation.map((m) => [m.index, m.role, m.content])).toEqual([
      [0, 'SYSTEM', { text: 'you plan' }],
      [1, 'USER', { text: 'build it' }],
      [2, 'ASSISTANT', { text: 'step 1' }],
      [3, 'TOOL', { text: 'ok' }],
      [4, 'ASSISTANT', { text: 'step 2' }],
    ]);

    const late = await user.gql(AppendMessages, { input: { taskId, workerId: 'worker-1', messages: [say('ASSISTANT', 'late')] } });
    expect(codes(late)).toEqual(['CONFLICT']);
    expect(late.errors![0].message).toMatch(/leased by another worker \(worker-2\)/);
    for (const attempt of [
      () => user.gql(RenewLease, { input: { taskId, workerId: 'worker-1' } }),
      () => user.gql(CompleteTask, { input: { taskId, workerId: 'worker-1' } }),
      () => user.gql(FailTask, { input: { taskId, workerId: 'worker-1', error: 'x' } }),
    ]) {
      expect(codes(await attempt())).toEqual(['CONFLICT']);
    }
    const lateEvents = await user.gql(RecordTaskEvents, {
      input: { taskId, workerId: 'worker-1', events: [{ type: 'OUTPUT', data: { line: 'late' } }] },
    });
    expect(codes(lateEvents)).toEqual(['CONFLICT']);
    const lateCheckpoint = await user.gql(CreateCheckpoint, {
      input: { taskId, workerId: 'worker-1', message: 'late' },
    });
    expect(codes(lateCheckpoint)).toEqual(['CONFLICT']);
    expect(await t.db.prisma.taskCheckpoint.count({ where: { taskId: rawId(taskId) } })).toBe(0);
    expect(await t.db.prisma.taskEvent.count({ where: { taskId: rawId(taskId) } })).toBe(0);
    await user.ok(RecordTaskEvents, {
      input: { taskId, workerId: 'worker-2', events: [{ type: 'OUTPUT', data: { line: 'from the holder' } }] },
    });
    expect((await user.ok(TaskState, { id: taskId })).task).toMatchObject({ status: 'RUNNING', workerId: 'worker-2', messageCount: 5 });
  });

  it('writes a history event for every transition', async () => {
    const user = await t.createUser();
    const { supervisorId: taskId } = await newContract(t, user);
    await claim(user, 'a', { leaseSeconds: 30 });
    await user.ok(RenewLease, { input: { taskId, workerId: 'a', leaseSeconds: 1 } });
    await interruptedEvent(t, user, taskId);
    await user.ok(ResumeTask, { input: { taskId } });
    await claim(user, 'b');
    await user.ok(FailTask, { input: { taskId, workerId: 'b', error: 'compile error' } });
    await user.ok(ResumeTask, { input: { taskId } });
    await claim(user, 'c');
    await user.ok(CompleteTask, { input: { taskId, workerId: 'c' } });
    const events = await taskHistory(t, taskId);
    expect(events.map((e) => e.eventSubtype)).toEqual([
      'created',
      'status_changed',
      'interrupted',
      'resumed',
      'status_changed',
      'failed',
      'resumed',
      'status_changed',
      'completed',
    ]);
    expect(events.every((e) => e.eventType === 'TASK')).toBe(true);
    const resumes = events.filter((e) => e.eventSubtype === 'resumed').map((e) => e.eventData);
    expect(resumes[0]).toMatchObject({ from: 'INTERRUPTED', to: 'PENDING', reason: 'RESUME' });
    expect(resumes[1]).toMatchObject({ from: 'FAILED', to: 'PENDING', reason: 'RESUME' });
    const claims = events.filter((e) => e.eventSubtype === 'status_changed').map((e) => e.eventData as { workerId: string; reason: string });
    expect(claims.map((d) => [d.workerId, d.reason])).toEqual([['a', 'NEW'], ['b', 'RESUME'], ['c', 'RESUME']]);
  });

  it('resumes a FAILED task with its last error in the note', async () => {
    const user = await t.createUser();
    const { supervisorId: taskId } = await newContract(t, user);
    await claim(user, 'w');
    await user.ok(FailTask, { input: { taskId, workerId: 'w', error: 'out of memory' } });
    const r = await user.ok(ResumeTask, { input: { taskId } });
    expect(r.resumeTask.task).toMatchObject({ status: 'PENDING', pendingReason: 'RESUME' });
    expect(r.resumeTask.task.resumeNote).toMatch(/FAILED — last error: out of memory/);
    expect((await claim(user, 'w2'))!.resumeNote).toMatch(/out of memory/);
  });

  it('is a CONFLICT with the reason for a running, pending, completed or cancelled task, and changes nothing', async () => {
    const user = await t.createUser();
    const { supervisorId, taskIds } = await newContract(t, user, 2);
    await claim(user, 'runner'); // the supervisor
    const running = await user.gql(ResumeTask, { input: { taskId: supervisorId } });
    expect(codes(running)).toEqual(['CONFLICT']);
    expect(running.errors![0].message).toMatch(/being run by worker runner .* cannot be resumed while it runs/);

    const pending = await user.gql(ResumeTask, { input: { taskId: taskIds[0] } });
    expect(codes(pending)).toEqual(['CONFLICT']);
    expect(pending.errors![0].message).toMatch(/already PENDING \(NEW\)/);

    await user.ok(CompleteTask, { input: { taskId: supervisorId, workerId: 'runner' } });
    const completed = await user.gql(ResumeTask, { input: { taskId: supervisorId } });
    expect(codes(completed)).toEqual(['CONFLICT']);
    expect(completed.errors![0].message).toMatch(/is COMPLETED; a finished task cannot be resumed. Fork it/);

    // Nothing in the API cancels a task yet; the rule still holds for one cancelled in the database.
    await t.db.prisma.task.update({ where: { id: rawId(taskIds[1]) }, data: { status: 'CANCELLED' } });
    const cancelled = await user.gql(ResumeTask, { input: { taskId: taskIds[1] } });
    expect(codes(cancelled)).toEqual(['CONFLICT']);
    expect(cancelled.errors![0].message).toMatch(/is CANCELLED/);

    expect(await subtypes(t, supervisorId)).toEqual(['created', 'status_changed', 'completed']);
    expect(await subtypes(t, taskIds[0])).toEqual(['created']);
  });

  it("is NOT_FOUND for another user's task", async () => {
    const owner = await t.createUser();
    const other = await t.createUser();
    const { supervisorId: taskId } = await newContract(t, owner);
    await claim(owner, 'w');
    await owner.ok(FailTask, { input: { taskId, workerId: 'w', error: 'e' } });
    expect(codes(await other.gql(ResumeTask, { input: { taskId } }))).toEqual(['NOT_FOUND']);
    expect((await owner.ok(TaskState, { id: taskId })).task!.status).toBe('FAILED');
  });

  it('refuses a malformed id with BAD_USER_INPUT', async () => {
    const user = await t.createUser();
    expect(codes(await user.gql(ResumeTask, { input: { taskId: 'not-an-id' } }))).toEqual(['BAD_USER_INPUT']);
  });

  describe('before the sweep has noticed a lapsed lease', () => {
    let slow: TestServer;
    beforeAll(async () => {
      slow = await startTestServer({ MAKIMA_LEASE_SWEEP_MS: '600000' });
    });
    afterAll(async () => slow?.stop());

    it('records the interruption and resumes in one step', async () => {
      const user = await slow.createUser();
      const { supervisorId: taskId } = await newContract(slow, user);
      await claim(user, 'gone', { leaseSeconds: 1 });
      await leaseLapsed(slow, taskId);
      const r = await user.ok(ResumeTask, { input: { taskId } });
      expect(r.resumeTask.task).toMatchObject({ status: 'PENDING', pendingReason: 'RESUME' });
      expect(r.resumeTask.task.resumeNote).toMatch(/lease of worker gone lapsed/);
      const events = await taskHistory(slow, taskId);
      expect(events.map((e) => e.eventSubtype)).toEqual(['created', 'status_changed', 'interrupted', 'resumed']);
      expect(events[2].eventData).toMatchObject({ detectedBy: 'resumeTask' });
    });
  });
});

describe('resumeSupervisor', () => {
  /** A contract whose supervisor ran, wrote six messages (snapshot after three) and failed. */
  async function failedSupervisor(user: Awaited<ReturnType<TestServer['createUser']>>) {
    const { contractId, supervisorId } = await newContract(t, user);
    await claim(user, 'w');
    const a = await appendMessages(user, supervisorId, [say('SYSTEM', 's'), say('USER', 'u1'), say('ASSISTANT', 'a1')], { workerId: 'w' });
    const snap = await snapshot(user, supervisorId);
    await appendMessages(user, supervisorId, [say('USER', 'u2'), say('ASSISTANT', 'a2'), say('USER', 'u3')], { workerId: 'w' });
    await user.ok(FailTask, { input: { taskId: supervisorId, workerId: 'w', error: 'went off the rails' } });
    return { contractId, supervisorId, snapshotId: snap.id, firstThree: a.messages.map((m) => m.id) };
  }

  it('with fromSnapshotId: the claimed context ends at that snapshot\'s head, and the rewind can be undone', async () => {
    const user = await t.createUser();
    const { contractId, supervisorId, snapshotId, firstThree } = await failedSupervisor(user);
    const r = await user.ok(ResumeSupervisor, { input: { contractId, fromSnapshotId: snapshotId } });
    expect(r.resumeSupervisor.task).toMatchObject({ id: supervisorId, status: 'PENDING', pendingReason: 'RESUME', messageCount: 3 });
    expect(r.resumeSupervisor.task.resumeNote).toMatch(/went off the rails.*rewound to snapshot/);
    // The note names snapshots by the global IDs that arguments take, never by raw UUID.
    expect(r.resumeSupervisor.task.resumeNote).toContain(`rewound to snapshot ${snapshotId} `);
    expect(r.resumeSupervisor.task.resumeNote).toContain(`kept in snapshot ${r.resumeSupervisor.backupSnapshot!.id}.`);
    expect(r.resumeSupervisor.task.resumeNote).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/);
    expect(r.resumeSupervisor.backupSnapshot!.messageCount).toBe(6);

    const assignment = await claim(user, 'w2');
    expect(assignment!.task.id).toBe(supervisorId);
    expect(assignment!.reason).toBe('RESUME');
    expect(assignment!.conversation.map((m) => m.id)).toEqual(firstThree);
    expect(assignment!.conversation.at(-1)!.content).toEqual({ text: 'a1' });

    // The rewind and the resume are one transaction: consecutive events.
    const events = await taskHistory(t, supervisorId);
    const rewound = events.findIndex((e) => e.eventSubtype === 'rewound');
    expect(events[rewound]).toMatchObject({ eventType: 'CHAT', eventData: { toMessageCount: 3, fromMessageCount: 6 } });
    expect(events[rewound + 1]).toMatchObject({ eventType: 'TASK', eventSubtype: 'resumed', eventData: { fromSnapshotId: rawId(snapshotId) } });
    expect(events[rewound + 1].seq).toBe(events[rewound].seq + 1n);

    const { node: backup } = await user.ok(SnapshotMessages, { id: r.resumeSupervisor.backupSnapshot!.id });
    if (!backup || !('messages' in backup)) throw new Error('the backup is not a snapshot');
    expect(backup.messages.edges.map((e) => (e.node.content as { text: string }).text)).toEqual(['s', 'u1', 'a1', 'u2', 'a2', 'u3']);
  });

  it('without fromSnapshotId keeps the whole conversation', async () => {
    const user = await t.createUser();
    const { contractId, supervisorId } = await failedSupervisor(user);
    const r = await user.ok(ResumeSupervisor, { input: { contractId } });
    expect(r.resumeSupervisor).toMatchObject({ task: { status: 'PENDING', messageCount: 6 }, backupSnapshot: null });
    expect((await claim(user, 'w2'))!.conversation.map((m) => (m.content as { text: string }).text)).toEqual(['s', 'u1', 'a1', 'u2', 'a2', 'u3']);
    expect(await subtypes(t, supervisorId)).not.toContain('rewound');
  });

  it('is a CONFLICT for a supervisor that is already pending (it never ran)', async () => {
    const user = await t.createUser();
    const { contractId, supervisorId } = await newContract(t, user);
    const r = await user.gql(ResumeSupervisor, { input: { contractId } });
    expect(codes(r)).toEqual(['CONFLICT']);
    expect(r.errors![0].message).toMatch(/already PENDING/);
    expect(await subtypes(t, supervisorId)).toEqual(['created']);
  });

  it('refuses a snapshot of another task (BAD_USER_INPUT), an unknown or foreign one (NOT_FOUND), and changes nothing', async () => {
    const user = await t.createUser();
    const other = await t.createUser();
    const { contractId, supervisorId } = await failedSupervisor(user);
    const { taskIds } = await newContract(t, user, 1);
    const elsewhere = await snapshot(user, taskIds[0]);
    const foreign = await failedSupervisor(other);

    const wrongTask = await user.gql(ResumeSupervisor, { input: { contractId, fromSnapshotId: elsewhere.id } });
    expect(codes(wrongTask)).toEqual(['BAD_USER_INPUT']);
    expect(wrongTask.errors![0].message).toMatch(/not of the supervisor/);
    expect(codes(await user.gql(ResumeSupervisor, { input: { contractId, fromSnapshotId: foreign.snapshotId } }))).toEqual(['NOT_FOUND']);
    expect(codes(await user.gql(ResumeSupervisor, { input: { contractId, fromSnapshotId: crypto.randomUUID() } }))).toEqual(['NOT_FOUND']);
    expect(codes(await user.gql(ResumeSupervisor, { input: { contractId, fromSnapshotId: 'garbage' } }))).toEqual(['BAD_USER_INPUT']);
    expect((await user.ok(TaskState, { id: supervisorId })).task).toMatchObject({ status: 'FAILED', messageCount: 6 });
  });

  it("is NOT_FOUND for another user's contract", async () => {
    const owner = await t.createUser();
    const other = await t.createUser();
    const { contractId, supervisorId } = await failedSupervisor(owner);
    expect(codes(await other.gql(ResumeSupervisor, { input: { contractId } }))).toEqual(['NOT_FOUND']);
    expect((await owner.ok(TaskState, { id: supervisorId })).task!.status).toBe('FAILED');
  });
});

describe('resumeTaskFromCheckpoint', () => {
  /**
   * A task a worker ran: it wrote files and two messages, checkpointed (#1), wrote more (a change,
   * a new untracked file, a deletion) and a third message, then failed.
   */
  async function failedAfterCheckpoint(user: TestUser) {
    const { taskIds } = await newContract(t, user, 1);
    const taskId = taskIds[0];
    await claim(user, 'supervisor-worker'); // the supervisor is older; take it out of the way
    const a = await claim(user, 'w', { leaseSeconds: 60 });
    expect(a!.task.id).toBe(taskId);
    const worktree = a!.worktreePath;
    write(worktree, { 'README.md': '# project, step 1\n', 'notes.txt': 'draft\n' });
    const first = await appendMessages(user, taskId, [say('USER', 'step 1'), say('ASSISTANT', 'done 1')], { workerId: 'w' });
    const atCheckpoint = await checkpoint(user, taskId, 'step 1');
    const filesAtCheckpoint = fileMap(worktree);
    write(worktree, { 'README.md': '# project, step 2\n', 'scratch.txt': 'half-done\n', 'notes.txt': null });
    await appendMessages(user, taskId, [say('ASSISTANT', 'step 2 went wrong')], { workerId: 'w' });
    await user.ok(FailTask, { input: { taskId, workerId: 'w', error: 'broke the build' } });
    const messagesAtCheckpoint = first.messages.map((m) => m.id);
    return { taskId, worktree, checkpoint: atCheckpoint, filesAtCheckpoint, messagesAtCheckpoint, filesBefore: fileMap(worktree) };
  }

  it('puts the worktree and the conversation at the checkpoint and hands them out with reason RESUME_FROM_CHECKPOINT', async () => {
    const user = await t.createUser();
    const f = await failedAfterCheckpoint(user);
    const r = await user.ok(ResumeFromCheckpoint, { input: { taskId: f.taskId, checkpointId: f.checkpoint.id } });
    const resumed = r.resumeTaskFromCheckpoint;
    expect(resumed.task).toMatchObject({ status: 'PENDING', pendingReason: 'RESUME_FROM_CHECKPOINT', messageCount: 2, headCommit: f.checkpoint.commitSha });
    expect(resumed.task.resumeNote).toMatch(/FAILED — last error: broke the build.*rewound to checkpoint #1/);
    expect(resumed.task.resumeNote).toContain(`and snapshot ${resumed.backupSnapshot!.id}.`);
    expect(resumed.task.resumeNote).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/);
    expect(resumed.backupCheckpoint).toMatchObject({ number: 2, isBackup: true });
    expect(resumed.backupSnapshot!.messageCount).toBe(3);
    expect(fileMap(f.worktree)).toEqual(f.filesAtCheckpoint);

    const assignment = await claim(user, 'w2');
    expect(assignment!.task.id).toBe(f.taskId);
    expect(assignment!.reason).toBe('RESUME_FROM_CHECKPOINT');
    expect(assignment!.commitSha).toBe(f.checkpoint.commitSha);
    expect(assignment!.conversation.map((m) => m.id)).toEqual(f.messagesAtCheckpoint);
    expect(assignment!.resumeNote).toBe(resumed.task.resumeNote);

    // The rewind and the resume are one transaction: consecutive events, the resume last.
    const events = await taskHistory(t, f.taskId);
    const failed = events.findIndex((e) => e.eventSubtype === 'failed');
    const change = events.slice(failed + 1, events.findIndex((e, i) => i > failed && e.eventSubtype === 'status_changed'));
    expect(change.map((e) => `${e.eventType}/${e.eventSubtype}`)).toEqual(expect.arrayContaining(['CHECKPOINT/created', 'CHAT/rewound', 'CHECKPOINT/rewound']));
    expect(change.at(-1)).toMatchObject({ eventType: 'TASK', eventSubtype: 'resumed', eventData: { reason: 'RESUME_FROM_CHECKPOINT', checkpointNumber: 1 } });
    change.forEach((e, i) => i && expect(e.seq).toBe(change[i - 1].seq + 1n));
  });

  it('keeps what it replaced: rewinding to the backup checkpoint restores the files', async () => {
    const user = await t.createUser();
    const f = await failedAfterCheckpoint(user);
    const r = await user.ok(ResumeFromCheckpoint, { input: { taskId: f.taskId, checkpointId: f.checkpoint.id } });
    await user.ok(RewindTask, { input: { taskId: f.taskId, checkpointId: r.resumeTaskFromCheckpoint.backupCheckpoint!.id, mode: 'BOTH' } });
    expect(fileMap(f.worktree)).toEqual(f.filesBefore);
    expect((await user.ok(TaskState, { id: f.taskId })).task).toMatchObject({ status: 'PENDING', messageCount: 3 });
  });

  it('is a CONFLICT for a task that is running, pending or completed, and touches neither worktree nor conversation', async () => {
    const user = await t.createUser();
    const { taskIds } = await newContract(t, user, 2);
    await claim(user, 'supervisor-worker');
    const a = await claim(user, 'w');
    const taskId = a!.task.id;
    write(a!.worktreePath, { 'README.md': 'v1\n' });
    const v1 = await checkpoint(user, taskId, 'v1');
    write(a!.worktreePath, { 'README.md': 'v2\n' });
    const files = fileMap(a!.worktreePath);

    const running = await user.gql(ResumeFromCheckpoint, { input: { taskId, checkpointId: v1.id } });
    expect(codes(running)).toEqual(['CONFLICT']);
    expect(running.errors![0].message).toMatch(/being run by worker w/);

    await user.ok(CompleteTask, { input: { taskId, workerId: 'w' } });
    const completed = await user.gql(ResumeFromCheckpoint, { input: { taskId, checkpointId: v1.id } });
    expect(codes(completed)).toEqual(['CONFLICT']);
    expect(completed.errors![0].message).toMatch(/is COMPLETED/);
    expect(fileMap(a!.worktreePath)).toEqual(files);

    const pendingId = taskIds.find((id) => id !== taskId)!;
    const pendingCheckpoint = await checkpoint(user, pendingId, 'before it ran');
    const pending = await user.gql(ResumeFromCheckpoint, { input: { taskId: pendingId, checkpointId: pendingCheckpoint.id } });
    expect(codes(pending)).toEqual(['CONFLICT']);
    expect(pending.errors![0].message).toMatch(/already PENDING/);
    expect(await t.db.prisma.taskCheckpoint.count({ where: { taskId: rawId(pendingId) } })).toBe(1);

    const row = await t.db.prisma.task.findUniqueOrThrow({ where: { id: rawId(taskId) } });
    expect(await t.db.prisma.taskCheckpoint.count({ where: { taskId: row.id } })).toBe(1);
    expect(await subtypes(t, taskId)).not.toContain('resumed');
  });

  it('refuses a checkpoint of another task (BAD_USER_INPUT) and another user\'s task (NOT_FOUND)', async () => {
    const user = await t.createUser();
    const other = await t.createUser();
    const f = await failedAfterCheckpoint(user);
    const g = await failedAfterCheckpoint(user);
    const wrong = await user.gql(ResumeFromCheckpoint, { input: { taskId: f.taskId, checkpointId: g.checkpoint.id } });
    expect(codes(wrong)).toEqual(['BAD_USER_INPUT']);
    expect(codes(await other.gql(ResumeFromCheckpoint, { input: { taskId: f.taskId, checkpointId: f.checkpoint.id } }))).toEqual(['NOT_FOUND']);
    expect(codes(await user.gql(ResumeFromCheckpoint, { input: { taskId: f.taskId, checkpointId: crypto.randomUUID() } }))).toEqual(['NOT_FOUND']);
    expect((await user.ok(TaskState, { id: f.taskId })).task).toMatchObject({ status: 'FAILED', messageCount: 3 });
    expect(fileMap(f.worktree)).toEqual(f.filesBefore);
  });
});
