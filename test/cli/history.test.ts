// `makima task-history` and `makima task-checkpoints` as a user runs them against a real server,
// and how every client command fails: one line, a non-zero status, never a stack trace.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '../harness.js';
import { checkpoint, recordTaskEvents, RewindTask, say, taskOnRepo } from '../fixtures.js';
import { write } from '../worktrees.js';
import { runMakima } from './run.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => t?.stop());

/** A port nothing listens on: one the system just gave out and that was closed again. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const env = (user: TestUser) => ({ MAKIMA_URL: t.url, MAKIMA_TOKEN: user.token });

/** A task that talked, ran a tool, printed output and made two checkpoints, in that order. */
async function busyTask(user: TestUser) {
  const f = await taskOnRepo(t, user);
  await say(user, f.taskId, 'Add a search box', 'Looking at the layout first.');
  await recordTaskEvents(user, f.taskId, [
    { type: 'TOOL_CALL', data: { tool: 'bash', command: 'npm test' } },
    { type: 'TOOL_RESULT', data: { exitCode: 0, output: '42 passed' } },
    { type: 'OUTPUT', data: 'All tests pass.' },
  ]);
  write(f.worktree, { 'src/search.ts': 'export const search = 1;\n' });
  const first = await checkpoint(user, f.taskId, 'add the search box');
  await say(user, f.taskId, 'Style it too');
  await recordTaskEvents(user, f.taskId, [{ type: 'ERROR', data: { message: 'lint failed' } }]);
  write(f.worktree, { 'src/search.css': '.search {}\n', 'src/a.txt': null });
  const second = await checkpoint(user, f.taskId, 'style the search box');
  return { ...f, checkpoints: [first, second] };
}

describe('makima task-history', () => {
  it('prints the conversation and the events interleaved by time, one summary line each', async () => {
    const user = await t.createUser();
    const f = await busyTask(user);
    const result = await runMakima(['task-history', f.taskId], env(user));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^worker task .* · PENDING$/);
    const rows = lines.slice(1).map((l) => l.split(/\s+/).slice(1, 2)[0]);
    expect(rows).toEqual(['task/created', 'user', 'assistant', 'tool_call', 'tool_result', 'output', 'checkpoint/created', 'user', 'error', 'checkpoint/created']);
    expect(lines[2]).toMatch(/^\d{4}-\d\d-\d\dT\S+Z\s+user\s+Add a search box$/);
    expect(lines[4]).toContain('{"tool":"bash","command":"npm test"}');
    expect(lines[6]).toContain('All tests pass.');
    expect(lines[7]).toContain('"message":"add the search box"');
    expect(result.stdout).not.toMatch(/\x1b\[/); // no colours when stdout is not a terminal
  });

  it('prints everything as JSON with --json, paging through more than 100 messages and events', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    const texts = Array.from({ length: 130 }, (_, i) => `m${i}`);
    await say(user, f.taskId, ...texts);
    await recordTaskEvents(user, f.taskId, Array.from({ length: 120 }, (_, i) => ({ type: 'OUTPUT', data: `line ${i}` })));
    const result = await runMakima(['task-history', f.taskId, '--json'], env(user));
    expect(result.code).toBe(0);
    const history = JSON.parse(result.stdout);
    expect(history.task).toMatchObject({ id: f.taskId, name: 'worker task', status: 'PENDING' });
    const messages = history.entries.filter((e: { kind: string }) => e.kind === 'message');
    const events = history.entries.filter((e: { kind: string }) => e.kind === 'event');
    expect(messages.map((m: { content: { text: string } }) => m.content.text)).toEqual(texts);
    expect(events.map((e: { seq: number }) => e.seq)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    // All messages were appended before any event was recorded.
    const told = history.entries.filter((e: { kind: string }) => e.kind !== 'change');
    expect(told.findIndex((e: { kind: string }) => e.kind === 'event')).toBe(130);
  });
});

describe('makima task-checkpoints', () => {
  it('prints a table of number, short sha, message, files changed, backup and time', async () => {
    const user = await t.createUser();
    const f = await busyTask(user);
    const result = await runMakima(['task-checkpoints', f.taskId], env(user));
    expect(result.code).toBe(0);
    const [head, ...rows] = result.stdout.trim().split('\n');
    expect(head.trim().split(/\s{2,}/)).toEqual(['#', 'sha', 'message', 'files', 'backup', 'time']);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(new RegExp(`^#1\\s+${f.checkpoints[0].commitSha.slice(0, 10)}\\s+add the search box\\s+1 \\(\\+1 -0\\)\\s+\\S+$`));
    expect(rows[1]).toMatch(new RegExp(`^#2\\s+${f.checkpoints[1].commitSha.slice(0, 10)}\\s+style the search box\\s+2 \\(\\+1 -3\\)\\s+\\S+$`));
  });

  it('prints the checkpoints as JSON with --json, backups marked', async () => {
    const user = await t.createUser();
    const f = await busyTask(user);
    await user.ok(RewindTask, { input: { taskId: f.taskId, checkpointId: f.checkpoints[0].id } });
    const result = await runMakima(['task-checkpoints', f.taskId, '--json'], env(user));
    expect(result.code).toBe(0);
    const { task, checkpoints } = JSON.parse(result.stdout);
    expect(task).toEqual({ id: f.taskId, name: 'worker task' });
    expect(checkpoints.map((c: { number: number; isBackup: boolean; message: string }) => [c.number, c.isBackup, c.message])).toEqual([
      [1, false, 'add the search box'],
      [2, false, 'style the search box'],
      [3, true, 'before rewind to #1'],
    ]);
    expect(checkpoints[1].filesChanged.map((c: { path: string; status: string }) => `${c.status} ${c.path}`)).toEqual(['DELETED src/a.txt', 'ADDED src/search.css']);
  });

  it('says so when a task has no checkpoints', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    const result = await runMakima(['task-checkpoints', f.taskId], env(user));
    expect(result.stdout.trim()).toBe('task worker task has no checkpoints yet');
  });
});

describe('errors of the client commands', () => {
  const oneLine = (stderr: string) => {
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).not.toMatch(/\n\s+at /);
  };

  it('an unknown task is NOT_FOUND, another user’s task too', async () => {
    const user = await t.createUser();
    const other = await t.createUser('other');
    const f = await taskOnRepo(t, other);
    for (const id of ['4e0b4d9a-2a50-4b5c-9a0e-8d1c2a7b9f10', f.taskId]) {
      const result = await runMakima(['task-history', id], env(user));
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(/^makima: NOT_FOUND: task .* was not found\n$/);
      oneLine(result.stderr);
    }
    // Not an ID: read as a reference (a number, name or prefix), which matches no task of this user.
    const bad = await runMakima(['task-checkpoints', 'not-an-id', '--json'], env(user));
    expect(bad.code).toBe(3);
    expect(JSON.parse(bad.stderr).error).toMatchObject({ kind: 'NOT_FOUND', exitCode: 3 });
  });

  it('an unreachable server says which URL it could not reach', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/graphql`;
    const result = await runMakima(['task-history', 'x'], { MAKIMA_URL: url, MAKIMA_TOKEN: 'mk_x' });
    expect(result.code).toBe(5);
    expect(result.stderr).toBe(`makima: could not reach ${url}: ECONNREFUSED\n`);
  });

  it('a missing or wrong token is explained', async () => {
    const none = await runMakima(['task-checkpoints', 'x'], { MAKIMA_URL: t.url });
    expect(none.code).toBe(6);
    expect(none.stderr).toMatch(/no API token: set MAKIMA_TOKEN or pass --token/);
    const wrong = await runMakima(['task-checkpoints', 'x', '--url', t.url, '--token', 'mk_wrong'], {});
    expect(wrong.code).toBe(6);
    expect(wrong.stderr).toMatch(/^makima: UNAUTHENTICATED: /);
    oneLine(wrong.stderr);
  });
});
