// `makima task-resume`, `task-resume-from` and `resume` (a contract's supervisor) against a real
// server: an interrupted or failed task becomes pending again — from a checkpoint or a snapshot
// when asked — and a task that cannot be resumed is a one-line CONFLICT.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '../harness.js';
import { checkpoint, claim, ContractSupervisor, conversationTexts, FailTask, say, taskOnRepo, TaskState } from '../fixtures.js';
import { fileMap, write } from '../worktrees.js';
import { runMakima } from './run.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => t?.stop());

const env = (user: TestUser) => ({ MAKIMA_URL: t.url, MAKIMA_TOKEN: user.token });

/** Claims the user's next pending task as worker "w1" and fails it. */
async function claimAndFail(user: TestUser, error: string): Promise<string> {
  const assignment = await claim(user, 'w1');
  await user.ok(FailTask, { input: { taskId: assignment!.task.id, workerId: 'w1', error } });
  return assignment!.task.id;
}

/** A contract whose supervisor and task both talked and made checkpoint #1 after two messages, then failed. */
async function failedWork(user: TestUser) {
  const f = await taskOnRepo(t, user);
  const supervisor = (await user.ok(ContractSupervisor, { id: f.contractId })).contract!.supervisor;
  for (const [id, dir] of [[supervisor.id, supervisor.worktreePath!], [f.taskId, f.worktree]]) {
    await say(user, id, 'one', 'two');
    write(dir, { 'src/a.txt': 'at checkpoint 1\n' });
    await checkpoint(user, id, 'first');
    await say(user, id, 'three', 'four');
    write(dir, { 'src/a.txt': 'later\n' });
  }
  expect(await claimAndFail(user, 'the supervisor crashed')).toBe(supervisor.id);
  expect(await claimAndFail(user, 'tests did not pass')).toBe(f.taskId);
  return { ...f, supervisorId: supervisor.id, supervisorWorktree: supervisor.worktreePath! };
}

describe('makima task-resume', () => {
  it('makes a failed task pending again and prints why it was resumed', async () => {
    const user = await t.createUser();
    const f = await failedWork(user);
    const result = await runMakima(['task-resume', f.taskId], env(user));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`resumed worker task (${f.taskId}): PENDING, 4 messages`);
    expect(result.stdout).toContain('Resumed: the task was FAILED — last error: tests did not pass.');
    expect((await user.ok(TaskState, { id: f.taskId })).task).toMatchObject({ status: 'PENDING', pendingReason: 'RESUME' });
    const next = await claim(user, 'w2');
    expect(next!.task.id).toBe(f.taskId);
    expect(next!.conversation.map((m) => (m.content as { text: string }).text)).toEqual(['one', 'two', 'three', 'four']);
  });

  it('prints the task as JSON with --json', async () => {
    const user = await t.createUser();
    const f = await failedWork(user);
    const result = await runMakima(['task-resume', f.taskId, '--json'], env(user));
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).task).toMatchObject({ id: f.taskId, status: 'PENDING', pendingReason: 'RESUME' });
  });

  it('refuses a pending task with a one-line CONFLICT, changing nothing', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    const result = await runMakima(['task-resume', f.taskId], env(user));
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/^makima: CONFLICT: task \S+ is already PENDING \(NEW\); the next worker that claims work receives it\n$/);
    expect((await user.ok(TaskState, { id: f.taskId })).task).toMatchObject({ status: 'PENDING', resumeNote: null });
  });
});

describe('makima task-resume-from', () => {
  it('rewinds code and conversation to a checkpoint number, then makes the task pending', async () => {
    const user = await t.createUser();
    const f = await failedWork(user);
    const result = await runMakima(['task-resume-from', f.taskId, '#1'], env(user));
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/resumed worker task \(\S+\) from checkpoint #1: PENDING, commit \w{10}, 2 messages/);
    expect(result.stdout).toMatch(/the worktree before is checkpoint #2/);
    expect((await user.ok(TaskState, { id: f.taskId })).task).toMatchObject({ status: 'PENDING', pendingReason: 'RESUME_FROM_CHECKPOINT' });
    expect(fileMap(f.worktree)['src/a.txt']).toBe('at checkpoint 1\n');
    expect(await conversationTexts(user, f.taskId)).toEqual(['one', 'two']);
  });

  it('prints the rewind and the task as JSON with --json', async () => {
    const user = await t.createUser();
    const f = await failedWork(user);
    const result = await runMakima(['task-resume-from', f.taskId, '#1', '--json'], env(user));
    expect(result.code).toBe(0);
    const payload = JSON.parse(result.stdout);
    expect(payload.task).toMatchObject({ status: 'PENDING', pendingReason: 'RESUME_FROM_CHECKPOINT', messageCount: 2 });
    expect(payload.backupCheckpoint.number).toBe(2);
    expect(payload.backupSnapshot.messageCount).toBe(4);
  });
});

describe('makima resume', () => {
  it("resumes a contract's failed supervisor with its whole conversation", async () => {
    const user = await t.createUser();
    const f = await failedWork(user);
    const result = await runMakima(['resume', f.contractId], env(user));
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`resumed c supervisor (${f.supervisorId}): PENDING, 4 messages`);
    expect(result.stdout).toContain('last error: the supervisor crashed');
    expect((await user.ok(TaskState, { id: f.supervisorId })).task).toMatchObject({ status: 'PENDING', pendingReason: 'RESUME' });
  });

  it('resumes from the snapshot of a checkpoint (#1) with --from-snapshot, printing JSON', async () => {
    const user = await t.createUser();
    const f = await failedWork(user);
    const result = await runMakima(['resume', f.contractId, '--from-snapshot', '#1', '--json'], env(user));
    expect(result.code).toBe(0);
    const payload = JSON.parse(result.stdout);
    expect(payload.task).toMatchObject({ id: f.supervisorId, status: 'PENDING', messageCount: 2 });
    expect(payload.backupSnapshot.messageCount).toBe(4);
    expect(await conversationTexts(user, f.supervisorId)).toEqual(['one', 'two']);
    expect(fileMap(f.supervisorWorktree)['src/a.txt']).toBe('later\n'); // a supervisor's resume leaves the code alone
  });

  it('refuses an unknown contract with NOT_FOUND', async () => {
    const user = await t.createUser();
    const result = await runMakima(['resume', '4e0b4d9a-2a50-4b5c-9a0e-8d1c2a7b9f10'], env(user));
    expect(result.code).toBe(3);
    // The raw UUID given is named by the global ID that the commands take.
    const globalId = Buffer.from('Contract:4e0b4d9a-2a50-4b5c-9a0e-8d1c2a7b9f10').toString('base64');
    expect(result.stderr).toBe(`makima: NOT_FOUND: contract ${globalId} was not found\n`);
  });
});
