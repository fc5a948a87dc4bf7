// `makima worker --workdir DIR`: a worker on another machine. Each worker process gets only the
// server's URL and a token — never its data directory or repositories root — and a temp directory
// of its own; the code travels over git (the contract's gitUrl). A scripted agent
// (test/fixtures/agent-remote.mjs) waits for its acks. Faults are real kill -9s of the worker at a
// point a proxy between it and the server holds it: mid-fetch, mid-push, and between the push and
// createCheckpoint.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../../src/generated/gql/index.js';
import { rawId, startTestServer, tempDir, type TestServer, type TestUser } from '../harness.js';
import { createContract, ForkTask, ResumeTask, RewindTask, taskEvent } from '../fixtures.js';
import { git } from '../git-client.js';
import { runMakima, spawnMakima, type Spawned } from './run.js';

const AGENT = fileURLToPath(new URL('../fixtures/agent-remote.mjs', import.meta.url));
const COMMAND = `'${process.execPath}' '${AGENT}'`;

let t: TestServer;
const dirs: string[] = [];
const workers: Spawned[] = [];
beforeAll(async () => {
  t = await startTestServer({ MAKIMA_LEASE_SWEEP_MS: '100' });
});
afterAll(async () => {
  for (const w of workers) await w.stop('SIGKILL');
  await t?.stop();
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function workdir(): string {
  const dir = tempDir('makima-remote-worker-');
  dirs.push(dir);
  return dir;
}

function args(dir: string, workerId: string, extra: string[] = []): string[] {
  return ['worker', '--command', COMMAND, '--workdir', dir, '--worker-id', workerId, '--json', ...extra];
}

function env(user: TestUser, mode: string, url = t.url): Record<string, string> {
  return { MAKIMA_URL: url, MAKIMA_TOKEN: user.token, AGENT_MODE: mode };
}

/** The fault tests' lease: short, so that a killed worker's lapses soon (renewed every 3 s while it lives). */
const FAULT_LEASE_SECONDS = 6;

function startWorker(dir: string, user: TestUser, mode: string, { leaseSeconds = 30, url }: { leaseSeconds?: number; url?: string } = {}): Spawned {
  const worker = spawnMakima(args(dir, `w-${path.basename(dir)}`, ['--lease-seconds', String(leaseSeconds)]), env(user, mode, url));
  workers.push(worker);
  return worker;
}

/** A `list` run: the files the agent found and what its context said. */
async function listRun(dir: string, user: TestUser) {
  const result = await runMakima(args(dir, `list-${path.basename(dir)}`, ['--once']), env(user, 'list'));
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const message = result.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line)).find((e) => e.event === 'output' && e.type === 'OUTPUT');
  expect(message).toBeUndefined();
  return result;
}

const Recorded = graphql(`
  query RemoteTask($id: ID!) {
    task(id: $id) {
      status headCommit branch
      conversation(first: 20) { edges { node { content } } }
      checkpoints(first: 20) { edges { node { id number commitSha message isBackup filesChanged { path status } } } }
    }
  }
`);

async function recorded(user: TestUser, taskId: string) {
  const task = (await user.ok(Recorded, { id: taskId })).task!;
  return { ...task, messages: task.conversation.edges.map((e) => e.node.content), checkpoints: task.checkpoints.edges.map((e) => e.node) };
}

/** The files the `list` agent saw (its last message). */
async function listed(user: TestUser, taskId: string) {
  const { messages } = await recorded(user, taskId);
  return messages[messages.length - 1] as { files: Record<string, string>; cwd: string; worktreePath: string; commitSha: string };
}

/**
 * The contract's refs as a git client sees them over gitUrl, with the user's token. Asynchronous:
 * the server runs in this process, and a synchronous git would wait for it forever.
 */
async function remoteRefs(gitUrl: string, token: string): Promise<Record<string, string>> {
  const out = await git(process.cwd(), ['ls-remote', gitUrl], { token });
  return Object.fromEntries(out.split('\n').filter(Boolean).map((line) => line.split('\t').reverse()));
}

const ContractGitUrl = graphql(`
  query RemoteContractGitUrl($id: ID!) { contract(id: $id) { gitUrl } }
`);

/**
 * A proxy between a worker and the server that forwards everything but holds the first request
 * `matches` picks (it is never forwarded): the worker is then stopped at that point, for a kill.
 * `close` also ends the held connection: a killed worker's git outlives it (a SIGKILL reaches only
 * the worker's own process) and would wait on that connection for as long as it stays open.
 */
async function holdingProxy(what: string, matches: (req: http.IncomingMessage, body: string) => boolean) {
  const target = new URL(t.url);
  let resolveHeld!: (body: string) => void;
  const heldBody = new Promise<string>((resolve) => (resolveHeld = resolve));
  let holding = false;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      // git compresses larger request bodies; the match reads them as sent before compression.
      const plain = req.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(body) : body;
      if (!holding && matches(req, plain.toString('latin1'))) {
        holding = true;
        resolveHeld(plain.toString('utf8'));
        return;
      }
      const forward = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent: false }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      forward.on('error', () => res.destroy());
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${target.pathname}`;
  return {
    url,
    /** The held request's body, once `worker` has sent it; fails if the worker exits first or it takes too long. */
    held(worker: Spawned, timeoutMs = 30_000): Promise<string> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the proxy held no ${what} within ${timeoutMs} ms; the worker said:\n${worker.output()}`)), timeoutMs);
        const exited = () => reject(new Error(`the worker exited before the proxy held ${what}; it said:\n${worker.output()}`));
        if (worker.child.exitCode !== null || worker.child.signalCode !== null) exited();
        worker.child.once('exit', exited);
        void heldBody.then((body) => {
          clearTimeout(timer);
          worker.child.off('exit', exited);
          resolve(body);
        });
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function newContract(user: TestUser) {
  const contract = await createContract(user, await t.makeRepo({ 'README.md': '# remote\n' }));
  return { contractId: contract.id, taskId: contract.supervisor.id, gitUrl: (await user.ok(ContractGitUrl, { id: contract.id })).contract!.gitUrl };
}

/** Kills the worker (its reaper stops the agent), waits for its lease to lapse, and resumes the task. */
async function killAndResume(worker: Spawned, user: TestUser, taskId: string, leaseSeconds = 30): Promise<void> {
  await worker.stop('SIGKILL');
  await taskEvent(t, user, taskId, 'interrupted', leaseSeconds * 1000 + 15_000);
  await user.ok(ResumeTask, { input: { taskId } });
}

describe('makima worker --workdir', () => {
  it('claim → acknowledged checkpoints → kill -9 → resume elsewhere → rewind → fork, the code only over git', { timeout: 240_000 }, async () => {
    const user = await t.createUser();
    const { taskId } = await newContract(user);
    const first = workdir();
    const worker = startWorker(first, user, 'write');
    await worker.waitFor(/"data":"left c.txt"/);
    const { checkpoints } = await recorded(user, taskId);
    expect(checkpoints.map((c) => [c.number, c.message, c.isBackup, c.filesChanged])).toEqual([
      [1, 'write a', false, [{ path: 'a.txt', status: 'ADDED' }]],
      [2, 'write b', false, [{ path: 'b.txt', status: 'ADDED' }]],
    ]);
    expect(worker.output()).toContain(`"event":"checked_out"`);
    expect(fs.readFileSync(path.join(first, 'tasks', rawId(taskId), 'c.txt'), 'utf8')).toBe('c\n');
    await killAndResume(worker, user, taskId);

    // Another machine: a new directory, the code from the last recorded checkpoint.
    const second = workdir();
    await listRun(second, user);
    const resumed = await listed(user, taskId);
    expect(resumed.files).toEqual({ 'README.md': '# remote\n', 'a.txt': 'a\n', 'b.txt': 'b\n' });
    expect(resumed).toMatchObject({ cwd: path.join(second, 'tasks', rawId(taskId)), worktreePath: path.join(second, 'tasks', rawId(taskId)), commitSha: checkpoints[1].commitSha });
    expect((await recorded(user, taskId)).status).toBe('COMPLETED');

    // Rewind the finished task to #1 (on the server, from refs), then fork at #2: the first
    // machine's directory is reused for the fork (its objects are there already).
    const rewound = await user.ok(RewindTask, { input: { taskId, checkpointId: checkpoints[0].id } });
    expect(rewound.rewindTask.task.headCommit).toBe(checkpoints[0].commitSha);
    const fork = (await user.ok(ForkTask, { input: { taskId, checkpointId: checkpoints[1].id } })).forkTask.task;
    await listRun(first, user);
    const forked = await listed(user, fork.id);
    expect(forked.files).toEqual({ 'README.md': '# remote\n', 'a.txt': 'a\n', 'b.txt': 'b\n' });
    expect(forked).toMatchObject({ cwd: path.join(first, 'tasks', rawId(fork.id)), commitSha: checkpoints[1].commitSha });
  });

  it('refuses a directory that is not empty and not a workdir, or cannot be one, in one line (exit 2)', async () => {
    const user = await t.createUser();
    const full = workdir();
    fs.writeFileSync(path.join(full, 'notes.txt'), 'mine\n');
    const file = path.join(workdir(), 'a-file');
    fs.writeFileSync(file, '');
    const cases: [string, string][] = [
      [full, `${full} is not empty and not a makima workdir (it has no .makima-workdir): give a new or empty directory`],
      [file, `${file} is not a directory`],
      [path.join(file, 'below'), `cannot create ${path.join(file, 'below')}: ENOTDIR`],
    ];
    for (const [dir, reason] of cases) {
      const result = await runMakima(['worker', '--command', 'true', '--workdir', dir], { MAKIMA_URL: t.url, MAKIMA_TOKEN: user.token });
      expect(result).toEqual({ code: 2, stdout: '', stderr: `makima: --workdir: ${reason}\n` });
    }
    expect(fs.readdirSync(full)).toEqual(['notes.txt']);
  });
});

describe('makima worker --workdir: faults', { timeout: 60_000 }, () => {
  it('killed between the push and createCheckpoint: nothing recorded, the pushed commit kept, the next claimant starts from the last recorded', async () => {
    const user = await t.createUser();
    const { taskId, gitUrl } = await newContract(user);
    const before = (await recorded(user, taskId)).headCommit!;
    const proxy = await holdingProxy('createCheckpoint', (req, body) => req.url?.endsWith('/graphql') === true && body.includes('createCheckpoint'));
    try {
      const worker = startWorker(workdir(), user, 'one', { leaseSeconds: FAULT_LEASE_SECONDS, url: proxy.url });
      const pushed: string = JSON.parse(await proxy.held(worker)).variables.input.commitSha;
      await killAndResume(worker, user, taskId, FAULT_LEASE_SECONDS);
      expect((await recorded(user, taskId)).checkpoints).toEqual([]);
      expect((await remoteRefs(gitUrl, user.token))[`refs/makima/tasks/${rawId(taskId)}/pending/${pushed}`]).toBe(pushed);

      await listRun(workdir(), user);
      const next = await listed(user, taskId);
      expect(next.commitSha).toBe(before);
      expect(Object.keys(next.files)).toEqual(['README.md']);
    } finally {
      await proxy.close();
    }
  });

  it('killed mid-push: nothing recorded, nothing half-arrived, the next claimant starts from the last recorded', async () => {
    const user = await t.createUser();
    const { taskId, gitUrl } = await newContract(user);
    const before = (await recorded(user, taskId)).headCommit!;
    const proxy = await holdingProxy('push', (req) => req.method === 'POST' && req.url?.endsWith('/git-receive-pack') === true);
    try {
      const worker = startWorker(workdir(), user, 'one', { leaseSeconds: FAULT_LEASE_SECONDS, url: proxy.url });
      await proxy.held(worker);
      await killAndResume(worker, user, taskId, FAULT_LEASE_SECONDS);
      expect((await recorded(user, taskId)).checkpoints).toEqual([]);
      expect(Object.keys(await remoteRefs(gitUrl, user.token)).filter((ref) => ref.includes(rawId(taskId)))).toEqual([]);
      await listRun(workdir(), user);
      expect((await listed(user, taskId)).commitSha).toBe(before);
    } finally {
      await proxy.close();
    }
  });

  it('a fetch the server stops answering fails after --git-stall-seconds, with the reason; the worker goes on', async () => {
    const user = await t.createUser();
    const { taskId } = await newContract(user);
    const dir = workdir();
    const proxy = await holdingProxy('fetch', (req, body) => req.method === 'POST' && req.url?.endsWith('/git-upload-pack') === true && body.includes('command=fetch'));
    try {
      const worker = spawnMakima(args(dir, 'stalled', ['--git-stall-seconds', '2', '--once']), env(user, 'one', proxy.url));
      workers.push(worker);
      await proxy.held(worker);
      // The held fetch is never answered: git gives up on its own, the worker says why and lets the task go.
      const failed = worker.waitFor(/could not prepare the workspace of task [^\n]*the server stopped sending[^\n]*--git-stall-seconds/);
      await failed;
      expect(await worker.stop()).not.toBeNull();
      const task = await recorded(user, taskId);
      expect(task.status).not.toBe('RUNNING');
      expect(task.checkpoints).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  it('killed mid-fetch: the same directory serves the next claim', async () => {
    const user = await t.createUser();
    const { taskId } = await newContract(user);
    const before = (await recorded(user, taskId)).headCommit!;
    const dir = workdir();
    // The fetch proper (protocol v2's "command=fetch"), after the refs were listed.
    const proxy = await holdingProxy('fetch', (req, body) => req.method === 'POST' && req.url?.endsWith('/git-upload-pack') === true && body.includes('command=fetch'));
    try {
      const worker = startWorker(dir, user, 'one', { leaseSeconds: FAULT_LEASE_SECONDS, url: proxy.url });
      await proxy.held(worker);
      await killAndResume(worker, user, taskId, FAULT_LEASE_SECONDS);
      await listRun(dir, user);
      const next = await listed(user, taskId);
      expect(next).toMatchObject({ commitSha: before, files: { 'README.md': '# remote\n' } });
    } finally {
      await proxy.close();
    }
  });
});
