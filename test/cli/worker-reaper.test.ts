// The reference worker's agents never outlive it, and never run beside each other (Linux), with real
// processes: a worker killed with SIGKILL has its agent's process group stopped by the reaper — also
// an agent that ignores SIGTERM, and the processes it started; an agent left running when worker and
// reaper both died is stopped by the next run in that worktree before the resumed task's agent
// starts; a record naming a process group that is not the recorded agent is left alone; a worker
// starting stops the groups a dead worker recorded in the state directory, and only those.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { simpleGit } from 'simple-git';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, tempDir, type TestServer, type TestUser } from '../harness.js';
import { interruptedEvent, ResumeTask, TaskState } from '../fixtures.js';
import { runMakima, spawnMakima, type Spawned } from './run.js';

const AGENT = fileURLToPath(new URL('../fixtures/agent.mjs', import.meta.url));
const NO_LEFTOVER = fileURLToPath(new URL('../fixtures/agent-no-leftover.mjs', import.meta.url));
const HANG = `'${process.execPath}' '${AGENT}'`;
/** An agent that ignores SIGTERM, as do the two processes it starts. */
const STUBBORN = `trap '' TERM; echo '{"makima":"message","role":"assistant","content":"stubborn"}'; sleep 300 & sleep 300 & wait`;

let t: TestServer;
let dir: string;
const workers: Spawned[] = [];
const groups: number[] = [];
beforeAll(async () => {
  t = await startTestServer({ MAKIMA_LEASE_SWEEP_MS: '100' });
  dir = tempDir();
});
afterAll(async () => {
  for (const w of workers) await w.stop('SIGKILL');
  for (const pgid of groups) signalGroup(pgid, 'SIGKILL');
  await t?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

function stat(pid: number): { state: string; pgrp: number } | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], pgrp: Number(fields[2]) };
  } catch {
    return undefined;
  }
}

/** Whether the process runs (a zombie waiting for its parent to reap it does not). */
function running(pid: number): boolean {
  const s = stat(pid);
  return s !== undefined && s.state !== 'Z';
}

/** The running processes of a process group. */
function members(pgid: number): number[] {
  return fs
    .readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => stat(pid)?.pgrp === pgid && running(pid));
}

/**
 * Resolves when the worker's stdout and stderr have closed: the worker has exited and so has its
 * reaper, which holds the worker's stderr (inherited) until it exits. This is the event to wait on
 * for the reaper to be done, rather than polling for the agent to disappear.
 */
function closed(worker: Spawned, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the worker's output did not close within ${timeoutMs} ms; output:\n${worker.output()}`)), timeoutMs);
    worker.child.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * A worker with a lease of `leaseSeconds`: short (2 s) where a test waits for the lease to lapse, long
 * where it must not (a late renewal on a loaded machine would interrupt the task under the test).
 */
function startWorker(user: TestUser, command: string, workerId: string, env: Record<string, string> = {}, leaseSeconds = 2): Spawned {
  const worker = spawnMakima(['worker', '--command', command, '--worker-id', workerId, '--lease-seconds', String(leaseSeconds), '--json'], {
    MAKIMA_URL: t.url,
    MAKIMA_TOKEN: user.token,
    AGENT_MODE: 'hang',
    AGENT_CONTEXT_FILE: path.join(dir, `${workerId}-context.json`),
    ...env,
  });
  workers.push(worker);
  return worker;
}

async function agentStarted(worker: Spawned): Promise<{ pid: number; reaperPid: number }> {
  const [line] = await worker.waitFor(/^\{"event":"agent_started".*\}$/m, 60_000);
  const { pid, reaperPid } = JSON.parse(line) as { pid: number; reaperPid: number };
  groups.push(pid);
  expect(reaperPid).toBeGreaterThan(0);
  return { pid, reaperPid };
}

async function newContract(user: TestUser): Promise<{ supervisorId: string; worktreePath: string }> {
  const data = await user.ok(`mutation($r: String!) { createContract(input: { name: "c", repositoryPath: $r }) { contract { supervisor { id worktreePath } } } }`, {
    r: await t.makeRepo(),
  });
  const { id, worktreePath } = data.createContract.contract.supervisor;
  return { supervisorId: id, worktreePath };
}

/** Where the worker records a worktree's agent: the worktree's own git dir, as git itself says. */
async function recordFile(worktreePath: string): Promise<string> {
  return path.join(await simpleGit(worktreePath).revparse(['--absolute-git-dir']), 'makima-agent.json');
}

describe.runIf(process.platform === 'linux')('the reaper: an agent does not outlive its worker', () => {
  it("stops the agent's process group when the worker is killed with SIGKILL, and removes the record", async () => {
    const user = await t.createUser();
    const { supervisorId, worktreePath } = await newContract(user);
    const worker = startWorker(user, HANG, 'w1', {}, 600);
    const { pid } = await agentStarted(worker);
    await worker.waitFor(/"event":"message"/); // the agent runs, and hangs
    const record = await recordFile(worktreePath);
    expect(JSON.parse(fs.readFileSync(record, 'utf8'))).toMatchObject({ pgid: pid, taskId: supervisorId, workerId: 'w1', workerPid: worker.child.pid });
    expect(running(pid)).toBe(true);

    const done = closed(worker, 20_000);
    worker.child.kill('SIGKILL');
    await done;
    expect(running(pid)).toBe(false);
    expect(members(pid)).toEqual([]);
    expect(worker.output()).toContain(`makima worker: worker w1 (pid ${worker.child.pid}) is gone; stopped the agent of task ${supervisorId} (process group ${pid})\n`);
    expect(fs.existsSync(record)).toBe(false);
  });

  it('kills an agent that ignores SIGTERM after the grace, with every process it started', async () => {
    const user = await t.createUser();
    await newContract(user);
    const worker = startWorker(user, STUBBORN, 'w1', {}, 600);
    const { pid } = await agentStarted(worker);
    await worker.waitFor(/"event":"message"/);
    // The shell and its two sleeps, all in the agent's group.
    const group = await waitForMembers(pid, 3);

    const done = closed(worker, 30_000);
    const killedAt = Date.now();
    worker.child.kill('SIGKILL');
    await done;
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(4500); // SIGTERM was ignored: SIGKILL after the 5 s grace
    for (const member of group) expect(running(member)).toBe(false);
    expect(members(pid)).toEqual([]);
    expect(worker.output()).toMatch(/is gone; stopped the agent of task \S+ \(process group \d+\)\n/);
  });
});

describe.runIf(process.platform === 'linux')('a resumed task never runs beside a leftover agent', () => {
  it('stops an agent left by a worker whose reaper died too, before the next agent starts in that worktree', async () => {
    const user = await t.createUser();
    const { supervisorId, worktreePath } = await newContract(user);
    const first = startWorker(user, HANG, 'w1');
    const { pid, reaperPid } = await agentStarted(first);
    await first.waitFor(/"event":"message"/);
    // Both gone without a word (the machine's OOM killer, say): nothing stops the agent now.
    process.kill(reaperPid, 'SIGKILL');
    const gone = closed(first, 20_000);
    first.child.kill('SIGKILL');
    await gone;
    expect(running(pid)).toBe(true);

    await interruptedEvent(t, user, supervisorId);
    await user.ok(ResumeTask, { input: { taskId: supervisorId } });
    // The next agent fails the task if the old one still runs when it starts.
    const second = await runMakima(['worker', '--command', `'${process.execPath}' '${NO_LEFTOVER}'`, '--once', '--worker-id', 'w2', '--json'], {
      MAKIMA_URL: t.url,
      MAKIMA_TOKEN: user.token,
      LEFTOVER_PIDS: String(pid),
    });
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    // Without the lines that stream the agent's output, which come as the agent prints them.
    const events = second.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.event !== 'output');
    expect(events.map((e) => e.event)).toEqual(['started', 'claimed', 'leftover_stopped', 'agent_started', 'completed', 'stopped']);
    expect(events[2]).toEqual({ event: 'leftover_stopped', taskId: supervisorId, pgid: pid, leftoverTaskId: supervisorId, leftoverWorkerId: 'w1' });
    expect(running(pid)).toBe(false);
    expect((await user.ok(TaskState, { id: supervisorId })).task!.status).toBe('COMPLETED');
    expect(fs.existsSync(await recordFile(worktreePath))).toBe(false); // the run ended: its own record is gone too
  });

  it('leaves alone a process group that is not the recorded agent (its number reused by another program)', async () => {
    const user = await t.createUser();
    const { supervisorId, worktreePath } = await newContract(user);
    // Another program, leading its own process group, whose number a stale record names.
    const stranger = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
    groups.push(stranger.pid!);
    const record = await recordFile(worktreePath);
    const bootId = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    fs.writeFileSync(record, JSON.stringify({ pgid: stranger.pid, startTime: '1', bootId, taskId: supervisorId, workerId: 'w0', workerPid: 1 }));

    const run = await runMakima(['worker', '--command', `'${process.execPath}' '${NO_LEFTOVER}'`, '--once', '--worker-id', 'w2', '--json'], {
      MAKIMA_URL: t.url,
      MAKIMA_TOKEN: user.token,
    });
    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain('leftover_stopped');
    expect(running(stranger.pid!)).toBe(true);
    expect(fs.existsSync(record)).toBe(false); // the stale record is gone
  });
});

describe.runIf(process.platform === 'linux')('a worker starting stops what dead workers left', () => {
  /** /proc/<pid>/stat's start time, as the worker records it. */
  const startTime = (pid: number) => {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ')[19];
  };
  const bootId = () => fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  const sleeper = () => {
    const child = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
    groups.push(child.pid!);
    return child.pid!;
  };
  const group = (pgid: number, start: string) => ({ pgid, startTime: start, bootId: bootId(), taskId: 'T', workerId: 'w-gone', workerPid: process.pid });

  it('stops a dead worker\'s recorded groups, never a group whose leader is another process, nor a live worker\'s', async () => {
    const user = await t.createUser();
    const stateDir = path.join(dir, 'state-strangers');
    fs.mkdirSync(stateDir, { recursive: true });
    const left = sleeper(); // what the dead worker started, as recorded
    const stranger = sleeper(); // a program whose pid a stale entry names, with another start time
    const busy = sleeper(); // what a live worker started
    // A worker that is gone: its pid (this test's) now belongs to a process with another start time.
    const dead = `worker-${process.pid}-1.json`;
    fs.writeFileSync(path.join(stateDir, dead), JSON.stringify({ workerId: 'w-gone', workerPid: process.pid, startTime: '1', bootId: bootId(), groups: [group(left, startTime(left)), group(stranger, '1')] }));
    // A worker that runs (this test process, rightly identified).
    const live = `worker-${process.pid}-${startTime(process.pid)}.json`;
    fs.writeFileSync(path.join(stateDir, live), JSON.stringify({ workerId: 'w-live', workerPid: process.pid, startTime: startTime(process.pid), bootId: bootId(), groups: [group(busy, startTime(busy))] }));

    const worker = startWorker(user, HANG, 'w-next', { MAKIMA_WORKER_STATE_DIR: stateDir });
    await worker.waitFor(/"event":"started"/);
    const stopped = worker.output().split('\n').filter((l) => l.includes('"leftover_stopped"')).map((l) => JSON.parse(l));
    expect(stopped).toEqual([{ event: 'leftover_stopped', pgid: left, leftoverTaskId: 'T', leftoverWorkerId: 'w-gone' }]);
    expect(running(left)).toBe(false);
    expect(running(stranger)).toBe(true);
    expect(running(busy)).toBe(true);
    const files = fs.readdirSync(stateDir).filter((f) => f.endsWith('.json'));
    expect(files).not.toContain(dead);
    expect(files).toContain(live);
    expect(await worker.stop('SIGTERM')).toBe(0);
  });
});

/** Waits until the agent's group has `count` running processes (the agent starts them itself). */
async function waitForMembers(pgid: number, count: number): Promise<number[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const found = members(pgid);
    if (found.length >= count) return found;
    if (Date.now() > deadline) throw new Error(`process group ${pgid} has ${found.length} processes, not ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
