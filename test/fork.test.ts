// forkTask on real repositories: a new task at a checkpoint or a message, with its own worktree and
// branch and the shared conversation prefix; the original is never touched.
import fs from 'node:fs';
import { simpleGit } from 'simple-git';
import type { VariablesOf } from '@graphql-typed-document-node/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../src/generated/gql/index.js';
import { codes, rawId, startTestServer, type TestServer, type TestUser } from './harness.js';
import { checkpoint, conversationTexts, ForkTask, RewindConversation, say, taskOnRepo, type TaskFixture } from './fixtures.js';
import { fileMap, head, write } from './worktrees.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => t?.stop());

const Forks = graphql(`
  query TaskForks($id: ID!) { task(id: $id) { forks(first: 10) { edges { node { id } } } } }
`);

type ForkTaskInput = VariablesOf<typeof ForkTask>['input'];

async function fork(user: TestUser, input: ForkTaskInput) {
  return (await user.ok(ForkTask, { input })).forkTask.task;
}

/** The original task's state that a fork must never change. */
async function originalState(user: TestUser, f: TaskFixture) {
  return {
    files: fileMap(f.worktree),
    head: await head(f.worktree),
    branch: await simpleGit(f.repo).revparse([`refs/heads/${f.branch}`]),
    conversation: await conversationTexts(user, f.taskId),
    checkpoints: await t.db.prisma.taskCheckpoint.count({ where: { taskId: rawId(f.taskId) } }),
    row: await t.db.prisma.task.findUniqueOrThrow({ where: { id: rawId(f.taskId) } }),
  };
}

describe('forkTask', () => {
  it('forks at checkpoint 2 of 4: its files, its conversation, its own branch; the original untouched', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    const messageIds: string[] = [];
    const files: Record<string, string>[] = [];
    const cps = [];
    for (const n of [1, 2, 3, 4]) {
      messageIds.push(...(await say(user, f.taskId, `m${n}`)));
      write(f.worktree, { 'progress.txt': `${n}\n`, [`step-${n}.txt`]: `${n}\n` });
      cps.push(await checkpoint(user, f.taskId, `cp ${n}`));
      files.push(fileMap(f.worktree));
    }
    write(f.worktree, { 'uncommitted.txt': 'original work\n' });
    const before = await originalState(user, f);
    const messageRows = await t.db.prisma.conversationMessage.count();

    const forked = await fork(user, { taskId: f.taskId, checkpointId: cps[1].id });
    expect(forked).toMatchObject({
      name: 'worker task (fork)',
      status: 'PENDING',
      baseCommit: cps[1].commitSha,
      headCommit: cps[1].commitSha,
      messageCount: 2,
      forkedFrom: { id: f.taskId },
      forkedAtCheckpoint: { id: cps[1].id, number: 2 },
      forkedAtMessage: null,
    });
    expect(forked.branch).not.toBe(f.branch);
    expect(forked.worktreePath).not.toBe(f.worktree);
    expect(fileMap(forked.worktreePath!)).toEqual(files[1]);
    // The conversation is the snapshot's: the very same messages, not copies.
    expect(forked.conversation.edges.map((e) => e.node.id)).toEqual(messageIds.slice(0, 2));
    expect(await t.db.prisma.conversationMessage.count()).toBe(messageRows);
    const row = await t.db.prisma.task.findUniqueOrThrow({ where: { id: rawId(forked.id) } });
    expect(row.pendingReason).toBe('FORK');
    expect((await user.ok(Forks, { id: f.taskId })).task!.forks.edges.map((e) => e.node.id)).toEqual([forked.id]);
    const event = await t.db.prisma.historyEvent.findFirstOrThrow({ where: { taskId: rawId(forked.id), eventType: 'TASK', eventSubtype: 'forked' } });
    expect(event.eventData).toMatchObject({ fromTaskId: rawId(f.taskId), atCheckpointId: rawId(cps[1].id), atCheckpointNumber: 2, commitSha: cps[1].commitSha, messageCount: 2 });

    // Work in the fork stays in the fork.
    write(forked.worktreePath!, { 'fork-only.txt': 'fork\n', 'progress.txt': 'forked\n' });
    await say(user, forked.id, 'fork message');
    const forkCp = await checkpoint(user, forked.id, 'fork work');
    expect(forkCp.number).toBe(1);
    expect(forkCp.filesChanged.map((x) => x.path)).toEqual(['fork-only.txt', 'progress.txt']);
    const containing = await simpleGit(f.repo).raw(['branch', '--contains', forkCp.commitSha, '--format=%(refname:short)']);
    expect(containing.trim().split('\n')).toEqual([forked.branch]);
    expect(await conversationTexts(user, forked.id)).toEqual(['m1', 'm2', 'fork message']);
    expect(await originalState(user, f)).toEqual(before);
  });

  it('forks at a message: the conversation up to it and the code of the latest checkpoint at or before it', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    const [m0, m1] = await say(user, f.taskId, 'm0', 'm1');
    write(f.worktree, { 'v.txt': '1\n' });
    const cp1 = await checkpoint(user, f.taskId, 'one');
    const filesAtCp1 = fileMap(f.worktree);
    const [m2, m3] = await say(user, f.taskId, 'm2', 'm3');
    write(f.worktree, { 'v.txt': '2\n' });
    const cp2 = await checkpoint(user, f.taskId, 'two');
    await say(user, f.taskId, 'm4');
    const base = (await t.db.prisma.task.findUniqueOrThrow({ where: { id: rawId(f.taskId) } })).baseCommit;

    const atM2 = await fork(user, { taskId: f.taskId, messageId: m2, name: 'from m2' });
    expect(atM2).toMatchObject({ name: 'from m2', baseCommit: cp1.commitSha, messageCount: 3, forkedAtMessage: { id: m2 }, forkedAtCheckpoint: null });
    expect(await conversationTexts(user, atM2.id)).toEqual(['m0', 'm1', 'm2']);
    expect(fileMap(atM2.worktreePath!)).toEqual(filesAtCp1);

    const atM3 = await fork(user, { taskId: f.taskId, messageId: m3 });
    expect(atM3.baseCommit).toBe(cp2.commitSha);
    const atM0 = await fork(user, { taskId: f.taskId, messageId: m0 });
    expect(atM0.baseCommit).toBe(base);
    expect(await conversationTexts(user, atM0.id)).toEqual(['m0']);

    // A message the conversation was rewound away from is still part of the task's history.
    await user.ok(RewindConversation, { input: { taskId: f.taskId, toMessageId: m1 } });
    await say(user, f.taskId, 'new direction');
    const abandoned = await fork(user, { taskId: f.taskId, messageId: m3 });
    expect(await conversationTexts(user, abandoned.id)).toEqual(['m0', 'm1', 'm2', 'm3']);
    expect(abandoned.baseCommit).toBe(cp2.commitSha);
  });

  it('forks a task that a worker is running, without touching it', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    write(f.worktree, { 'x.txt': 'x\n' });
    const cp = await checkpoint(user, f.taskId, 'one');
    await t.db.prisma.task.update({ where: { id: rawId(f.taskId) }, data: { status: 'RUNNING', workerId: 'w', leaseExpiresAt: new Date(Date.now() + 3_600_000) } });
    const before = await originalState(user, f);
    const forked = await fork(user, { taskId: f.taskId, checkpointId: cp.id });
    expect(forked.status).toBe('PENDING');
    expect(await originalState(user, f)).toEqual(before);
  });

  it('refuses neither or both points, foreign checkpoints and messages, and a bad name, creating nothing', async () => {
    const user = await t.createUser();
    const other = await t.createUser();
    const f = await taskOnRepo(t, user);
    const g = await taskOnRepo(t, user);
    const h = await taskOnRepo(t, other);
    const [m0] = await say(user, f.taskId, 'm0');
    write(f.worktree, { 'x.txt': 'x\n' });
    const cp = await checkpoint(user, f.taskId, 'one');
    const [gMessage] = await say(user, g.taskId, 'g0');
    const gCp = await checkpoint(user, g.taskId, 'g');
    const [hMessage] = await say(other, h.taskId, 'h0');
    const hCp = await checkpoint(other, h.taskId, 'h');
    const tasks = await t.db.prisma.task.count();
    const worktrees = fs.readdirSync(t.config.worktreesDir).length;
    const cases: [ForkTaskInput, string, TestUser][] = [
      [{ taskId: f.taskId }, 'BAD_USER_INPUT', user],
      [{ taskId: f.taskId, checkpointId: cp.id, messageId: m0 }, 'BAD_USER_INPUT', user],
      [{ taskId: f.taskId, checkpointId: gCp.id }, 'BAD_USER_INPUT', user],
      [{ taskId: f.taskId, messageId: gMessage }, 'BAD_USER_INPUT', user],
      [{ taskId: f.taskId, checkpointId: cp.id, name: '   ' }, 'BAD_USER_INPUT', user],
      [{ taskId: f.taskId, checkpointId: 'not-an-id' }, 'BAD_USER_INPUT', user],
      [{ taskId: f.taskId, checkpointId: hCp.id }, 'NOT_FOUND', user],
      [{ taskId: f.taskId, messageId: hMessage }, 'NOT_FOUND', user],
      [{ taskId: f.taskId, checkpointId: cp.id }, 'NOT_FOUND', other],
    ];
    for (const [input, code, who] of cases) {
      expect(codes(await who.gql(ForkTask, { input })), JSON.stringify(input)).toEqual([code]);
    }
    expect(await t.db.prisma.task.count()).toBe(tasks);
    expect(fs.readdirSync(t.config.worktreesDir)).toHaveLength(worktrees);
    expect(await t.db.prisma.historyEvent.count({ where: { eventSubtype: 'forked', ownerId: { in: [user.id, other.id] } } })).toBe(0);
  });
});
