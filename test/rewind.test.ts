// Rewinds on real repositories: code, conversation or both to a checkpoint, undone through the
// backups; concurrency and failures; and rewindConversation to a message or a snapshot.
import { simpleGit } from 'simple-git';
import type { VariablesOf } from '@graphql-typed-document-node/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, rawId, startTestServer, type TestServer, type TestUser } from './harness.js';
import { checkpoint, ContractSupervisor, conversationTexts, RewindConversation, RewindTask, say, snapshot, taskOnRepo, type RewindMode } from './fixtures.js';
import { failInserts, fileMap, head, status, write } from './worktrees.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => t?.stop());

async function rewind(user: TestUser, taskId: string, checkpointId: string, mode?: RewindMode) {
  return (await user.ok(RewindTask, { input: { taskId, checkpointId, ...(mode ? { mode } : {}) } })).rewindTask;
}

async function holdByWorker(taskId: string): Promise<void> {
  await t.db.prisma.task.update({
    where: { id: rawId(taskId) },
    data: { status: 'RUNNING', workerId: 'worker-1', leaseExpiresAt: new Date(Date.now() + 3_600_000) },
  });
}

describe('rewindTask', () => {
  it("sets the worktree to the checkpoint's tree, and rewinding to the backup restores every file byte for byte", async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    write(f.worktree, { 'src/a.txt': 'alpha\nBETA\ngamma\n', 'bin/data.bin': Buffer.from([0, 159, 146, 150, 255, 10]) });
    const cp1 = await checkpoint(user, f.taskId, 'one');
    const atCheckpoint = fileMap(f.worktree);

    // Work after the checkpoint: an agent's own commit, then an edit, a staged addition, a deletion,
    // an untracked file, and ignored files.
    write(f.worktree, { 'committed.txt': 'by the agent\n' });
    await simpleGit(f.worktree).add('committed.txt').commit('agent commit', { '--author': 'agent <a@b.c>' });
    write(f.worktree, { 'src/a.txt': 'rewritten\n', 'staged.txt': 'staged\n', 'src/b.txt': null, 'notes/untracked.md': 'draft\n', 'debug.log': 'ignored\n', 'build/out.o': 'ignored' });
    await simpleGit(f.worktree).add('staged.txt');
    const before = fileMap(f.worktree);

    const first = await rewind(user, f.taskId, cp1.id);
    expect(fileMap(f.worktree)).toEqual({ ...atCheckpoint, 'debug.log': 'ignored\n', 'build/out.o': 'ignored' });
    expect(await status(f.worktree)).toBe('');
    expect(await head(f.worktree)).toBe(cp1.commitSha);
    expect(await simpleGit(f.repo).revparse([`refs/heads/${f.branch}`])).toBe(cp1.commitSha);
    expect(first.task.headCommit).toBe(cp1.commitSha);
    expect(first.backupSnapshot).toBeNull();
    expect(first.backupCheckpoint).toMatchObject({ number: 2, isBackup: true, message: 'before rewind to #1' });

    const back = await rewind(user, f.taskId, first.backupCheckpoint!.id);
    expect(fileMap(f.worktree)).toEqual(before);
    expect(back.task.headCommit).toBe(first.backupCheckpoint!.commitSha);
    expect(back.backupCheckpoint!.number).toBe(3);

    const events = await t.db.prisma.historyEvent.findMany({ where: { taskId: rawId(f.taskId), eventType: 'CHECKPOINT' }, orderBy: { seq: 'asc' } });
    expect(events.map((e) => e.eventSubtype)).toEqual(['created', 'created', 'rewound', 'created', 'rewound']);
    expect(events[2].eventData).toMatchObject({ mode: 'CODE', number: 1, commitSha: cp1.commitSha, backupCheckpointId: rawId(first.backupCheckpoint!.id) });
  });

  it('keeps rewound-away checkpoints through git gc', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    write(f.worktree, { 'x.txt': '1\n' });
    const cp1 = await checkpoint(user, f.taskId, 'one');
    write(f.worktree, { 'x.txt': '2\n' });
    const cp2 = await checkpoint(user, f.taskId, 'two');
    await rewind(user, f.taskId, cp1.id);
    await simpleGit(f.repo).raw(['-c', 'gc.reflogExpire=now', '-c', 'gc.reflogExpireUnreachable=now', 'gc', '--prune=now', '--quiet']);
    await rewind(user, f.taskId, cp2.id);
    expect(fileMap(f.worktree)['x.txt']).toBe('2\n');
  });

  it('CONVERSATION moves only the conversation; BOTH moves code and conversation together', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    await say(user, f.taskId, 'm0', 'm1');
    write(f.worktree, { 'x.txt': 'one\n' });
    const cp1 = await checkpoint(user, f.taskId, 'one');
    const filesAtCp1 = fileMap(f.worktree);
    await say(user, f.taskId, 'm2', 'm3');
    write(f.worktree, { 'x.txt': 'two\n', 'y.txt': 'uncommitted\n' });
    const filesNow = fileMap(f.worktree);
    const headNow = await head(f.worktree);

    const conv = await rewind(user, f.taskId, cp1.id, 'CONVERSATION');
    expect(conv.backupCheckpoint).toBeNull();
    expect(conv.backupSnapshot).toMatchObject({ snapshotType: 'AUTO', messageCount: 4 });
    expect(await conversationTexts(user, f.taskId)).toEqual(['m0', 'm1']);
    expect(fileMap(f.worktree)).toEqual(filesNow);
    expect(await head(f.worktree)).toBe(headNow);
    expect(await t.db.prisma.taskCheckpoint.count({ where: { taskId: rawId(f.taskId) } })).toBe(1);

    // Undo through the backup snapshot, then rewind both.
    await user.ok(RewindConversation, { input: { taskId: f.taskId, toSnapshotId: conv.backupSnapshot!.id } });
    expect(await conversationTexts(user, f.taskId)).toEqual(['m0', 'm1', 'm2', 'm3']);
    const both = await rewind(user, f.taskId, cp1.id, 'BOTH');
    expect(await conversationTexts(user, f.taskId)).toEqual(['m0', 'm1']);
    expect(fileMap(f.worktree)).toEqual(filesAtCp1);
    expect(both.task.messageCount).toBe(2);
    expect(both.backupSnapshot!.messageCount).toBe(4);
    expect(both.backupCheckpoint!.snapshot!.messageCount).toBe(4);

    // The backup checkpoint holds both halves: rewinding BOTH to it undoes the rewind.
    await rewind(user, f.taskId, both.backupCheckpoint!.id, 'BOTH');
    expect(await conversationTexts(user, f.taskId)).toEqual(['m0', 'm1', 'm2', 'm3']);
    expect(fileMap(f.worktree)).toEqual(filesNow);

    const chat = await t.db.prisma.historyEvent.count({ where: { taskId: rawId(f.taskId), eventType: 'CHAT', eventSubtype: 'rewound' } });
    const code = await t.db.prisma.historyEvent.findMany({ where: { taskId: rawId(f.taskId), eventSubtype: 'rewound', eventType: 'CHECKPOINT' }, orderBy: { seq: 'asc' } });
    expect(chat).toBe(4);
    expect(code.map((e) => (e.eventData as { mode: string }).mode)).toEqual(['CONVERSATION', 'BOTH', 'BOTH']);
  });

  it('serializes two concurrent rewinds of one task: the worktree matches the database and nothing is lost', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    const maps = new Map<string, Record<string, string>>();
    const cps = [];
    for (const n of [1, 2, 3]) {
      write(f.worktree, { 'n.txt': `${n}\n`, [`only-${n}.txt`]: 'x\n' });
      const cp = await checkpoint(user, f.taskId, `cp ${n}`);
      cps.push(cp);
      maps.set(cp.commitSha, fileMap(f.worktree));
    }
    write(f.worktree, { 'unsaved.txt': 'must survive\n' });

    const results = await Promise.all([cps[0], cps[1]].map((cp) => user.gql(RewindTask, { input: { taskId: f.taskId, checkpointId: cp.id } })));
    for (const r of results) if (r.errors) expect(codes(r)).toEqual(['CONFLICT']);
    const succeeded = results.filter((r) => !r.errors).length;
    expect(succeeded).toBeGreaterThan(0);

    const task = await t.db.prisma.task.findUniqueOrThrow({ where: { id: rawId(f.taskId) } });
    expect(await head(f.worktree)).toBe(task.headCommit);
    expect(await status(f.worktree)).toBe('');
    expect(fileMap(f.worktree)).toEqual(maps.get(task.headCommit!));
    const backups = await t.db.prisma.taskCheckpoint.findMany({ where: { taskId: rawId(f.taskId), isBackup: true }, orderBy: { number: 'asc' } });
    expect(backups).toHaveLength(succeeded);
    expect(await simpleGit(f.repo).show([`${backups[0].commitSha}:unsaved.txt`])).toBe('must survive\n');
    expect(await t.db.prisma.historyEvent.count({ where: { taskId: rawId(f.taskId), eventType: 'CHECKPOINT', eventSubtype: 'rewound' } })).toBe(succeeded);
  });

  it('puts the worktree back when the change fails at commit, after every git step', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    write(f.worktree, { 'x.txt': 'one\n' });
    const cp1 = await checkpoint(user, f.taskId, 'one');
    write(f.worktree, { 'x.txt': 'changed\n', 'new.txt': 'untracked\n' });
    const before = { files: fileMap(f.worktree), status: await status(f.worktree), head: await head(f.worktree) };
    await failInserts(t, 'history_events', `NEW.event_subtype = 'rewound'`, async () => {
      const result = await user.gql(RewindTask, { input: { taskId: f.taskId, checkpointId: cp1.id } });
      expect(result.errors).toHaveLength(1);
    });
    expect(fileMap(f.worktree)).toEqual(before.files);
    expect(await status(f.worktree)).toBe(before.status);
    expect(await head(f.worktree)).toBe(before.head);
    expect(await t.db.prisma.taskCheckpoint.count({ where: { taskId: rawId(f.taskId) } })).toBe(1);
    expect((await simpleGit(f.repo).raw(['for-each-ref', '--format=%(refname)', `refs/makima/checkpoints/${rawId(f.taskId)}/`])).trim()).toBe(
      `refs/makima/checkpoints/${rawId(f.taskId)}/1`,
    );
  });

  it('puts the worktree back when a database step fails after the code moved (BOTH)', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    await say(user, f.taskId, 'm0');
    write(f.worktree, { 'x.txt': 'one\n' });
    const cp1 = await checkpoint(user, f.taskId, 'one');
    await say(user, f.taskId, 'm1');
    write(f.worktree, { 'x.txt': 'changed\n', 'new.txt': 'untracked\n' });
    const before = { files: fileMap(f.worktree), status: await status(f.worktree), head: await head(f.worktree) };
    await failInserts(t, 'conversation_snapshots', `NEW.snapshot_type = 'auto'`, async () => {
      const result = await user.gql(RewindTask, { input: { taskId: f.taskId, checkpointId: cp1.id, mode: 'BOTH' } });
      expect(result.errors).toHaveLength(1);
    });
    expect(fileMap(f.worktree)).toEqual(before.files);
    expect(await status(f.worktree)).toBe(before.status);
    expect(await head(f.worktree)).toBe(before.head);
    expect(await conversationTexts(user, f.taskId)).toEqual(['m0', 'm1']);
  });

  it('refuses a task a worker holds with CONFLICT, changing nothing', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    write(f.worktree, { 'x.txt': 'one\n' });
    const cp1 = await checkpoint(user, f.taskId, 'one');
    write(f.worktree, { 'x.txt': 'two\n' });
    await holdByWorker(f.taskId);
    const before = fileMap(f.worktree);
    for (const mode of ['CODE', 'CONVERSATION', 'BOTH'] as const) {
      const result = await user.gql(RewindTask, { input: { taskId: f.taskId, checkpointId: cp1.id, mode } });
      expect(codes(result), mode).toEqual(['CONFLICT']);
      expect(result.errors![0].message).toContain('worker-1');
    }
    expect(fileMap(f.worktree)).toEqual(before);
    expect(await t.db.prisma.taskCheckpoint.count({ where: { taskId: rawId(f.taskId) } })).toBe(1);
  });

  it("refuses a checkpoint of another task, and another user's task or checkpoint, changing nothing", async () => {
    const user = await t.createUser();
    const other = await t.createUser();
    const f = await taskOnRepo(t, user);
    const g = await taskOnRepo(t, user);
    const h = await taskOnRepo(t, other);
    write(f.worktree, { 'x.txt': 'f\n' });
    const mine = await checkpoint(user, f.taskId, 'f');
    const otherTask = await checkpoint(user, g.taskId, 'g');
    const theirs = await checkpoint(other, h.taskId, 'h');
    write(f.worktree, { 'x.txt': 'changed\n' });
    const before = fileMap(f.worktree);
    expect(codes(await user.gql(RewindTask, { input: { taskId: f.taskId, checkpointId: otherTask.id } }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await user.gql(RewindTask, { input: { taskId: f.taskId, checkpointId: theirs.id } }))).toEqual(['NOT_FOUND']);
    expect(codes(await other.gql(RewindTask, { input: { taskId: f.taskId, checkpointId: mine.id } }))).toEqual(['NOT_FOUND']);
    expect(codes(await user.gql(RewindTask, { input: { taskId: f.taskId, checkpointId: 'HEAD~1' } }))).toEqual(['BAD_USER_INPUT']);
    expect(fileMap(f.worktree)).toEqual(before);
    expect(await t.db.prisma.taskCheckpoint.count({ where: { taskId: rawId(f.taskId) } })).toBe(1);
  });
});

describe('rewindConversation', () => {
  it('rewinds to a message, and back through the backup snapshot', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    const ids = await say(user, f.taskId, 'm0', 'm1', 'm2', 'm3');
    const files = fileMap(f.worktree);
    const r = (await user.ok(RewindConversation, { input: { taskId: f.taskId, toMessageId: ids[1] } })).rewindConversation;
    expect(r.task).toMatchObject({ messageCount: 2, headMessage: { id: ids[1] } });
    expect(r.backupSnapshot).toMatchObject({ snapshotType: 'AUTO', messageCount: 4 });
    expect(await conversationTexts(user, f.taskId)).toEqual(['m0', 'm1']);
    await say(user, f.taskId, 'other branch');
    expect(await conversationTexts(user, f.taskId)).toEqual(['m0', 'm1', 'other branch']);

    await user.ok(RewindConversation, { input: { taskId: f.taskId, toSnapshotId: r.backupSnapshot.id } });
    expect(await conversationTexts(user, f.taskId)).toEqual(['m0', 'm1', 'm2', 'm3']);
    expect(fileMap(f.worktree)).toEqual(files);
    const event = await t.db.prisma.historyEvent.findFirstOrThrow({ where: { taskId: rawId(f.taskId), eventType: 'CHAT', eventSubtype: 'rewound' }, orderBy: { seq: 'asc' } });
    expect(event.eventData).toMatchObject({ fromMessageCount: 4, toMessageCount: 2, toHeadId: rawId(ids[1]) });
  });

  it("rewinds to a snapshot, and a contract's supervisor through contractId", async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    const contract = await user.ok(ContractSupervisor, { id: f.contractId });
    const supervisorId = contract.contract!.supervisor.id;
    await say(user, supervisorId, 's0', 's1');
    const snap = await snapshot(user, supervisorId);
    await say(user, supervisorId, 's2');
    const r = (await user.ok(RewindConversation, { input: { contractId: f.contractId, toSnapshotId: snap.id } })).rewindConversation;
    expect(r.task).toMatchObject({ id: supervisorId, messageCount: 2 });
    expect(await conversationTexts(user, supervisorId)).toEqual(['s0', 's1']);
    await user.ok(RewindConversation, { input: { contractId: f.contractId, toSnapshotId: r.backupSnapshot.id } });
    expect(await conversationTexts(user, supervisorId)).toEqual(['s0', 's1', 's2']);
  });

  it('refuses ambiguous input, foreign messages and snapshots, and a held task, changing nothing', async () => {
    const user = await t.createUser();
    const other = await t.createUser();
    const f = await taskOnRepo(t, user);
    const g = await taskOnRepo(t, user);
    const h = await taskOnRepo(t, other);
    const ids = await say(user, f.taskId, 'm0', 'm1');
    const [gMessage] = await say(user, g.taskId, 'g0');
    const gSnap = await snapshot(user, g.taskId);
    const [hMessage] = await say(other, h.taskId, 'h0');
    const cases: [VariablesOf<typeof RewindConversation>['input'], string][] = [
      [{ taskId: f.taskId }, 'BAD_USER_INPUT'],
      [{ taskId: f.taskId, toMessageId: ids[0], toSnapshotId: gSnap.id }, 'BAD_USER_INPUT'],
      [{ taskId: f.taskId, contractId: f.contractId, toMessageId: ids[0] }, 'BAD_USER_INPUT'],
      [{ toMessageId: ids[0] }, 'BAD_USER_INPUT'],
      [{ taskId: f.taskId, toMessageId: gMessage }, 'BAD_USER_INPUT'],
      [{ taskId: f.taskId, toSnapshotId: gSnap.id }, 'BAD_USER_INPUT'],
      [{ taskId: f.taskId, toMessageId: hMessage }, 'NOT_FOUND'],
      [{ taskId: h.taskId, toMessageId: hMessage }, 'NOT_FOUND'],
      [{ contractId: h.contractId, toMessageId: hMessage }, 'NOT_FOUND'],
    ];
    for (const [input, code] of cases) {
      expect(codes(await user.gql(RewindConversation, { input })), JSON.stringify(input)).toEqual([code]);
    }
    await holdByWorker(f.taskId);
    expect(codes(await user.gql(RewindConversation, { input: { taskId: f.taskId, toMessageId: ids[0] } }))).toEqual(['CONFLICT']);
    expect(await conversationTexts(user, f.taskId)).toEqual(['m0', 'm1']);
    expect(await t.db.prisma.historyEvent.count({ where: { ownerId: user.id, eventSubtype: 'rewound' } })).toBe(0);
  });
});
