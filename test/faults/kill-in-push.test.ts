// A server killed during a push (docs/mesh.md, "What a worker may push"): a real `makima serve`
// kills itself with SIGKILL once git's receive-pack has part of a worker's pack
// (MAKIMA_TEST_CRASH_FILE = "git:receive-pack"). After the restart the contract's repository is
// consistent — `git fsck` clean, no ref moved, no quarantine or lock file left for the next push to
// trip on — nothing is recorded for the push that died, and the worker's retry pushes and records
// its checkpoint. The second case is a kill that takes git with it (a power cut, a stop of the whole
// process group): receive-pack's leftovers stay on disk, and the restart must clear them.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cloneTask, commitFiles, git, runGit } from '../git-client.js';
import { eventually, makeGitRepo, rawId } from '../harness.js';
import { servedMakima } from './served.js';

const s = servedMakima('kill-in-push', { bootMs: 60_000, cleanUp: ({ root }) => {
  // A git a dead server left running (what the first case guards against) is not left to spin on.
  for (const line of gitProcessesIn(fs.realpathSync(root))) process.kill(Number(line.split(' ')[0]), 'SIGKILL');
} });
const { api, start } = s;


const Q = {
  contract: `mutation($r: String!) { createContract(input: { name: "push", repositoryPath: $r }) { contract { id gitUrl } } }`,
  claim: `mutation($w: String!) { claimTask(input: { workerId: $w, remote: true, leaseSeconds: 600 }) { assignment { task { id } branch commitSha gitUrl } } }`,
  checkpoint: `mutation($input: CreateCheckpointInput!) { createCheckpoint(input: $input) { checkpoint { number commitSha } } }`,
  task: `query($t: ID!) { task(id: $t) { headCommit checkpoints(first: 10) { edges { node { number commitSha } } } history(first: 50) { edges { node { eventType eventSubtype } } } } }`,
};

let contracts = 0;
/** A contract whose supervisor a remote worker has claimed (a long lease, so it outlives the restart), and the worker's clone of it. */
async function claimedClone() {
  const repo = path.join(s.reposRoot, `repo-${++contracts}`);
  await makeGitRepo(repo, { 'README.md': '# push\n' });
  const contract = (await api(Q.contract, { r: repo })).createContract.contract as { id: string; gitUrl: string };
  const workerId = `w-${contracts}`;
  const assignment = (await api(Q.claim, { w: workerId })).claimTask.assignment as { task: { id: string }; branch: string; commitSha: string; gitUrl: string };
  const work = await cloneTask(assignment.gitUrl, s.token, assignment);
  // Random bytes do not compress: the pack is well past the 64 KiB after which the server dies.
  const sha = await commitFiles(work, { 'big.bin': crypto.randomBytes(512 * 1024).toString('base64') });
  return { repo, contractId: contract.id, workerId, taskId: assignment.task.id, branch: assignment.branch, before: assignment.commitSha, work, sha, pending: `refs/makima/tasks/${rawId(assignment.task.id)}/pending/${sha}` };
}

type Claimed = Awaited<ReturnType<typeof claimedClone>>;

/** The worker's push of its commit under the task's refs, to the contract's gitUrl as the server now gives it (a restart takes a new port). */
async function push(c: Claimed) {
  const { gitUrl } = (await api(`query($c: ID!) { contract(id: $c) { gitUrl } }`, { c: c.contractId })).contract;
  return runGit(c.work, ['push', '--quiet', gitUrl, `${c.sha}:${c.pending}`], { token: s.token, workerId: c.workerId });
}

/** Pushes with the server set to die inside receive-pack; waits for the death, runs `whileDown`, restarts. */
async function pushKilled(c: Claimed, whileDown?: () => void): Promise<void> {
  fs.writeFileSync(s.crashFile, 'git:receive-pack');
  const exit = new Promise<NodeJS.Signals | null>((resolve) => s.server!.process.child.once('exit', (_code, signal) => resolve(signal)));
  const pushed = await push(c);
  expect(pushed.code, 'the push failed with the server').not.toBe(0);
  expect(await exit, 'the server died inside receive-pack').toBe('SIGKILL');
  expect(fs.existsSync(s.crashFile), 'the crash point was reached').toBe(false);
  s.server = undefined;
  whileDown?.();
  await start();
}

/** The git processes working in `repo` (Linux /proc: their working directory is in it). */
function gitProcessesIn(repo: string): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!fs.readFileSync(`/proc/${entry}/comm`, 'utf8').startsWith('git')) continue;
      if (/^\S+ \(.*\) Z/.test(fs.readFileSync(`/proc/${entry}/stat`, 'utf8'))) continue;
      const cwd = fs.readlinkSync(`/proc/${entry}/cwd`);
      if (cwd === repo || cwd.startsWith(`${repo}/`)) found.push(`${entry} ${fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ')}`);
    } catch {
      // ended meanwhile
    }
  }
  return found;
}

/** The records of pushes under way in the server's data directory (git/push-record.ts). */
function pushRecords(): string[] {
  const dir = path.join(s.root, 'data', 'git-pushes');
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
}

/** What receive-pack may leave in the repository: quarantine directories and lock files. */
function leftovers(repo: string): string[] {
  const gitDir = path.join(repo, '.git');
  const found = fs.readdirSync(path.join(gitDir, 'objects')).filter((name) => /^(tmp_objdir-)?incoming-/.test(name)).map((name) => `objects/${name}`);
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(path.join(gitDir, dir), { withFileTypes: true })) {
      const name = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(name);
      else if (entry.name.endsWith('.lock')) found.push(name);
    }
  };
  walk('refs');
  if (fs.existsSync(path.join(gitDir, 'packed-refs.lock'))) found.push('packed-refs.lock');
  return found.sort();
}

/** The repository after the restart: no git of the dead server still at work, fsck clean, nothing of the push arrived, nothing recorded, no leftovers. */
async function assertNothingArrived(c: Claimed): Promise<void> {
  // Polled: nothing tells this process when another process's orphaned child ends.
  const repo = fs.realpathSync(c.repo);
  await eventually(async () => gitProcessesIn(repo).length === 0, `the git the dead server started in ${repo} to end`, 15_000, 100).catch((err: Error) => {
    throw new Error(`${err.message}; still running: ${gitProcessesIn(repo).join('; ')}`);
  });
  const fsck = await runGit(c.repo, ['fsck', '--no-progress', '--no-dangling']);
  expect(fsck, 'git fsck').toMatchObject({ code: 0, stderr: '' });
  expect(await git(c.repo, ['for-each-ref', `refs/makima/tasks/${rawId(c.taskId)}/`])).toBe('');
  expect(await git(c.repo, ['rev-parse', `refs/heads/${c.branch}`])).toBe(c.before);
  expect(leftovers(c.repo), 'quarantine directories and lock files').toEqual([]);
  const task = (await api(Q.task, { t: c.taskId })).task;
  expect(task.headCommit).toBe(c.before);
  expect(task.checkpoints.edges).toEqual([]);
  expect(task.history.edges.filter((e: any) => e.node.eventType === 'CHECKPOINT')).toEqual([]);
}

/** The worker's retry: the same push and its record succeed, as checkpoint #1. */
async function assertRetrySucceeds(c: Claimed): Promise<void> {
  const again = await push(c);
  expect(again, 'the retried push').toEqual({ code: 0, stdout: '', stderr: '' });
  expect(await git(c.repo, ['rev-parse', c.pending])).toBe(c.sha);
  const made = (await api(Q.checkpoint, { input: { taskId: c.taskId, workerId: c.workerId, commitSha: c.sha, message: 'big' } })).createCheckpoint.checkpoint;
  expect(made).toEqual({ number: 1, commitSha: c.sha });
  expect(await git(c.repo, ['rev-parse', `refs/heads/${c.branch}`])).toBe(c.sha);
  expect(await runGit(c.repo, ['fsck', '--no-progress', '--no-dangling'])).toMatchObject({ code: 0, stderr: '' });
  // Polled: the record goes when git has exited, which may be just after the client has its answer.
  await eventually(async () => pushRecords().length === 0, 'the records of finished pushes to go', 10_000, 50);
}

describe('a server killed inside receive-pack', { timeout: 120_000 }, () => {
  it('leaves the repository as it was, records nothing, and the retried push records the checkpoint', async () => {
    const c = await claimedClone();
    await pushKilled(c);
    await assertNothingArrived(c);
    await assertRetrySucceeds(c);
  });

  it("killed together with its git, whose quarantine and ref locks stay behind: the restart clears them, and the retry succeeds", async () => {
    const c = await claimedClone();
    const gitDir = path.join(c.repo, '.git');
    // What a receive-pack killed mid-pack leaves (its quarantine, a part of the pack), and one killed
    // inside its ref transaction (the locks of the refs it was moving).
    const locks = [path.join(gitDir, `${c.pending}.lock`), path.join(gitDir, `refs/heads/${c.branch}.lock`), path.join(gitDir, 'packed-refs.lock')];
    await pushKilled(c, () => {
      const quarantine = path.join(gitDir, 'objects', 'tmp_objdir-incoming-KiLLeD', 'pack');
      fs.mkdirSync(quarantine, { recursive: true });
      fs.writeFileSync(path.join(quarantine, 'tmp_pack_KiLLeD'), crypto.randomBytes(64 * 1024));
      for (const lock of locks) {
        fs.mkdirSync(path.dirname(lock), { recursive: true });
        fs.writeFileSync(lock, '');
      }
    });
    await assertNothingArrived(c);
    await assertRetrySucceeds(c);
  });
});
