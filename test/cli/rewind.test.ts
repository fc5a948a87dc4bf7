// `makima task-rewind`, `task-fork` and `rewind-conversation` against a real server and real git
// worktrees: each does what its name says (checked in the worktree and through the API), with
// checkpoint numbers like #1 as well as IDs, in human and --json form.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawId, startTestServer, type TestServer, type TestUser } from '../harness.js';
import { checkpoint, ContractSupervisor, conversationTexts, say, taskOnRepo, TaskState } from '../fixtures.js';
import { fileMap, write } from '../worktrees.js';
import { runMakima } from './run.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => t?.stop());

const env = (user: TestUser) => ({ MAKIMA_URL: t.url, MAKIMA_TOKEN: user.token });

/** A task with two checkpoints: #1 after two messages and a.txt changed, #2 after four and b.txt changed. */
async function taskWithCheckpoints(user: TestUser) {
  const f = await taskOnRepo(t, user);
  const early = await say(user, f.taskId, 'one', 'two');
  write(f.worktree, { 'src/a.txt': 'first\n' });
  const first = await checkpoint(user, f.taskId, 'first');
  await say(user, f.taskId, 'three', 'four');
  write(f.worktree, { 'src/b.txt': 'second\n' });
  const second = await checkpoint(user, f.taskId, 'second');
  return { ...f, first, second, messageIds: early };
}

describe('makima task-rewind', () => {
  it('rewinds the code to a checkpoint given by number and says how to undo it', async () => {
    const user = await t.createUser();
    const f = await taskWithCheckpoints(user);
    const result = await runMakima(['task-rewind', f.taskId, '#1'], env(user));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(fileMap(f.worktree)['src/a.txt']).toBe('first\n');
    expect(fileMap(f.worktree)['src/b.txt']).toBe('one\ntwo\n');
    const task = (await user.ok(TaskState, { id: f.taskId })).task!;
    expect(task.headCommit).toBe(f.first.commitSha);
    expect(task.messageCount).toBe(4); // CODE leaves the conversation alone
    expect(result.stdout).toContain('rewound worker task to checkpoint #1 (code)');
    expect(result.stdout).toContain(`undo (code): makima task rewind ${f.taskId} '#3'`);

    // The undo it printed works.
    const undo = await runMakima(['task', 'rewind', f.taskId, '#3'], env(user));
    expect(undo.code).toBe(0);
    expect(fileMap(f.worktree)['src/b.txt']).toBe('second\n');
  });

  it('rewinds code and conversation with --mode both and a checkpoint ID, printing JSON', async () => {
    const user = await t.createUser();
    const f = await taskWithCheckpoints(user);
    const result = await runMakima(['task-rewind', f.taskId, f.first.id, '--mode', 'both', '--json'], env(user));
    expect(result.code).toBe(0);
    const payload = JSON.parse(result.stdout);
    expect(payload.task).toMatchObject({ id: f.taskId, headCommit: f.first.commitSha, messageCount: 2 });
    expect(payload.backupCheckpoint).toMatchObject({ number: 3, message: 'before rewind to #1' });
    expect(payload.backupSnapshot).toMatchObject({ messageCount: 4 });
    expect(await conversationTexts(user, f.taskId)).toEqual(['one', 'two']);
    expect(fileMap(f.worktree)['src/b.txt']).toBe('one\ntwo\n');
  });

  it('rewinds only the conversation with --mode conversation', async () => {
    const user = await t.createUser();
    const f = await taskWithCheckpoints(user);
    const result = await runMakima(['task-rewind', f.taskId, '#1', '--mode', 'conversation'], env(user));
    expect(result.code).toBe(0);
    expect(await conversationTexts(user, f.taskId)).toEqual(['one', 'two']);
    expect(fileMap(f.worktree)['src/b.txt']).toBe('second\n');
    expect(result.stdout).toMatch(/undo \(conversation\): makima conversation rewind --task \S+ --to \S+/);
  });

  it('refuses an unknown checkpoint number or mode, changing nothing', async () => {
    const user = await t.createUser();
    const f = await taskWithCheckpoints(user);
    const missing = await runMakima(['task-rewind', f.taskId, '#7'], env(user));
    expect(missing.code).toBe(3);
    expect(missing.stderr).toBe(`makima: task worker task (${f.taskId}) has no checkpoint #7; it has #1–#2\n`);
    const mode = await runMakima(['task-rewind', f.taskId, '#1', '--mode', 'everything'], env(user));
    expect(mode.code).toBe(2);
    expect(mode.stderr).toMatch(/argument 'everything' is invalid. Allowed choices are code, conversation, both/);
    expect((await user.ok(TaskState, { id: f.taskId })).task!.headCommit).toBe(f.second.commitSha);
  });
});

describe('makima task-fork', () => {
  it('forks at a checkpoint number: a new pending task with the code and conversation of that point', async () => {
    const user = await t.createUser();
    const f = await taskWithCheckpoints(user);
    const result = await runMakima(['task-fork', f.taskId, '--checkpoint', '#1', '--name', 'try another way'], env(user));
    expect(result.code).toBe(0);
    const [, forkId] = result.stdout.match(/→ try another way \((\S+)\)/)!;
    const fork = (await user.ok(TaskState, { id: forkId })).task!;
    expect(fork).toMatchObject({ name: 'try another way', status: 'PENDING', forkedFrom: { id: f.taskId }, forkedAtCheckpoint: { number: 1 }, messageCount: 2 });
    expect(fileMap(fork.worktreePath!)['src/a.txt']).toBe('first\n');
    expect(fileMap(fork.worktreePath!)['src/b.txt']).toBe('one\ntwo\n');
    expect(result.stdout).toContain('forked worker task at checkpoint #1');
    expect((await user.ok(TaskState, { id: f.taskId })).task!.messageCount).toBe(4); // the original is untouched
  });

  it('forks at a message with --json', async () => {
    const user = await t.createUser();
    const f = await taskWithCheckpoints(user);
    const result = await runMakima(['task-fork', f.taskId, '--message', f.messageIds[0], '--json'], env(user));
    expect(result.code).toBe(0);
    const { task } = JSON.parse(result.stdout);
    expect(task).toMatchObject({ name: 'worker task (fork)', messageCount: 1, forkedAtMessage: { id: f.messageIds[0] }, forkedFrom: { id: f.taskId } });
    expect(await conversationTexts(user, task.id)).toEqual(['one']);
  });

  it('needs exactly one of --checkpoint and --message', async () => {
    const user = await t.createUser();
    const f = await taskWithCheckpoints(user);
    for (const args of [[], ['--checkpoint', '#1', '--message', f.messageIds[0]]]) {
      const result = await runMakima(['task-fork', f.taskId, ...args], env(user));
      expect(result.code).toBe(2);
      expect(result.stderr).toBe('makima: give exactly one of --checkpoint and --message\n');
    }
  });
});

describe('makima rewind-conversation', () => {
  it("rewinds a contract's supervisor to a message and prints how to undo it", async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    const supervisor = (await user.ok(ContractSupervisor, { id: f.contractId })).contract!.supervisor.id;
    const ids = await say(user, supervisor, 'plan', 'research', 'specify');
    const result = await runMakima(['rewind-conversation', f.contractId, '--to', ids[1]], env(user));
    expect(result.code).toBe(0);
    expect(await conversationTexts(user, supervisor)).toEqual(['plan', 'research']);
    const [, backup] = result.stdout.match(/undo: makima conversation rewind --task \S+ --to (\S+)/)!;

    // Undo with the backup snapshot given as a raw UUID: tried as a message, found as a snapshot.
    const undo = await runMakima(['rewind-conversation', '--task', supervisor, '--to', rawId(backup), '--json'], env(user));
    expect(undo.code).toBe(0);
    expect(JSON.parse(undo.stdout).task.messageCount).toBe(3);
    expect(await conversationTexts(user, supervisor)).toEqual(['plan', 'research', 'specify']);
  });

  it("rewinds a task's own conversation to a raw message UUID or to a checkpoint's snapshot (#2)", async () => {
    const user = await t.createUser();
    const f = await taskWithCheckpoints(user);
    const toMessage = await runMakima(['rewind-conversation', '--task', f.taskId, '--to', rawId(f.messageIds[0])], env(user));
    expect(toMessage.code).toBe(0);
    expect(await conversationTexts(user, f.taskId)).toEqual(['one']);
    const toCheckpoint = await runMakima(['rewind-conversation', '--task', f.taskId, '--to', '#2', '--json'], env(user));
    expect(toCheckpoint.code).toBe(0);
    expect(await conversationTexts(user, f.taskId)).toEqual(['one', 'two', 'three', 'four']);
  });

  it('refuses a target that is neither a message nor a snapshot, and a missing or double owner', async () => {
    const user = await t.createUser();
    const f = await taskWithCheckpoints(user);
    const unknown = await runMakima(['rewind-conversation', f.contractId, '--to', '4e0b4d9a-2a50-4b5c-9a0e-8d1c2a7b9f10'], env(user));
    expect(unknown.stderr).toBe('makima: --to: no message or snapshot 4e0b4d9a-2a50-4b5c-9a0e-8d1c2a7b9f10 was found\n');
    const task = await runMakima(['rewind-conversation', f.contractId, '--to', f.taskId], env(user));
    expect(task.stderr).toMatch(/^makima: --to: \S+ is a Task ID; give a message or snapshot ID/);
    const both = await runMakima(['rewind-conversation', f.contractId, '--task', f.taskId, '--to', f.messageIds[0]], env(user));
    expect(both.stderr).toBe('makima: give exactly one of <contract> and --task\n');
    expect([unknown.code, task.code, both.code]).toEqual([3, 2, 2]);
    expect(await conversationTexts(user, f.taskId)).toEqual(['one', 'two', 'three', 'four']);
  });
});
