// bench:mesh — what a worker on another machine pays for its git, on loopback against a real
// `makima serve` (embedded database, temporary data directory). docs/benchmarks.md, "Workers on
// other machines (bench:mesh)", has the latest figures; docs/mesh.md says what is measured.
//
// 1. Checkpoints: a repository of BENCH_MESH_FILES (10,000) files of BENCH_MESH_FILE_BYTES (3 KB) in
//    nested folders; every round changes BENCH_MESH_CHANGED (100) of them, the same ones in each tree.
//    Rows: a local checkpoint (createCheckpoint on the server's worktree), a remote one (in a workdir
//    made as `makima worker --workdir` makes it, with its functions from src/git/clone.ts: commit,
//    push, createCheckpoint(commitSha)); floor, a plain `git add` + `git commit` in a clone; peer, a
//    plain `git push` of that commit to a bare repository behind `git http-backend` and a minimal
//    Node http server (bare-server.ts). Goal: remote under 2× local.
// 2. Claims: a repository of BENCH_MESH_CLAIM_MB (100) MB of random bytes in BENCH_MESH_CLAIM_FILES
//    (300) files, two commits, packed. Rows: a remote worker's first claim of the contract (claimTask
//    + fetch and checkout into an empty workdir) and its second claim of another task of the same
//    contract in the same workdir; floors, `git clone --no-local` of the repository, and `git fetch`
//    with nothing new beside `git worktree add` (the second claim's own checkout of the whole tree).
//    Goal: second claim under 1 s.
// Every row runs once per round (BENCH_MESH_ROUNDS, default 5), interleaved, so background load
// weighs on them alike; the figures are medians and p90s, with the steps of each makima row.
// BENCH_MESH_GIT_TRACE=FILE has the server's git write its trace2 performance log to FILE (through
// a HOME of its own), to see which git step of a claim or a checkpoint takes the time.
// BENCH_MESH_BIN runs another makima server (e.g. an older checkout's bin/makima.js) for
// before/after figures; BENCH_MESH_OUT (default mesh) names bench/results/<name>.json.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkoutTask, commitTask, prepareWorkdir, pushCommit, type Remote } from '../../src/git/index.js';
import { REPO_ROOT } from '../lib/children.js';
import { bytes, describeMachine, machine, median, ms, percentile, printTable, writeResults } from '../lib/report.js';
import { gql, startServe, type Serve } from '../lib/serve.js';
import { startBareServer } from './bare-server.js';
import { blobTree, changedFiles, gitSync, sourceTree, touch } from './repos.js';

const ROUNDS = Number(process.env.BENCH_MESH_ROUNDS ?? 5);
const FILES = Number(process.env.BENCH_MESH_FILES ?? 10_000);
const FILE_BYTES = Number(process.env.BENCH_MESH_FILE_BYTES ?? 3072);
const CHANGED = Number(process.env.BENCH_MESH_CHANGED ?? 100);
const CLAIM_MB = Number(process.env.BENCH_MESH_CLAIM_MB ?? 100);
const CLAIM_FILES = Number(process.env.BENCH_MESH_CLAIM_FILES ?? 300);
const BIN = path.resolve(process.env.BENCH_MESH_BIN ?? path.join(REPO_ROOT, 'bin/makima.js'));
const OUT = process.env.BENCH_MESH_OUT ?? 'mesh';
const GIT_TRACE = process.env.BENCH_MESH_GIT_TRACE;
const LEASE_SECONDS = 3600;

const IDENTITY = ['-c', 'user.name=bench', '-c', 'user.email=bench@example.com'];

/** Samples of one row and of the steps it is made of, in ms. */
class Samples {
  readonly rows = new Map<string, number[]>();
  readonly steps = new Map<string, Map<string, number[]>>();

  add(row: string, total: number, steps: Record<string, number> = {}): void {
    this.rows.set(row, [...(this.rows.get(row) ?? []), total]);
    const mine = this.steps.get(row) ?? new Map<string, number[]>();
    for (const [step, value] of Object.entries(steps)) mine.set(step, [...(mine.get(step) ?? []), value]);
    this.steps.set(row, mine);
  }
}

/** Times the steps of one measurement: `lap(name)` closes the step running since the last lap. */
function stopwatch() {
  const started = performance.now();
  let last = started;
  const steps: Record<string, number> = {};
  return {
    lap(name: string) {
      const now = performance.now();
      steps[name] = (steps[name] ?? 0) + (now - last);
      last = now;
    },
    done: () => ({ total: performance.now() - started, steps }),
  };
}

/** Runs git in `cwd` as a shell would (a process of its own); resolves with its wall time in ms. */
function timedGit(cwd: string, ...args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('git', [...IDENTITY, ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`git ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

/** The UUID inside an API global ID (the workdir names contracts and tasks by it, as the worker does). */
function uuidOf(globalId: string): string {
  return Buffer.from(globalId, 'base64').toString('utf8').split(':')[1];
}

interface Assignment {
  task: { id: string; contract: { id: string } };
  gitUrl: string;
  branch: string;
  commitSha: string;
  worktreePath: string;
}

const CreateContract = `mutation($input: CreateContractInput!) { createContract(input: $input) { contract { id } } }`;
const CreateTask = `mutation($input: CreateTaskInput!) { createTask(input: $input) { task { id } } }`;
const ClaimTask = `mutation($input: ClaimTaskInput!) { claimTask(input: $input) { assignment { task { id contract { id } } gitUrl branch commitSha worktreePath } } }`;
const CompleteTask = `mutation($input: CompleteTaskInput!) { completeTask(input: $input) { task { id } } }`;
const CreateCheckpoint = `mutation($input: CreateCheckpointInput!) { createCheckpoint(input: $input) { checkpoint { id commitSha } } }`;

async function contract(server: Serve, name: string, repositoryPath: string): Promise<string> {
  const data = await gql<{ createContract: { contract: { id: string } } }>(server, CreateContract, { input: { name, repositoryPath } });
  return data.createContract.contract.id;
}

async function task(server: Serve, contractId: string, name: string): Promise<string> {
  const data = await gql<{ createTask: { task: { id: string } } }>(server, CreateTask, { input: { contractId, name, prompt: 'bench:mesh' } });
  return data.createTask.task.id;
}

async function claim(server: Serve, contractId: string, workerId: string, remote: boolean): Promise<Assignment> {
  const input = { workerId, contractIds: [contractId], supervisor: false, remote, leaseSeconds: LEASE_SECONDS };
  const data = await gql<{ claimTask: { assignment: Assignment | null } }>(server, ClaimTask, { input });
  if (!data.claimTask.assignment) throw new Error(`nothing to claim on contract ${contractId}`);
  return data.claimTask.assignment;
}

function remoteOf(server: Serve, assignment: Assignment, workerId: string): Remote {
  return { url: assignment.gitUrl, token: server.token, workerId };
}

/** A remote worker's checkout of its assignment into `workdir` (src/git/clone.ts, as `makima worker --workdir` does it). */
function checkout(workdir: string, remote: Remote, a: Assignment) {
  return checkoutTask(workdir, remote, { contractId: uuidOf(a.task.contract.id), taskId: uuidOf(a.task.id), branch: a.branch, sha: a.commitSha });
}

/** A HOME whose git config sends every git's trace2 performance log to `file`. */
function traceHome(dir: string, file: string): string {
  const home = path.join(dir, 'home');
  fs.mkdirSync(home, { recursive: true });
  fs.writeFileSync(path.join(home, '.gitconfig'), `[trace2]\n\tperfTarget = ${file}\n`);
  return home;
}

const ROW = {
  local: 'local checkpoint (createCheckpoint on the server worktree)',
  remote: 'remote checkpoint (commit + push + createCheckpoint)',
  commit: 'floor: git add + git commit in a clone',
  push: 'peer: git push to a bare repo over http-backend',
  first: 'first claim (claimTask + fetch + worktree, empty workdir)',
  clone: 'floor: git clone --no-local',
  second: 'second claim (another task, same workdir)',
  fetch: 'floor: git fetch, nothing new',
  worktree: 'floor: git worktree add (a second checkout)',
};

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'makima-bench-mesh-'));
  const repos = path.join(dir, 'repos');
  let server: Serve | undefined;
  const bare = await startBareServer(path.join(dir, 'bare'));
  try {
    let started = performance.now();
    const files = sourceTree(path.join(repos, 'source'), FILES, FILE_BYTES);
    blobTree(path.join(repos, 'blobs'), CLAIM_FILES, CLAIM_MB);
    // A repository served is usually packed (it was cloned or gc'd); loose objects would make every fetch deflate them again.
    for (const repo of ['source', 'blobs']) gitSync(path.join(repos, repo), 'repack', '-adq');
    const blobsPacked = fs.readdirSync(path.join(repos, 'blobs/.git/objects/pack')).reduce((sum, f) => sum + fs.statSync(path.join(repos, 'blobs/.git/objects/pack', f)).size, 0);
    console.log(`repositories written in ${ms(performance.now() - started, 0)} (${FILES} files × ${bytes(FILE_BYTES)}; ${CLAIM_FILES} blobs, ${bytes(blobsPacked)} packed)`);

    server = await startServe(BIN, path.join(dir, 'data'), repos, GIT_TRACE ? { HOME: traceHome(dir, path.resolve(GIT_TRACE)) } : {});
    const s = server;
    started = performance.now();
    // Checkpoints: one task claimed locally, one remotely, on the same contract.
    const checkpoints = await contract(s, 'checkpoints', path.join(repos, 'source'));
    await task(s, checkpoints, 'local');
    const local = await claim(s, checkpoints, 'bench-local', false);
    await task(s, checkpoints, 'remote');
    const remote = await claim(s, checkpoints, 'bench-remote', true);
    const workdir = path.join(dir, 'worker');
    const problem = prepareWorkdir(workdir);
    if (problem) throw new Error(problem);
    const remoteTree = (await checkout(workdir, remoteOf(s, remote, 'bench-remote'), remote)).path;
    const clone = path.join(dir, 'clone');
    gitSync(dir, 'clone', '-q', '--no-local', path.join(repos, 'source'), clone);
    gitSync(dir, 'init', '-q', '--bare', path.join(dir, 'bare', 'peer.git'));
    // Not gitSync: the peer's server runs in this process and must answer while git pushes.
    await timedGit(clone, 'push', '-q', bare.url('peer.git'), 'HEAD:refs/heads/main');
    // Claims: one contract, a new task for each claim.
    const claims = await contract(s, 'claims', path.join(repos, 'blobs'));
    console.log(`server, tasks, clones and peer ready in ${ms(performance.now() - started, 0)}`);

    const samples = new Samples();
    const load = [os.loadavg()[0]];
    for (let round = 0; round < ROUNDS; round += 1) {
      const changed = changedFiles(files, CHANGED, round);
      const message = `round ${round}: ${CHANGED} files`;

      touch(local.worktreePath, changed, round);
      let watch = stopwatch();
      await gql(s, CreateCheckpoint, { input: { taskId: local.task.id, workerId: 'bench-local', message } });
      watch.lap('createCheckpoint');
      samples.add(ROW.local, watch.done().total, watch.done().steps);

      touch(remoteTree, changed, round);
      watch = stopwatch();
      const { sha } = await commitTask(remoteTree, remote.branch, message);
      watch.lap('commit (add, write-tree, commit-tree)');
      await pushCommit(remoteTree, remoteOf(s, remote, 'bench-remote'), sha, `refs/makima/tasks/${uuidOf(remote.task.id)}/pending/${sha}`);
      watch.lap('push');
      await gql(s, CreateCheckpoint, { input: { taskId: remote.task.id, workerId: 'bench-remote', message, commitSha: sha } });
      watch.lap('createCheckpoint(commitSha)');
      samples.add(ROW.remote, watch.done().total, watch.done().steps);

      touch(clone, changed, round);
      samples.add(ROW.commit, (await timedGit(clone, 'add', '--all')) + (await timedGit(clone, 'commit', '-q', '-m', message)));
      samples.add(ROW.push, await timedGit(clone, 'push', '-q', bare.url('peer.git'), 'HEAD:refs/heads/main'));

      const claimWorkdir = path.join(dir, `claims-${round}`);
      prepareWorkdir(claimWorkdir);
      for (const row of [ROW.first, ROW.second]) {
        await task(s, claims, `${row === ROW.first ? 'first' : 'second'} ${round}`);
        watch = stopwatch();
        const a = await claim(s, claims, 'bench-claims', true);
        watch.lap('claimTask');
        await checkout(claimWorkdir, remoteOf(s, a, 'bench-claims'), a);
        watch.lap('fetch + worktree');
        samples.add(row, watch.done().total, watch.done().steps);
        await gql(s, CompleteTask, { input: { taskId: a.task.id, workerId: 'bench-claims' } });
        if (row === ROW.first) samples.add(ROW.clone, await timedGit(dir, 'clone', '-q', '--no-local', path.join(repos, 'blobs'), path.join(dir, `clone-${round}`)));
        else {
          samples.add(ROW.fetch, await timedGit(path.join(dir, `clone-${round}`), 'fetch', '-q'));
          samples.add(ROW.worktree, await timedGit(path.join(dir, `clone-${round}`), 'worktree', 'add', '-q', '--detach', path.join(dir, `clone-${round}-second`)));
        }
      }
      for (const done of [claimWorkdir, path.join(dir, `clone-${round}`), path.join(dir, `clone-${round}-second`)]) fs.rmSync(done, { recursive: true, force: true });
      process.stdout.write(`round ${round + 1}/${ROUNDS}\r`);
    }
    load.push(os.loadavg()[0]);
    report(samples, load, blobsPacked);
  } finally {
    await server?.stop();
    await bare.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const round1 = (n: number) => Math.round(n * 10) / 10;

function summary(samples: number[]) {
  return { medianMs: round1(median(samples)), p90Ms: round1(percentile(samples, 90)) };
}

function report(samples: Samples, load: number[], blobsPacked: number): void {
  const m = machine();
  const rows = [...samples.rows].map(([name, s]) => ({
    name,
    ...summary(s),
    steps: Object.fromEntries([...(samples.steps.get(name) ?? [])].map(([step, v]) => [step, summary(v)])),
  }));
  const byName = (name: string) => rows.find((r) => r.name === name)!;
  const ratio = byName(ROW.remote).medianMs / byName(ROW.local).medianMs;
  const second = byName(ROW.second).medianMs;
  const goals = {
    remoteCheckpointUnder2xLocal: { met: ratio < 2, remoteOverLocal: Math.round(ratio * 100) / 100 },
    secondClaimUnder1s: { met: second < 1000, medianMs: second },
  };
  printTable({
    title: `bench:mesh — ${ROUNDS} rounds on loopback, ${describeMachine(m)}; load average ${load.map((l) => l.toFixed(1)).join(' → ')}`,
    head: ['row', 'median', 'p90'],
    rows: rows.map((r) => [r.name, ms(r.medianMs), ms(r.p90Ms)]),
  });
  printTable({
    title: 'where the time of the makima rows goes (medians of each step)',
    head: ['row', 'step', 'median', 'p90'],
    rows: rows.flatMap((r) => Object.entries(r.steps).map(([step, v]) => [r.name.split(' (')[0], step, ms(v.medianMs), ms(v.p90Ms)])),
  });
  console.log(`goal: remote checkpoint under 2× the local one — ${goals.remoteCheckpointUnder2xLocal.met ? 'met' : 'NOT met'} (${ratio.toFixed(2)}×)`);
  console.log(`goal: second claim under 1 s — ${goals.secondClaimUnder1s.met ? 'met' : 'NOT met'} (${ms(second)})`);
  const config = { files: FILES, fileBytes: FILE_BYTES, changedPerCheckpoint: CHANGED, claimMegabytes: CLAIM_MB, claimFiles: CLAIM_FILES, claimPackBytes: blobsPacked };
  console.log(`wrote ${writeResults(OUT, { machine: m, node: process.version, git: gitSync(REPO_ROOT, '--version'), bin: path.relative(REPO_ROOT, BIN), rounds: ROUNDS, config, loadAverage: load, goals, rows })}`);
}

main().catch((err: unknown) => {
  console.error('bench:mesh failed:', err);
  process.exit(1);
});
