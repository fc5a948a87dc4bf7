// The reference worker (`makima worker`) with a scripted agent (test/fixtures/agent.mjs) against a
// real server: a run records messages, tool calls, output and a checkpoint and completes the task;
// a worker killed mid-run leaves an interrupted task that a second run resumes with the full
// context; a failing agent fails the task; Ctrl-C releases the task.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../../src/generated/gql/index.js';
import { eventually, startTestServer, tempDir, type TestServer, type TestUser } from '../harness.js';
import { claim, CompleteTask, createContract, interruptedEvent, ResumeTask, taskOnRepo, TaskState } from '../fixtures.js';
import { runMakima, spawnMakima, type Spawned } from './run.js';

const AGENT = fileURLToPath(new URL('../fixtures/agent.mjs', import.meta.url));
const COMMAND = `'${process.execPath}' '${AGENT}'`;

let t: TestServer;
let dir: string;
const workers: Spawned[] = [];
const agentGroups: number[] = [];
beforeAll(async () => {
  t = await startTestServer({ MAKIMA_LEASE_SWEEP_MS: '100' });
  dir = tempDir();
});
afterAll(async () => {
  for (const w of workers) await w.stop('SIGKILL');
  for (const pid of agentGroups) killGroup(pid);
  await t?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

let runs = 0;
/** The environment of one worker process: the server, the token, the agent's script and where it saves its context. */
function workerEnv(user: TestUser, mode: 'work' | 'hang' | 'fail') {
  const contextFile = path.join(dir, `context-${++runs}.json`);
  return { env: { MAKIMA_URL: t.url, MAKIMA_TOKEN: user.token, AGENT_MODE: mode, AGENT_CONTEXT_FILE: contextFile }, contextFile };
}

function startWorker(args: string[], env: Record<string, string>): Spawned {
  const worker = spawnMakima(['worker', '--command', COMMAND, ...args], env);
  workers.push(worker);
  return worker;
}

async function agentPid(worker: Spawned): Promise<number> {
  const match = await worker.waitFor(/agent started \(pid (\d+)\)|"event":"agent_started","taskId":"[^"]+","pid":(\d+)/);
  const pid = Number(match[1] ?? match[2]);
  agentGroups.push(pid);
  return pid;
}

const Recorded = graphql(`
  query Recorded($id: ID!) {
    task(id: $id) {
      status lastError
      conversation(first: 100) { edges { node { role content toolCalls } } }
      events(first: 100) { edges { node { type data } } }
      checkpoints(first: 10) { edges { node { number message filesChanged { path status } } } }
    }
  }
`);

async function newContract(user: TestUser) {
  const contract = await createContract(user, await t.makeRepo());
  return { contractId: contract.id, supervisor: { id: contract.supervisor.id, worktreePath: contract.supervisor.worktreePath! } };
}

async function recorded(user: TestUser, taskId: string) {
  const task = (await user.ok(Recorded, { id: taskId })).task!;
  return {
    status: task.status,
    lastError: task.lastError ?? null,
    messages: task.conversation.edges.map((e) => e.node),
    events: task.events.edges.map((e) => e.node),
    checkpoints: task.checkpoints.edges.map((e) => e.node),
  };
}

describe('makima worker', () => {
  it('runs the agent on a claimed task: messages, tool calls, output and a checkpoint are recorded, then the task completes', async () => {
    const user = await t.createUser();
    const { supervisor } = await newContract(user);
    const { env, contextFile } = workerEnv(user, 'work');
    const result = await runMakima(['worker', '--command', COMMAND, '--once', '--worker-id', 'w1'], env);
    const refused = `makima worker: line 8 of the agent's output: the message was refused: BAD_USER_INPUT: input.messages[0].content holds a NUL character (\\u0000) in the text, which JSON storage cannot hold: remove it`;
    expect(result.stderr).toBe(`makima worker: line 7 of the agent's output: unknown instruction "dance"\n${refused}\n`);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`claimed c supervisor (${supervisor.id}): NEW, worktree ${supervisor.worktreePath}`);
    expect(result.stdout).toMatch(/ {2}checkpoint #1 \w{10} write notes\n/);
    expect(result.stdout).toContain(`completed c supervisor (${supervisor.id})`);

    const task = await recorded(user, supervisor.id);
    expect(task.status).toBe('COMPLETED');
    expect(task.messages).toEqual([
      { role: 'ASSISTANT', content: { text: 'working on NEW' }, toolCalls: null },
      { role: 'ASSISTANT', content: 'finished', toolCalls: [{ name: 'write' }] },
    ]);
    expect(task.events).toEqual([
      { type: 'OUTPUT', data: 'reading c supervisor' },
      { type: 'TOOL_CALL', data: { tool: 'write', path: 'notes.txt' } },
      { type: 'TOOL_RESULT', data: { ok: true } },
      { type: 'OUTPUT', data: '{"progress":1}' },
      { type: 'ERROR', data: { message: `makima worker: line 7 of the agent's output: unknown instruction "dance"` } },
      { type: 'ERROR', data: { message: refused } },
    ]);
    expect(task.checkpoints).toEqual([{ number: 1, message: 'write notes', filesChanged: [{ path: 'notes.txt', status: 'ADDED' }] }]);
    expect(fs.readFileSync(path.join(supervisor.worktreePath, 'notes.txt'), 'utf8')).toBe('notes after 0 messages\n');

    const context = JSON.parse(fs.readFileSync(contextFile, 'utf8'));
    expect(Object.keys(context).sort()).toEqual(['branch', 'commitSha', 'conversation', 'reason', 'resumeNote', 'task', 'worktreePath']);
    expect(context).toMatchObject({ reason: 'NEW', conversation: [], resumeNote: null, worktreePath: supervisor.worktreePath, task: { id: supervisor.id, name: 'c supervisor' } });
  });

  it('survives being killed: the lease lapses, `makima resume` and a second run receive the full context', async () => {
    const user = await t.createUser();
    const { contractId, supervisor } = await newContract(user);
    const first = startWorker(['--worker-id', 'w1', '--lease-seconds', '2', '--json'], workerEnv(user, 'hang').env);
    const pid = await agentPid(first);
    await first.waitFor(/"event":"message","taskId":"[^"]+","role":"ASSISTANT","index":0/);
    // The worker keeps the lease: it is renewed every second (half the lease).
    await first.waitFor(/"event":"lease_renewed","taskId":"[^"]+","leaseExpiresAt"/);
    await first.stop('SIGKILL');
    killGroup(pid);

    const interrupted = await interruptedEvent(t, user, supervisor.id);
    expect(interrupted.data).toMatchObject({ workerId: 'w1', to: 'INTERRUPTED' });
    expect((await user.ok(TaskState, { id: supervisor.id })).task!.status).toBe('INTERRUPTED');
    const resumed = await runMakima(['resume', contractId], { MAKIMA_URL: t.url, MAKIMA_TOKEN: user.token });
    expect(resumed.code).toBe(0);

    const { env, contextFile } = workerEnv(user, 'work');
    const second = await runMakima(['worker', '--command', COMMAND, '--once', '--worker-id', 'w2'], env);
    expect(second.code).toBe(0);
    const context = JSON.parse(fs.readFileSync(contextFile, 'utf8'));
    expect(context.reason).toBe('RESUME');
    expect(context.resumeNote).toMatch(/^Resumed: the task was INTERRUPTED — the lease of worker w1 lapsed at /);
    expect(context.conversation.map((m: { role: string; content: unknown }) => [m.role, m.content])).toEqual([['ASSISTANT', { text: 'started, then hung' }]]);
    const task = await recorded(user, supervisor.id);
    expect(task.status).toBe('COMPLETED');
    expect(task.messages.map((m) => m.content)).toEqual([{ text: 'started, then hung' }, { text: 'working on RESUME' }, 'finished']);
    expect(task.events[0]).toEqual({ type: 'OUTPUT', data: 'hanging now' });
  });

  it('fails the task with the end of stderr when the agent exits non-zero; `task-resume` gives it to the next run', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    // The supervisor is the oldest pending task: take it out of the way.
    const supervisor = await claim(user, 'setup');
    await user.ok(CompleteTask, { input: { taskId: supervisor!.task.id, workerId: 'setup' } });

    const failed = await runMakima(['worker', '--command', COMMAND, '--once', '--worker-id', 'w1'], workerEnv(user, 'fail').env);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`makima: task ${f.taskId} failed: the agent exited with status 3; the end of its stderr:\n`);
    expect(failed.stderr).not.toMatch(/\n\s+at /);
    const task = await recorded(user, f.taskId);
    expect(task.status).toBe('FAILED');
    expect(task.lastError).toBe('the agent exited with status 3; the end of its stderr:\nsomething went wrong\nboom');
    expect(task.events).toEqual([{ type: 'OUTPUT', data: 'trying' }]);

    const resumed = await runMakima(['task-resume', f.taskId], { MAKIMA_URL: t.url, MAKIMA_TOKEN: user.token });
    expect(resumed.code).toBe(0);
    const { env, contextFile } = workerEnv(user, 'work');
    const second = await runMakima(['worker', '--command', COMMAND, '--once', '--json'], env);
    expect(second.code).toBe(0);
    const lines = second.stdout.trim().split('\n').map((line) => JSON.parse(line));
    // The agent's output is streamed as it comes (one `output` line each); the rest in this order.
    expect(lines.filter((e: { event: string }) => e.event === 'output').length).toBeGreaterThan(0);
    const events = lines.filter((e: { event: string }) => e.event !== 'output');
    expect(events.map((e: { event: string }) => e.event)).toEqual(['started', 'claimed', 'agent_started', 'message', 'checkpoint', 'message', 'completed', 'stopped']);
    expect(events[1]).toMatchObject({ taskId: f.taskId, reason: 'RESUME' });
    expect(JSON.parse(fs.readFileSync(contextFile, 'utf8')).resumeNote).toContain('last error: the agent exited with status 3');
    expect((await recorded(user, f.taskId)).status).toBe('COMPLETED');
  });

  it('releases the task on Ctrl-C: the agent is stopped and the task fails with "worker stopped", ready to resume', async () => {
    const user = await t.createUser();
    const { supervisor } = await newContract(user);
    const worker = startWorker(['--worker-id', 'w1'], workerEnv(user, 'hang').env);
    const pid = await agentPid(worker);
    await worker.waitFor(/message #0 \(assistant\)/);
    expect(await worker.stop('SIGINT')).toBe(0);
    expect(worker.output()).toContain(`released c supervisor (${supervisor.id}): FAILED with "worker stopped"`);
    // Polls, because the agent is the worker's child, not this process's: no exit event of it reaches
    // here, and a process group that is gone can only be seen by signalling it.
    await eventually(async () => !groupAlive(pid), "the agent's processes to end");
    const task = await recorded(user, supervisor.id);
    expect(task).toMatchObject({ status: 'FAILED', lastError: 'worker stopped' });
    expect(task.events).toEqual([{ type: 'OUTPUT', data: 'hanging now' }]);
    const resumed = await user.ok(ResumeTask, { input: { taskId: supervisor.id } });
    expect(resumed.resumeTask.task).toMatchObject({ status: 'PENDING', pendingReason: 'RESUME' });
  });

  it('stops at once on Ctrl-C while it waits for work, and refuses an unreachable server up front', async () => {
    const user = await t.createUser();
    const idle = startWorker(['--worker-id', 'idle'], workerEnv(user, 'work').env);
    await idle.waitFor(/worker idle \(user tester\) is waiting for tasks/);
    expect(await idle.stop('SIGINT')).toBe(0);
    expect(idle.output()).toContain('worker idle stopped');

    const unreachable = await runMakima(['worker', '--command', 'true'], { MAKIMA_URL: 'http://127.0.0.1:1/graphql', MAKIMA_TOKEN: user.token });
    expect(unreachable.code).toBe(5);
    expect(unreachable.stderr).toMatch(/^makima: could not reach http:\/\/127\.0\.0\.1:1\/graphql: /);
  });
});
