// Kills inside git (docs/design.md §9): a real `makima serve` rewinds a task of ~1,500 files with
// uncommitted work of every kind, and is killed with SIGKILL — together with the git command it
// is running, as a power cut or a stop of its whole process group does — at random moments of the
// checkout. Each kill is checked to have landed while git ran (a git child of the server alive at
// the kill); git then leaves its own lock files (index.lock) behind. After each restart the task
// must be exactly as the database says: HEAD = headCommit, and either the rewind happened (the
// work kept in the backup checkpoint) or every file, and what was staged, is as before.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMakima, spawnMakima, type Spawned } from '../cli/run.js';
import { createPostgresDatabase, makeGitRepo, postGraphql, tempDir, TEST_DATABASE_URL } from '../harness.js';
import { servedMakima } from './served.js';
import { dirtyWorktree, git, worktreeState } from './dirty.js';

const s = servedMakima('kill-in-git');
const { api, start } = s;


const Q = {
  contract: `mutation($r: String!) { createContract(input: { name: "kill", repositoryPath: $r }) { contract { id } } }`,
  task: `mutation($c: ID!) { createTask(input: { contractId: $c, name: "big" }) { task { id worktreePath } } }`,
  checkpoint: `mutation($t: ID!, $m: String!) { createCheckpoint(input: { taskId: $t, message: $m }) { checkpoint { id number commitSha } } }`,
  rewind: `mutation($t: ID!, $c: ID!) { rewindTask(input: { taskId: $t, checkpointId: $c, mode: CODE }) { task { id } } }`,
  state: `query($t: ID!) { task(id: $t) { headCommit checkpoints(first: 1) { edges { node { number commitSha isBackup } } } } }`,
};

/** The git processes the server runs now (Linux /proc), with their arguments. */
function gitChildren(serverPid: number): { pid: number; args: string[] }[] {
  const found: { pid: number; args: string[] }[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const m = /^\d+ \((.*)\) (\S) (\d+)/.exec(stat);
      if (!m || m[1] !== 'git' || m[2] === 'Z' || Number(m[3]) !== serverPid) continue;
      found.push({ pid: Number(entry), args: fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0') });
    } catch {
      // ended meanwhile
    }
  }
  return found;
}

const FILES = 1500;

describe.skipIf(!fs.existsSync('/proc/self/stat'))('a server killed inside a git command', () => {
  it('rewinding 1,500 files, killed with its git at random moments of the checkout, restarts exactly as the database says', async () => {
    const repo = path.join(s.reposRoot, 'big');
    await makeGitRepo(repo, { 'README.md': '# big\n', 'src/a.txt': 'a\n' });
    const contractId = (await api(Q.contract, { r: repo })).createContract.contract.id;
    const task = (await api(Q.task, { c: contractId })).createTask.task as { id: string; worktreePath: string };
    const wt = task.worktreePath;
    fs.mkdirSync(path.join(wt, 'big'));
    fs.writeFileSync(path.join(wt, 'one.txt'), 'one\n');
    for (let i = 0; i < FILES; i++) fs.writeFileSync(path.join(wt, 'big', `f-${i}.txt`), `first ${i}\n`.repeat(10));
    const first = (await api(Q.checkpoint, { t: task.id, m: 'first' })).createCheckpoint.checkpoint;
    for (let i = 0; i < FILES; i++) fs.writeFileSync(path.join(wt, 'big', `f-${i}.txt`), `second ${i}\n`.repeat(12));
    const second = (await api(Q.checkpoint, { t: task.id, m: 'second' })).createCheckpoint.checkpoint;
    const gitDir = path.resolve(wt, git(wt, 'rev-parse', '--git-dir'));

    const started = Date.now();
    let verified = 0;
    let locksLeft = 0;
    let rolledBack = 0;
    for (let round = 0; round < 12 && (round < 4 || Date.now() - started < 40_000); round++) {
      // The task is at the second checkpoint, with uncommitted work: a rewind changes every big file.
      if ((await api(Q.state, { t: task.id })).task.headCommit !== second.commitSha) await api(Q.rewind, { t: task.id, c: second.id });
      const work = dirtyWorktree(wt, `round ${round}`, 20);
      const before = worktreeState(wt, work.paths);

      const pid = s.server!.process.child.pid!;
      const exited = new Promise<void>((resolve) => s.server!.process.child.once('exit', () => resolve()));
      const rewind = api(Q.rewind, { t: task.id, c: first.id }).catch(() => undefined);
      // Wait for the checkout's `git reset --hard`, then kill at a random moment of it.
      const delay = Math.random() * 60;
      let seenAt = 0;
      let alive: number[] = [];
      for (;;) {
        const children = gitChildren(pid);
        if (!seenAt && children.some((c) => c.args.includes('reset') && c.args.includes('--hard'))) seenAt = Date.now();
        if (seenAt && Date.now() - seenAt >= delay) {
          alive = children.map((c) => c.pid);
          process.kill(pid, 'SIGKILL');
          for (const c of alive) process.kill(c, 'SIGKILL');
          break;
        }
        if (s.server!.process.child.exitCode !== null || (await Promise.race([rewind.then(() => true), new Promise((r) => setImmediate(() => r(false)))]))) break;
      }
      if (alive.length) verified++;
      if (s.server!.process.child.exitCode === null && !seenAt) process.kill(pid, 'SIGKILL'); // the rewind ended before: kill anyway
      await Promise.all([rewind, exited]);
      if (fs.existsSync(path.join(gitDir, 'index.lock'))) locksLeft++;
      s.server = undefined;
      await start();

      const state = (await api(Q.state, { t: task.id })).task;
      expect(git(wt, 'rev-parse', 'HEAD'), `round ${round}: HEAD is the task's headCommit`).toBe(state.headCommit);
      expect(fs.existsSync(path.join(gitDir, 'index.lock')), `round ${round}: no lock left`).toBe(false);
      if (state.headCommit === first.commitSha) {
        // The rewind committed: the worktree is the first checkpoint, and the work is in the backup.
        expect(git(wt, 'status', '--porcelain'), `round ${round}: clean at the first checkpoint`).toBe('');
        const backup = state.checkpoints.edges[0].node;
        expect(backup.isBackup).toBe(true);
        for (const [p, content] of Object.entries(work.files)) {
          const inBackup = git(repo, 'ls-tree', '--name-only', backup.commitSha, '--', p) === p ? git(repo, 'show', `${backup.commitSha}:${p}`) : null;
          expect(inBackup, `round ${round}: ${p} in the backup`).toBe(content === null ? null : content.trimEnd());
        }
      } else {
        rolledBack++;
        expect(state.headCommit).toBe(second.commitSha);
        expect(worktreeState(wt, work.paths), `round ${round}: every file and the index as before`).toEqual(before);
      }
    }
    console.info(`kill-in-git: ${verified} kill(s) inside git, ${locksLeft} with index.lock left, ${rolledBack} rolled back, in ${Date.now() - started} ms`);
    // The test only proves something if kills landed inside git.
    expect(verified, `kills that landed while git ran (locks left: ${locksLeft}, rolled back: ${rolledBack})`).toBeGreaterThanOrEqual(1);
  }, 300_000);
});
