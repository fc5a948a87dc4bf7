// The invariants the crash suites check after each restart (docs/design.md §9), and the task they
// start from: every task's worktree HEAD is its headCommit, every uncommitted byte from before is in
// the worktree or in a listed checkpoint, and git holds no ref, worktree or branch the database
// does not know. Used with a served makima (served.ts); state lives in the returned object.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { ENGINE, makeGitRepo, rawId } from '../harness.js';
import { dirtyWorktree, worktreeState, type WorktreeState } from './dirty.js';
import type { Served } from './served.js';

export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' }).trim();
}

export const Setup = {
  contract: `mutation($r: String!) { createContract(input: { name: "crash", repositoryPath: $r }) { contract { id } } }`,
  task: `mutation($c: ID!) { createTask(input: { contractId: $c, name: "work" }) { task { id worktreePath } } }`,
  checkpoint: `mutation($t: ID!, $m: String!) { createCheckpoint(input: { taskId: $t, message: $m }) { checkpoint { id number } } }`,
  rewind: `mutation($t: ID!, $c: ID!, $mode: RewindMode) { rewindTask(input: { taskId: $t, checkpointId: $c, mode: $mode }) { task { id } } }`,
  fork: `mutation($t: ID!, $c: ID!) { forkTask(input: { taskId: $t, checkpointId: $c }) { task { id } } }`,
  branch: `mutation($t: ID!, $c: ID!, $b: String!) { branchFromCheckpoint(input: { taskId: $t, checkpointId: $c, branchName: $b }) { branchName } }`,
  claim: `mutation { claimTask(input: { workerId: "w" }) { assignment { task { id } } } }`,
  fail: `mutation($t: ID!) { failTask(input: { taskId: $t, workerId: "w", error: "boom" }) { task { id } } }`,
  resumeFrom: `mutation($t: ID!, $c: ID!) { resumeTaskFromCheckpoint(input: { taskId: $t, checkpointId: $c }) { task { id } } }`,
};

const State = `query($c: ID!) { contract(id: $c) { tasks(first: 10) { edges { node {
  id worktreePath headCommit branch
  checkpoints(first: 20) { edges { node { number commitSha } } }
  history(first: 20, filter: { eventTypes: [TASK] }) { edges { node { eventSubtype } } }
} } } } }`;

/**
 * Whether this run kills the server at the git steps of a change, or only around its commit. The
 * points around the commit are where the engines differ (the fate of a transaction across a kill),
 * so they run on both. A kill at a git step is recovered from the git journal, which works the same
 * whatever the engine (the transaction is open, so it rolls back like at before-commit): those points
 * run once, on PostgreSQL, whose server restarts faster than PGlite's (docs/testing.md).
 */
export const GIT_STEP_POINTS = ENGINE === 'postgres';

/** The crash points of a change: after each git step (and before it, with `both`; GIT_STEP_POINTS), around the commit. */
export const STEPS = (what: string, steps: string[], both = false) => [
  ...(GIT_STEP_POINTS ? steps.flatMap((s) => (both ? [`${what}:before:${s}`, `${what}:after:${s}`] : [`${what}:after:${s}`])) : []),
  `${what}:before-commit`,
  `${what}:after-commit`,
];

export function checkpointRefOf(taskId: string, number: number): string {
  return `refs/makima/checkpoints/${rawId(taskId)}/${number}`;
}

/** Uncommitted work of every kind in a task's worktree (dirty.ts), with the state to compare against. */
export function uncommittedWork(worktree: string, tag: string): Omit<Work, 'taskId'> & { file: string; content: string } {
  const { paths, files } = dirtyWorktree(worktree, tag);
  return { files, before: worktreeState(worktree, paths), file: 'wip.txt', content: files['wip.txt']! };
}

export type Work = { taskId: string; files: Record<string, string | null>; before: WorktreeState };

export interface TaskState {
  id: string;
  /** Null, with branch, for an imported session until its first claim (docs/design.md §12). */
  worktreePath: string | null;
  headCommit: string;
  branch: string | null;
  checkpoints: { number: number; commitSha: string }[];
  recovered: number;
}

/** The invariants and the starting task, on the served makima `s`. */
export function crashKit(s: Served) {
  const api = s.api.bind(s);
  let repoCount = 0;
  /** A new repository's path under the repositories root (numbered: a name a test may reuse). */
  const newRepoPath = () => path.join(s.reposRoot, `repo-${++repoCount}`);

  async function tasksOf(contractId: string): Promise<TaskState[]> {
    const data = await api(State, { c: contractId });
    return data.contract.tasks.edges.map(({ node }: any) => ({
      ...node,
      checkpoints: node.checkpoints.edges.map((e: any) => e.node),
      recovered: node.history.edges.filter((e: any) => e.node.eventSubtype === 'recovered').length,
    }));
  }

  /** The invariants of docs/design.md §9 for every task of a contract on `repo`. */
  async function assertConsistent(repo: string, contractId: string, work?: Work, rolledBack = false): Promise<TaskState[]> {
    const tasks = await tasksOf(contractId);
    for (const task of tasks) {
      if (task.worktreePath) expect(git(task.worktreePath, 'rev-parse', 'HEAD'), `HEAD of ${task.worktreePath}`).toBe(task.headCommit);
      else expect(task.branch, `task ${task.id} has a branch but no worktree`).toBeNull();
      const refs = git(repo, 'for-each-ref', '--format=%(refname)', `refs/makima/checkpoints/${rawId(task.id)}/`)
        .split('\n')
        .filter(Boolean)
        .map((ref) => Number(ref.split('/').pop()))
        .sort((a, b) => a - b);
      expect(refs, `checkpoint refs of task ${task.id}`).toEqual(task.checkpoints.map((c) => c.number).sort((a, b) => a - b));
    }
    const worktrees = git(repo, 'worktree', 'list', '--porcelain')
      .split('\n')
      .filter((l) => l.startsWith('worktree '))
      .map((l) => fs.realpathSync(l.slice('worktree '.length)));
    expect(worktrees.sort()).toEqual([fs.realpathSync(repo), ...tasks.flatMap((t) => (t.worktreePath ? [fs.realpathSync(t.worktreePath)] : []))].sort());
    const branches = git(repo, 'for-each-ref', '--format=%(refname:short)', 'refs/heads/makima/').split('\n').filter(Boolean);
    expect(branches.sort()).toEqual(tasks.flatMap((t) => (t.branch ? [t.branch] : [])).sort());
    if (work) {
      const task = tasks.find((t) => t.id === work.taskId)! as TaskState & { worktreePath: string };
      // Every uncommitted change (a new, changed, partly staged or deleted file) is in the worktree or in a checkpoint.
      for (const [file, content] of Object.entries(work.files)) {
        const inWorktree = (fs.existsSync(path.join(task.worktreePath, file)) ? fs.readFileSync(path.join(task.worktreePath, file), 'utf8') : null) === content;
        const inCheckpoint = task.checkpoints.some((c) => {
          const there = git(repo, 'ls-tree', '--name-only', c.commitSha, '--', file) === file;
          return content === null ? !there : there && git(repo, 'show', `${c.commitSha}:${file}`) === content.trim();
        });
        expect(inWorktree || inCheckpoint, `the uncommitted ${file} survives`).toBe(true);
      }
      // A change rolled back gives back the worktree exactly: the files, and what was staged and what was not.
      if (rolledBack) expect(worktreeState(task.worktreePath, Object.keys(work.files)), 'the worktree and its index as before').toEqual(work.before);
    }
    return tasks;
  }

  /** A task with two checkpoints, on a contract of its own. */
  async function fixture() {
    const repo = newRepoPath();
    await makeGitRepo(repo, { 'README.md': '# crash\n', 'src/a.txt': 'a\n' });
    const contractId = (await api(Setup.contract, { r: repo })).createContract.contract.id as string;
    const task = (await api(Setup.task, { c: contractId })).createTask.task as { id: string; worktreePath: string };
    fs.writeFileSync(path.join(task.worktreePath, 'one.txt'), 'one\n');
    const first = (await api(Setup.checkpoint, { t: task.id, m: 'first' })).createCheckpoint.checkpoint as { id: string; number: number };
    fs.writeFileSync(path.join(task.worktreePath, 'two.txt'), 'two\n');
    const second = (await api(Setup.checkpoint, { t: task.id, m: 'second' })).createCheckpoint.checkpoint as { id: string; number: number };
    return { repo, contractId, taskId: task.id, worktree: task.worktreePath, first, second };
  }

  return { tasksOf, assertConsistent, fixture, newRepoPath, repoNumber: () => repoCount };
}
