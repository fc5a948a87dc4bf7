// compareTasks on real repositories: two runs of one contract side by side — the common prefix of
// their conversations (shared rows for forks, equal messages otherwise), what each says after it,
// and the diff between their head commits. It only reads.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../src/generated/gql/index.js';
import { codes, rawId, startTestServer, type TestServer, type TestUser } from './harness.js';
import { checkpoint, createTask, ForkTask, say, taskOnRepo } from './fixtures.js';
import { write } from './worktrees.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => t?.stop());

const CompareTasks = graphql(`
  query CompareTasks($a: String!, $b: String!, $first: Int) {
    compareTasks(a: $a, b: $b) {
      a { id } b { id }
      conversation {
        commonPrefixLength sharedMessageCount
        lastCommonMessage { id index content }
        onlyInA { count task { id } messages(first: $first) { id index role content } }
        onlyInB { count task { id } messages(first: $first) { id index role content } }
      }
      code {
        available unavailableReason fromCommit toCommit additions deletions
        files { path status additions deletions binary }
      }
    }
  }
`);

const ComparePatch = graphql(`
  query ComparePatch($a: String!, $b: String!) {
    compareTasks(a: $a, b: $b) { code { available patch truncated } }
  }
`);

async function fork(user: TestUser, taskId: string, checkpointId: string, name: string) {
  return (await user.ok(ForkTask, { input: { taskId, checkpointId, name } })).forkTask.task;
}

async function compare(user: TestUser, a: string, b: string, first = 5) {
  return (await user.ok(CompareTasks, { a, b, first })).compareTasks;
}

const texts = (messages: readonly { content: unknown }[]) => messages.map((m) => (m.content as { text: string }).text);

/** What a read must never change: every row count, the tasks' versions and the history. */
async function state(): Promise<string> {
  const p = t.db.prisma;
  const versions = await p.task.aggregate({ _sum: { version: true } });
  return JSON.stringify([await p.task.count(), versions._sum.version, await p.conversationMessage.count(), await p.taskCheckpoint.count(), await p.historyEvent.count()]);
}

describe('compareTasks', () => {
  it('shows where two forks of one task part and the exact diff between their heads', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    const prefix = await say(user, f.taskId, 'plan the work', 'here is the plan');
    write(f.worktree, { 'plan.md': 'plan\n' });
    const cp = await checkpoint(user, f.taskId, 'the plan');
    const left = await fork(user, f.taskId, cp.id, 'left');
    const right = await fork(user, f.taskId, cp.id, 'right');

    await say(user, left.id, 'try it with BETA', 'done with BETA', 'and a new file');
    write(left.worktreePath!, { 'src/a.txt': 'alpha\nBETA\ngamma\n', 'new.txt': 'n1\nn2\n' });
    await checkpoint(user, left.id, 'left way');
    const [rightFirst] = await say(user, right.id, 'drop b, add c');
    write(right.worktreePath!, { 'src/b.txt': null, 'src/c.txt': 'c\n' });
    await checkpoint(user, right.id, 'right way');
    const before = await state();

    // By name, as a person types them.
    const c = await compare(user, 'left', 'right', 2);
    expect(c.a.id).toBe(left.id);
    expect(c.b.id).toBe(right.id);
    expect(c.conversation).toMatchObject({ commonPrefixLength: 2, sharedMessageCount: 2, lastCommonMessage: { id: prefix[1], index: 1 } });
    expect(c.conversation.onlyInA).toMatchObject({ count: 3, task: { id: left.id } });
    expect(texts(c.conversation.onlyInA.messages)).toEqual(['try it with BETA', 'done with BETA']);
    expect(c.conversation.onlyInA.messages.map((m) => m.index)).toEqual([2, 3]);
    expect(c.conversation.onlyInB).toMatchObject({ count: 1, messages: [{ id: rightFirst, index: 2, role: 'USER' }] });

    const heads = await t.db.prisma.task.findMany({ where: { id: { in: [rawId(left.id), rawId(right.id)] } }, select: { id: true, headCommit: true } });
    const headOf = (id: string) => heads.find((h) => h.id === rawId(id))!.headCommit;
    expect(c.code).toEqual({
      available: true,
      unavailableReason: null,
      fromCommit: headOf(left.id),
      toCommit: headOf(right.id),
      additions: 2,
      deletions: 5,
      files: [
        { path: 'new.txt', status: 'DELETED', additions: 0, deletions: 2, binary: false },
        { path: 'src/a.txt', status: 'MODIFIED', additions: 1, deletions: 1, binary: false },
        { path: 'src/b.txt', status: 'DELETED', additions: 0, deletions: 2, binary: false },
        { path: 'src/c.txt', status: 'ADDED', additions: 1, deletions: 0, binary: false },
      ],
    });

    const { code } = (await user.ok(ComparePatch, { a: left.id, b: right.id })).compareTasks;
    expect(code.truncated).toBe(false);
    expect(code.patch).toContain('diff --git a/src/a.txt b/src/a.txt\n');
    expect(code.patch).toContain('\n-BETA\n+beta\n');
    expect(code.patch).toContain('diff --git a/new.txt b/new.txt\ndeleted file mode');
    expect(await state()).toBe(before);
  });

  it('matches the messages of two unrelated tasks by what they say, and compares a task that has no checkpoint', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    const other = await createTask(user, f.contractId, 'other run');
    const mine = await say(user, f.taskId, 'same prompt', 'same answer', 'then this');
    await say(user, other.id, 'same prompt', 'same answer', 'but that', 'and more');

    const c = await compare(user, f.taskId, other.id);
    expect(c.conversation).toMatchObject({ commonPrefixLength: 2, sharedMessageCount: 0, lastCommonMessage: { id: mine[1] } });
    expect(texts(c.conversation.onlyInA.messages)).toEqual(['then this']);
    expect(texts(c.conversation.onlyInB.messages)).toEqual(['but that', 'and more']);
    // Neither has a checkpoint: both heads are the contract's start, so nothing differs.
    expect(c.code).toMatchObject({ available: true, files: [], additions: 0, deletions: 0 });
    expect(c.code.fromCommit).toBe(c.code.toCommit);

    write(other.worktreePath!, { 'README.md': '# project\nmore\n' });
    await checkpoint(user, other.id, 'readme');
    const after = await compare(user, f.taskId, other.id);
    expect(after.code.files).toEqual([{ path: 'README.md', status: 'MODIFIED', additions: 1, deletions: 0, binary: false }]);
  });

  it('finds where forks part however deep the fork point and however far each went on, forks of forks too', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    const trunk = { id: f.taskId, path: await say(user, f.taskId, ...Array.from({ length: 40 }, (_, i) => `trunk ${i}`)) };
    /** Forks `from` at its message at `at` and says `more` messages of its own: its path is the rows it shares, then its own. */
    const forkAt = async (from: typeof trunk, at: number, more: number) => {
      const task = (await user.ok(ForkTask, { input: { taskId: from.id, messageId: from.path[at], name: `${from.id} at ${at}` } })).forkTask.task;
      const own = more ? await say(user, task.id, ...Array.from({ length: more }, (_, i) => `${task.id} ${i}`)) : [];
      return { id: task.id, path: [...from.path.slice(0, at + 1), ...own] };
    };
    const sides = [trunk];
    for (const [at, more] of [[0, 3], [1, 0], [4, 31], [15, 20], [16, 33], [39, 5]]) sides.push(await forkAt(trunk, at, more));
    sides.push(await forkAt(sides[5], 25, 9), await forkAt(sides[5], 34, 0), await forkAt(sides[4], 20, 14));
    const sharedRows = (x: string[], y: string[]) => {
      const parted = x.findIndex((id, i) => id !== y[i]);
      return parted === -1 ? Math.min(x.length, y.length) : parted;
    };
    const check = async (a: (typeof sides)[number], b: (typeof sides)[number]) => {
      const shared = sharedRows(a.path, b.path);
      const { conversation } = await compare(user, a.id, b.id, 1);
      const what = `${a.path.length} and ${b.path.length} messages sharing ${shared}`;
      expect(conversation.sharedMessageCount, what).toBe(shared);
      // Past the shared rows every message says something of its own: the prefix is the shared rows.
      expect(conversation.commonPrefixLength, what).toBe(shared);
      expect(conversation.lastCommonMessage?.id ?? null, what).toBe(shared ? a.path[shared - 1] : null);
      expect([conversation.onlyInA.count, conversation.onlyInB.count], what).toEqual([a.path.length - shared, b.path.length - shared]);
    };
    for (const [i, a] of sides.entries()) for (const b of sides.slice(i + 1)) await check(a, b);
    // Messages written before jump pointers existed have none, and are walked one by one: the same answers.
    await t.db.query('UPDATE conversation_messages SET jump_id = NULL, jump_depth = NULL WHERE task_id = $1', [rawId(f.taskId)]);
    for (const [i, a] of sides.entries()) await check(a, sides[(i + 4) % sides.length]);
  });

  it('compares a task with itself as equal', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    const ids = await say(user, f.taskId, 'one', 'two', 'three');
    const c = await compare(user, f.taskId, f.taskId);
    expect(c.conversation).toMatchObject({ commonPrefixLength: 3, sharedMessageCount: 3, lastCommonMessage: { id: ids[2] }, onlyInA: { count: 0, messages: [] }, onlyInB: { count: 0, messages: [] } });
    expect(c.code.files).toEqual([]);
  });

  it('says so in the code part when a task has no head commit, and still compares the conversations', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    const other = await createTask(user, f.contractId, 'headless');
    await say(user, f.taskId, 'hello');
    await t.db.prisma.task.update({ where: { id: rawId(other.id) }, data: { headCommit: null } });

    const c = await compare(user, f.taskId, other.id);
    expect(c.code).toMatchObject({ available: false, fromCommit: null, toCommit: null, files: [], additions: 0 });
    expect(c.code.unavailableReason).toMatch(/headless has no head commit/);
    expect(c.conversation).toMatchObject({ commonPrefixLength: 0, lastCommonMessage: null, onlyInA: { count: 1 }, onlyInB: { count: 0 } });
    const { code } = (await user.ok(ComparePatch, { a: f.taskId, b: other.id })).compareTasks;
    expect(code).toEqual({ available: false, patch: null, truncated: false });
  });

  it('refuses tasks of different contracts, another user\'s task and an unknown reference, changing nothing', async () => {
    const user = await t.createUser();
    const one = await taskOnRepo(t, user);
    const two = await taskOnRepo(t, user);
    const stranger = await t.createUser('stranger');
    const theirs = await taskOnRepo(t, stranger);
    const before = await state();

    const mixed = await user.gql(CompareTasks, { a: one.taskId, b: two.taskId });
    expect(codes(mixed)).toEqual(['BAD_USER_INPUT']);
    expect(mixed.errors![0].message).toMatch(/belong to different contracts: compare two tasks of one contract/);
    expect(mixed.data).toBeNull();

    const notMine = await user.gql(CompareTasks, { a: one.taskId, b: theirs.taskId });
    expect(codes(notMine)).toEqual(['NOT_FOUND']);
    expect(codes(await user.gql(CompareTasks, { a: theirs.taskId, b: one.taskId }))).toEqual(['NOT_FOUND']);

    const unknown = await user.gql(CompareTasks, { a: 'no such task', b: one.taskId });
    expect(codes(unknown)).toEqual(['NOT_FOUND']);
    expect(unknown.errors![0].message).toMatch(/no task of yours matches "no such task"/);
    expect(await state()).toBe(before);
  });

  it('runs at most 10 comparisons in one request, like checkpoint diffs', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    const aliased = (n: number) => `query($t: String!) { ${Array.from({ length: n }, (_, i) => `c${i}: compareTasks(a: $t, b: $t) { code { available } }`).join(' ')} }`;
    expect(codes(await user.gql(aliased(10), { t: f.taskId }))).toEqual([]);
    const over = await user.gql(aliased(11), { t: f.taskId });
    expect(codes(over)).toEqual(['BAD_USER_INPUT']);
    expect(over.errors![0].message).toMatch(/Query\.compareTasks up to 11 times.*at most 10/);
  });
});
