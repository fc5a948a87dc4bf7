// Fault injection (docs/design.md §9): a real `makima serve` process is killed with SIGKILL inside
// every change that moves git — at each journaled git step, just before and just after the
// database commit (deterministic points through MAKIMA_TEST_CRASH_FILE): checkpoints, new tasks, forks, branches and contracts; refs never reused; an undo that keeps failing. After each restart
// the invariants hold (consistency.ts). The crash points are spread over crash-*.test.ts so that
// the suite's workers share them.
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { makeGitRepo, rawId, tempDir } from '../harness.js';
import { describe, expect, it } from 'vitest';
import { checkpointRefOf, crashKit, git, Setup, STEPS, uncommittedWork } from './consistency.js';
import { servedMakima } from './served.js';

const s = servedMakima('crash-create');
const { api, crashAt, start, stop } = s;
const { fixture, assertConsistent, newRepoPath, repoNumber } = crashKit(s);

describe('a server killed inside a change that moves git', () => {
  it.each(STEPS('create checkpoint', ['commitWorkspace', 'protectCheckpoint']))('createCheckpoint, killed at %s, never reuses a checkpoint number', async (point) => {
    const f = await fixture();
    const work = { taskId: f.taskId, ...uncommittedWork(f.worktree, point) };
    await crashAt(point, () => api(Setup.checkpoint, { t: f.taskId, m: 'third' }));
    await assertConsistent(f.repo, f.contractId, work, !point.endsWith('after-commit'));
    const third = (await api(Setup.checkpoint, { t: f.taskId, m: 'third, again' })).createCheckpoint.checkpoint;
    expect(third.number).toBe(point.endsWith('after-commit') ? 4 : 3);
    await assertConsistent(f.repo, f.contractId, work);
  }, 120_000);

  it.each([...STEPS('fork task', ['addWorkspace']), ...STEPS('create task', ['addWorkspace']), ...STEPS('branch from checkpoint', ['createBranch'])])(
    'forkTask, createTask and branchFromCheckpoint, killed at %s, leave no worktree, branch or ref the database does not know',
    async (point) => {
      const f = await fixture();
      const operation = (branchName: string) =>
        point.startsWith('fork')
          ? api(Setup.fork, { t: f.taskId, c: f.first.id })
          : point.startsWith('create task')
            ? api(Setup.task, { c: f.contractId })
            : api(Setup.branch, { t: f.taskId, c: f.first.id, b: branchName });
      await crashAt(point, () => operation(`keep-${repoNumber()}`));
      await assertConsistent(f.repo, f.contractId);
      const branched = point.startsWith('branch') && point.endsWith('after-commit');
      if (point.startsWith('branch')) expect(git(f.repo, 'branch', '--list', `keep-${repoNumber()}`) !== '').toBe(branched);
      await operation(`again-${repoNumber()}`); // usable again: the same operation now succeeds
      await assertConsistent(f.repo, f.contractId);
    },
    120_000,
  );

  it.each(STEPS('create contract', ['addWorkspace']))('createContract, killed at %s, leaves no supervisor worktree behind', async (point) => {
    const repo = newRepoPath();
    await makeGitRepo(repo, { 'README.md': '# crash\n' });
    await crashAt(point, () => api(Setup.contract, { r: repo }));
    const contracts = (await api(`query { contracts(first: 100) { edges { node { id repositoryPath } } } }`)).contracts.edges.filter(
      (e: any) => e.node.repositoryPath === fs.realpathSync(repo),
    );
    expect(contracts.length).toBe(point.endsWith('after-commit') ? 1 : 0);
    if (contracts.length) await assertConsistent(repo, contracts[0].node.id);
    else expect(git(repo, 'worktree', 'list', '--porcelain').split('\n').filter((l) => l.startsWith('worktree ')).length).toBe(1);
  }, 120_000);
});

describe('refs are never reused', () => {
  it('a checkpoint ref the database does not know (left by a change that never committed) keeps its number', async () => {
    const f = await fixture();
    const orphan = checkpointRefOf(f.taskId, f.second.number + 1);
    git(f.repo, 'update-ref', orphan, git(f.repo, 'rev-parse', `refs/makima/checkpoints/${rawId(f.taskId)}/${f.first.number}`), '');
    const planted = git(f.repo, 'rev-parse', orphan);
    fs.writeFileSync(path.join(f.worktree, 'three.txt'), 'three\n');
    const third = (await api(Setup.checkpoint, { t: f.taskId, m: 'third' })).createCheckpoint.checkpoint;
    expect(third.number).toBe(f.second.number + 2);
    expect(git(f.repo, 'rev-parse', orphan), 'the orphan ref is untouched').toBe(planted);
    expect(git(f.repo, 'rev-parse', checkpointRefOf(f.taskId, third.number))).not.toBe(planted);
  }, 120_000);
});


describe('a change whose undo keeps failing', () => {
  it('is reported once, with what to do, and moved to git-journal/failed/ so later starts do not retry it', async () => {
    // A journal of a dead process whose undo cannot work: its worktree is a directory that is no git worktree.
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    const notAWorktree = tempDir('makima-not-a-worktree-');
    const id = crypto.randomUUID();
    const dir = path.join(s.root, 'data', 'git-journal');
    fs.mkdirSync(dir, { recursive: true });
    const sha = 'a'.repeat(40);
    const record = {
      id,
      what: 'rewind task',
      startedAt: new Date().toISOString(),
      tasks: {},
      steps: [{ taskId: crypto.randomUUID(), undo: { op: 'checkout', workspace: { repositoryPath: notAWorktree, worktreePath: notAWorktree, branch: 'makima/x' }, sha } }],
    };
    fs.writeFileSync(path.join(dir, `${id}.${dead}.json`), JSON.stringify(record));
    await stop();
    await start();
    // The server's log is written asynchronously: the report may follow the line that gives its URL.
    await s.server!.process.waitFor(/could not undo \d+ git step/);
    const report = (s.server!.process.output().match(new RegExp(`could not undo [^\\n]*${'rewind task'}`, 'g')) ?? []).length;
    expect(report, 'reported at this start').toBe(1);
    expect(s.server!.process.output()).toContain(`failed/${id}.json`);
    expect(s.server!.process.output()).toContain(`reset --hard ${sha}`); // what to run by hand
    expect(fs.existsSync(path.join(dir, 'failed', `${id}.json`))).toBe(true);
    expect(fs.readdirSync(dir).filter((n) => n.startsWith(id))).toEqual([]);
    await stop();
    await start();
    expect(s.server!.process.output(), 'not retried at the next start').not.toContain(id);
    fs.rmSync(notAWorktree, { recursive: true, force: true });
  }, 120_000);
});

