// `makima task compare` with the real binary against a real server: two forks of a task named as a
// person types them, where they part, the diff stat (and the patch on request), and its refusals.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, tempDir, type TestServer, type TestUser } from '../harness.js';
import { checkpoint, ForkTask, say, taskOnRepo } from '../fixtures.js';
import { write } from '../worktrees.js';
import { runMakima } from './run.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => t?.stop());

function env(user: TestUser) {
  const home = tempDir('makima-home-');
  return { HOME: home, XDG_CONFIG_HOME: path.join(home, 'config'), MAKIMA_DATA_DIR: path.join(home, 'data'), MAKIMA_URL: t.url, MAKIMA_TOKEN: user.token };
}

async function fork(user: TestUser, taskId: string, checkpointId: string, name: string) {
  return (await user.ok(ForkTask, { input: { taskId, checkpointId, name } })).forkTask.task;
}

describe('makima task compare', () => {
  it('prints where two forks part and the diff stat between their heads; --patch adds the diff, --json the whole comparison', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    await say(user, f.taskId, 'plan the work', 'here is the plan');
    const cp = await checkpoint(user, f.taskId, 'the plan');
    const left = await fork(user, f.taskId, cp.id, 'left');
    const right = await fork(user, f.taskId, cp.id, 'right');
    await say(user, left.id, 'one', 'two', 'three', 'four');
    write(left.worktreePath!, { 'src/a.txt': 'alpha\nBETA\ngamma\n' });
    await checkpoint(user, left.id, 'left way');
    await say(user, right.id, 'the other way');
    write(right.worktreePath!, { 'src/b.txt': null, 'src/c.txt': 'c\n' });
    await checkpoint(user, right.id, 'right way');

    // Forks are #3 and #4 (#1 is the supervisor, #2 the task).
    const shown = await runMakima(['task', 'compare', '3', 'right'], env(user));
    expect([shown.code, shown.stderr]).toEqual([0, '']);
    expect(shown.stdout).toMatch(
      new RegExp(
        [
          '^a: #3 left {3}b: #4 right\n\n',
          'conversation\n',
          '  2 messages in common \\(2 of them the same messages, shared by a fork\\)\n',
          '  last in common: 2\\. assistant +\\{"text":"here is the plan"\\}\n',
          '  only in a: 4 messages\n',
          '    3\\. user +\\{"text":"one"\\}\n    4\\. assistant +\\{"text":"two"\\}\n    5\\. user +\\{"text":"three"\\}\n',
          '    … and 1 more \\(makima task history shows them all\\)\n',
          '  only in b: 1 message\n',
          '    3\\. user +\\{"text":"the other way"\\}\n\n',
          "code: a's head \\w{10} → b's head \\w{10}\n",
          ' modified +src/a.txt {2}\\+1 -1\n',
          ' deleted +src/b.txt {2}\\+0 -2\n',
          ' added +src/c.txt {2}\\+1 -0\n',
          ' 3 files changed, 2 insertions\\(\\+\\), 3 deletions\\(-\\)\n$',
        ].join(''),
      ),
    );

    const patched = await runMakima(['task', 'compare', 'left', 'right', '--patch'], env(user));
    expect(patched.code).toBe(0);
    expect(patched.stdout).toContain(' 3 files changed, 2 insertions(+), 3 deletions(-)\n\ndiff --git a/src/a.txt b/src/a.txt\n');
    expect(patched.stdout).toContain('\n-BETA\n+beta\n');

    const json = JSON.parse((await runMakima(['task', 'compare', left.id, right.id, '--json'], env(user))).stdout);
    expect(json).toMatchObject({ a: { id: left.id }, b: { id: right.id }, conversation: { commonPrefixLength: 2, onlyInA: { count: 4 } }, code: { available: true, additions: 2, deletions: 3 } });
    expect(json.code.patch).toBeUndefined();
  });

  it('refuses tasks of different contracts with exit 2 and a task that is not there with exit 3', async () => {
    const user = await t.createUser();
    await taskOnRepo(t, user); // #1 supervisor, #2 its task
    await taskOnRepo(t, user); // #3 supervisor, #4 its task
    const mixed = await runMakima(['task', 'compare', '2', '4'], env(user));
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toMatch(/^makima: BAD_USER_INPUT: task #2 worker task and task #4 worker task belong to different contracts: compare two tasks of one contract/);
    const missing = await runMakima(['task', 'compare', '2', '#9'], env(user));
    expect([missing.code, missing.stderr]).toEqual([3, 'makima: NOT_FOUND: task #9 was not found\n']);
  });
});
