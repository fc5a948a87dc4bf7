// The gh-style commands as a user runs them (the real `makima` binary against a real server and
// real git repositories): contracts, tasks and the fleet, diffs, events (live), snapshots, history
// with its changes, and how every command fails — exit status per kind, JSON on stderr, global IDs.
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '../harness.js';
import { checkpoint, claim, CompleteTask, recordTaskEvents, RewindTask, say, snapshot, taskOnRepo } from '../fixtures.js';
import { write } from '../worktrees.js';
import { runMakima, spawnMakima } from './run.js';

const RAW_UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => t?.stop());

const env = (user: TestUser) => ({ MAKIMA_URL: t.url, MAKIMA_TOKEN: user.token });

async function makima(user: TestUser, ...args: string[]) {
  const result = await runMakima(args, env(user));
  return { ...result, json: () => JSON.parse(result.stdout) };
}

/** A task with two checkpoints (one file added, then one changed) and a snapshot of each. */
async function taskWithWork(user: TestUser) {
  const f = await taskOnRepo(t, user);
  await say(user, f.taskId, 'add a search box');
  write(f.worktree, { 'src/search.ts': 'export const search = 1;\n' });
  const first = await checkpoint(user, f.taskId, 'add search');
  await say(user, f.taskId, 'make it two');
  write(f.worktree, { 'src/search.ts': 'export const search = 2;\n' });
  const second = await checkpoint(user, f.taskId, 'search is two');
  return { ...f, checkpoints: [first, second] };
}

describe('makima --version', () => {
  it("prints package.json's version", async () => {
    const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };
    const result = await runMakima(['--version'], {});
    expect(result).toMatchObject({ code: 0, stdout: `${version}\n` });
  });
});

describe('makima contract', () => {
  it('creates, lists, shows and advances a contract', async () => {
    const user = await t.createUser();
    const repo = await t.makeRepo();
    const created = await makima(user, 'contract', 'create', '--name', 'search', '--repo', repo, '--description', 'add search', '--json');
    expect(created.code).toBe(0);
    const { contract } = created.json();
    expect(contract).toMatchObject({ name: 'search', phase: 'RESEARCH', repositoryPath: repo, supervisor: { status: 'PENDING' } });

    const list = await makima(user, 'contract', 'list');
    expect(contract.shortName).toBe('search');
    expect(list.stdout).toMatch(/^search\s+search\s+RESEARCH\s+\/\S+/m);
    const advanced = await makima(user, 'contract', 'advance', contract.id, 'plan');
    expect(advanced.stdout).toBe('contract search (search) is now in phase PLAN\n');
    const shown = await makima(user, 'contract', 'show', 'search');
    expect(shown.stdout).toContain(`search search · PLAN · ${contract.id}`);
    expect(shown.stdout).toMatch(/^1\s+search supervisor\S*( \S+)?\s+PENDING/m);

    const wrongPhase = await makima(user, 'contract', 'advance', contract.id, 'lunch');
    expect(wrongPhase.code).toBe(2);
    expect(wrongPhase.stderr).toMatch(/value 'lunch' is invalid for argument 'phase'\. expected one of RESEARCH, SPECIFY/);
  });
});

describe('makima task create|list|show and the fleet view', () => {
  it('creates a task, and shows the fleet with the worker and lease of each running task', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    const created = await makima(user, 'task', 'create', f.contractId, '--name', 'second', '--prompt', 'do more', '--continue-from', f.taskId, '--json');
    expect(created.code).toBe(0);
    const second = created.json().task;
    expect(second).toMatchObject({ name: 'second', status: 'PENDING', continuedFrom: { id: f.taskId } });

    const held = await claim(user, 'fleet-w1', { leaseSeconds: 300 }); // the supervisor, oldest pending
    const running = { ...(await runMakima(['tasks', '--status', 'running'], { ...env(user), COLUMNS: '80' })) };
    expect(running.code).toBe(0);
    const rows = running.stdout.trim().split('\n');
    expect(rows).toHaveLength(2);
    // The table fits COLUMNS=80: the task column is cut to make room.
    expect(rows[1]).toMatch(/^1\s+c supervisor \(\S*…\s+c\s+RUNNING\s+fleet-w1\s+(29\d|300)s left\s/);
    expect(Math.max(...rows.map((r) => r.length))).toBeLessThanOrEqual(80);

    const pending = (await makima(user, 'task', 'list', '--status', 'pending,failed', '--contract', f.contractId, '--json')).json();
    expect(pending.tasks.map((t: { id: string }) => t.id)).toEqual([second.id, f.taskId]);
    const byWorker = (await makima(user, 'tasks', '--worker', 'fleet-w1', '--json')).json();
    expect(byWorker.tasks).toEqual([expect.objectContaining({ id: held!.task.id, workerId: 'fleet-w1', leaseExpiresAt: held!.leaseExpiresAt })]);

    const shown = await makima(user, 'task', 'show', held!.task.id);
    expect(shown.stdout).toMatch(/worker {5}fleet-w1, lease \d+s left/);
    const bad = await makima(user, 'tasks', '--status', 'sleeping');
    expect(bad.code).toBe(2);
  });
});

describe('makima task diff', () => {
  it('diffs the latest checkpoint, one checkpoint, or two (numbers with or without #)', async () => {
    const user = await t.createUser();
    const f = await taskWithWork(user);
    const latest = await makima(user, 'task', 'diff', f.taskId);
    expect(latest.code).toBe(0);
    expect(latest.stdout).toContain('checkpoint #2');
    expect(latest.stdout).toContain('-export const search = 1;\n+export const search = 2;');
    const first = await makima(user, 'task', 'diff', f.taskId, '1', '--stat');
    expect(first.stdout).toMatch(/against the base commit \w{10}\n added +src\/search\.ts {2}\+1 -0\n$/);
    const range = (await makima(user, 'task', 'diff', f.taskId, '#1', '2', '--json')).json();
    expect(range).toMatchObject({ checkpoint: { number: 2 }, against: { number: 1 }, files: [{ path: 'src/search.ts', status: 'MODIFIED', additions: 1, deletions: 1 }] });
    const missing = await makima(user, 'task', 'diff', f.taskId, '7');
    expect(missing.code).toBe(3);
  });
});

describe('makima task events', () => {
  it('prints the events so far, then follows new ones live', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    await recordTaskEvents(user, f.taskId, [{ type: 'OUTPUT', data: 'compiling' }, { type: 'ERROR', data: { message: 'lint failed' } }]);
    const listed = await makima(user, 'task', 'events', f.taskId, '--type', 'error');
    expect(listed.stdout).toMatch(/^\S+Z\s+#2 error\s+\{"message":"lint failed"\}\n$/);

    const follower = spawnMakima(['task', 'events', f.taskId, '--follow', '--json'], env(user));
    try {
      await follower.waitFor(/"seq":2/);
      await follower.waitFor(/following live events/);
      await recordTaskEvents(user, f.taskId, [{ type: 'OUTPUT', data: 'tests pass' }]);
      await follower.waitFor(/"seq":3,"cursor":"[^"]+","type":"OUTPUT","data":"tests pass"/);
    } finally {
      expect(await follower.stop('SIGINT')).toBe(0);
    }
  });
});

describe('makima snapshots', () => {
  it("lists a task's snapshots with the checkpoint each was taken with", async () => {
    const user = await t.createUser();
    const f = await taskWithWork(user);
    await snapshot(user, f.taskId, { note: 'by hand' });
    const result = (await makima(user, 'snapshots', f.taskId, '--json')).json();
    expect(result.snapshots.map((s: { snapshotType: string; messageCount: number; checkpoint: { number: number } | null }) => [s.snapshotType, s.messageCount, s.checkpoint?.number ?? null])).toEqual([
      ['CHECKPOINT', 1, 1],
      ['CHECKPOINT', 2, 2],
      ['MANUAL', 2, null],
    ]);
    const table = await makima(user, 'task', 'snapshots', f.taskId);
    // The ID column is never cut (the hint below the table asks for one); the metadata may be.
    expect(table.stdout).toMatch(/^Q29udmVyc2F0aW9uU25hcHNob3Q6[A-Za-z0-9+/=]+\s+man\S*\s+2\s/m);
  });
});

describe('makima task history', () => {
  it('shows status changes, checkpoints and rewinds among the messages, with global IDs only', async () => {
    const user = await t.createUser();
    const f = await taskWithWork(user);
    await user.ok(RewindTask, { input: { taskId: f.taskId, checkpointId: f.checkpoints[0].id, mode: 'BOTH' } });
    const result = await makima(user, 'task', 'history', f.taskId);
    expect(result.code).toBe(0);
    const kinds = result.stdout.trim().split('\n').slice(1).map((l) => l.split(/\s+/)[1]);
    // The conversation is the rewound one (its second message is off the head's path now); the
    // third checkpoint is the backup the rewind made.
    expect(kinds).toEqual(['task/created', 'user', 'checkpoint/created', 'checkpoint/created', 'checkpoint/created', 'chat/rewound', 'checkpoint/rewound']);
    expect(result.stdout).not.toMatch(RAW_UUID);
    const json = await makima(user, 'task', 'history', f.taskId, '--json');
    expect(json.stdout).not.toMatch(RAW_UUID);
    const rewound = json.json().entries.find((e: { eventSubtype?: string }) => e.eventSubtype === 'rewound');
    expect(rewound.data.checkpointId).toBe(f.checkpoints[0].id);
  });

  it('shows a status change and completion, and the timeline takes --since 2h and refuses --since yesterday', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    const held = await claim(user, 'w-history');
    await user.ok(CompleteTask, { input: { taskId: held!.task.id, workerId: 'w-history' } });
    const history = await makima(user, 'task-history', held!.task.id);
    expect(history.stdout).toMatch(/task\/status_changed PENDING → RUNNING {2}\{"reason":"NEW","workerId":"w-history"/);
    expect(history.stdout).toMatch(/task\/completed RUNNING → COMPLETED/);

    const recent = (await makima(user, 'timeline', '--contract', f.contractId, '--since', '2h', '--json')).stdout.trim().split('\n');
    expect(recent.length).toBeGreaterThanOrEqual(4);
    expect(recent.join('\n')).not.toMatch(RAW_UUID);
    const none = await makima(user, 'timeline', '--contract', f.contractId, '--until', '3d', '--json');
    expect(none).toMatchObject({ code: 0, stdout: '' });
    const wrong = await makima(user, 'timeline', '--since', 'yesterday');
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/how long ago: 90s, 30m, 2h, 3d, 1w/);
  });
});

describe('failures', () => {
  it('exit 3 for what is not found, with the error as JSON on stderr under --json', async () => {
    const user = await t.createUser();
    const result = await makima(user, 'task', 'show', '4e0b4d9a-2a50-4b5c-9a0e-8d1c2a7b9f10', '--json');
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    const { error } = JSON.parse(result.stderr);
    expect(error).toMatchObject({ kind: 'NOT_FOUND', exitCode: 3, errors: [{ code: 'NOT_FOUND' }] });
    expect(error.message).not.toMatch(RAW_UUID);
  });

  it('exit 4 for a conflict, naming CLI commands and global IDs rather than mutations and UUIDs', async () => {
    const user = await t.createUser();
    await taskOnRepo(t, user);
    const held = await claim(user, 'w-conflict');
    await user.ok(CompleteTask, { input: { taskId: held!.task.id, workerId: 'w-conflict' } });
    const result = await makima(user, 'task', 'resume', held!.task.id);
    expect(result.code).toBe(4);
    expect(result.stderr).toContain(`CONFLICT: task ${held!.task.id} is COMPLETED; a finished task cannot be resumed. Fork it (\`makima task fork\`)`);
    expect(result.stderr).toContain('`makima task create --continue-from <task>`');
    expect(result.stderr).not.toMatch(RAW_UUID);
  });

  it('exit 2 for a usage error, 5 for an unreachable server, 6 for a refused token; JSON under --json', async () => {
    const user = await t.createUser();
    const usage = await runMakima(['task', 'frobnicate', '--json'], env(user));
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.stderr)).toEqual({ error: { kind: 'USAGE', exitCode: 2, message: "unknown command 'frobnicate'" } });
    const unreachable = await runMakima(['tasks', '--json'], { MAKIMA_URL: 'http://127.0.0.1:1/graphql', MAKIMA_TOKEN: user.token });
    expect(unreachable.code).toBe(5);
    expect(JSON.parse(unreachable.stderr).error.kind).toBe('UNREACHABLE');
    const refused = await runMakima(['contract', 'list', '--json'], { MAKIMA_URL: t.url, MAKIMA_TOKEN: 'mk_nope' });
    expect(refused.code).toBe(6);
    expect(JSON.parse(refused.stderr).error.errors[0].code).toBe('UNAUTHENTICATED');
  });
});

describe('makima worker', () => {
  it("streams its agent's output with the time of each line", async () => {
    const user = await t.createUser();
    await taskOnRepo(t, user);
    const agent = `echo 'building the index'; echo '{"makima":"tool_call","tool":"grep"}'; echo '{"makima":"done"}'`;
    const result = await runMakima(['worker', '--command', agent, '--once', '--worker-id', 'w-stream'], env(user));
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/\n {2}\d\d:\d\d:\d\d\.\d{3} │ building the index\n {2}\d\d:\d\d:\d\d\.\d{3} │ tool_call \{"tool":"grep"\}\n/);
    const json = await runMakima(['worker', '--command', 'echo hello', '--once', '--worker-id', 'w-stream', '--json'], env(user));
    const output = json.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((e) => e.event === 'output');
    expect(output).toMatchObject({ type: 'OUTPUT', data: 'hello', at: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/) });
  });
});
