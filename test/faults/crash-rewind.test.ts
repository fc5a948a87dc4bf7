// Fault injection (docs/design.md §9): a real `makima serve` process is killed with SIGKILL inside
// every change that moves git — at each journaled git step, just before and just after the
// database commit (deterministic points through MAKIMA_TEST_CRASH_FILE), and at random moments of a rewind of a large worktree: rewinds and resumes from a checkpoint. After each restart
// the invariants hold (consistency.ts). The crash points are spread over crash-*.test.ts so that
// the suite's workers share them.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { worktreeState } from './dirty.js';
import { crashKit, git, GIT_STEP_POINTS, Setup, STEPS, uncommittedWork } from './consistency.js';
import { servedMakima } from './served.js';

const s = servedMakima('crash-rewind');
const { api, crashAt, start, stop } = s;
const { fixture, assertConsistent } = crashKit(s);

describe('a server killed inside a change that moves git', () => {
  it.each(STEPS('rewind task', ['commitWorkspace', 'protectCheckpoint', 'checkout'], true))('rewindTask, killed at %s, restarts consistent with nothing lost', async (point) => {
    const f = await fixture();
    const work = { taskId: f.taskId, ...uncommittedWork(f.worktree, point) };
    await crashAt(point, () => api(Setup.rewind, { t: f.taskId, c: f.first.id, mode: 'BOTH' }));
    const committed = point.endsWith('after-commit');
    const tasks = await assertConsistent(f.repo, f.contractId, work, !committed);
    expect(tasks[1].recovered, 'a rolled-back change is recorded as TASK/recovered').toBe(committed ? 0 : 1);
    // And the task is usable: the rewind can be done (again) and undone.
    await api(Setup.rewind, { t: f.taskId, c: f.first.id, mode: 'BOTH' });
    await assertConsistent(f.repo, f.contractId, work);
  }, 120_000);

  it.each(GIT_STEP_POINTS ? ['rewind task:before:checkout', 'rewind task:after:checkout'] : [])(
    "rewindTask, killed at %s together with its git, whose lock files stay behind, is undone once recovery clears git's locks",
    async (point) => {
      const f = await fixture();
      const work = { taskId: f.taskId, ...uncommittedWork(f.worktree, point) };
      const gitDir = path.resolve(f.worktree, git(f.worktree, 'rev-parse', '--git-dir'));
      const commonDir = path.resolve(f.worktree, git(f.worktree, 'rev-parse', '--git-common-dir'));
      const branch = git(f.worktree, 'symbolic-ref', 'HEAD');
      // What a git killed in the middle of `reset --hard` leaves: its index.lock, and the locks of HEAD and the branch.
      const locks = [path.join(gitDir, 'index.lock'), path.join(gitDir, 'HEAD.lock'), path.join(commonDir, `${branch}.lock`)];
      await crashAt(point, () => api(Setup.rewind, { t: f.taskId, c: f.first.id, mode: 'CODE' }), () => {
        for (const lock of locks) fs.writeFileSync(lock, '');
      });
      for (const lock of locks) expect(fs.existsSync(lock), `${lock} removed`).toBe(false);
      const tasks = await assertConsistent(f.repo, f.contractId, work, true);
      expect(tasks.find((t) => t.id === f.taskId)!.recovered).toBe(1);
      expect(fs.readdirSync(path.join(s.root, 'data', 'git-journal')).filter((n) => !n.startsWith('failed')), 'no journal left').toEqual([]);
    },
    120_000,
  );

  it.each(STEPS('resume task from checkpoint', ['commitWorkspace', 'protectCheckpoint', 'checkout']))('resumeTaskFromCheckpoint, killed at %s, keeps the task resumable', async (point) => {
    const f = await fixture();
    // Every pending task (this one included) is claimed and failed: the task becomes resumable.
    for (;;) {
      const claimed = (await api(Setup.claim)).claimTask.assignment;
      if (!claimed) break;
      await api(Setup.fail, { t: claimed.task.id });
    }
    const work = { taskId: f.taskId, ...uncommittedWork(f.worktree, point) };
    await crashAt(point, () => api(Setup.resumeFrom, { t: f.taskId, c: f.first.id }));
    await assertConsistent(f.repo, f.contractId, work, !point.endsWith('after-commit'));
    if (!point.endsWith('after-commit')) await api(Setup.resumeFrom, { t: f.taskId, c: f.first.id });
    await assertConsistent(f.repo, f.contractId, work);
  }, 120_000);

  it('rewindTask of a worktree with 2,000 changed files, killed at random moments, restarts consistent every time', async () => {
    const f = await fixture();
    for (let i = 0; i < 2000; i++) fs.writeFileSync(path.join(f.worktree, `big-${i}.txt`), `file ${i}\n`.repeat(20));
    await api(Setup.checkpoint, { t: f.taskId, m: 'big' });
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 2000; i += 2) fs.writeFileSync(path.join(f.worktree, `big-${i}.txt`), `changed ${round}\n`);
      const work = { taskId: f.taskId, ...uncommittedWork(f.worktree, `round ${round}`) };
      const child = s.server!.process.child;
      const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const rewind = api(Setup.rewind, { t: f.taskId, c: f.first.id }).catch(() => undefined);
      // The kill lands anywhere from before the first git step to after the commit.
      setTimeout(() => child.kill('SIGKILL'), 50 + Math.floor(Math.random() * 1500));
      await Promise.all([rewind, exit]);
      s.server = undefined;
      await start();
      await assertConsistent(f.repo, f.contractId, work);
    }
  }, 300_000);
});
