// The "step refused before it ran" case of every journaled git step kind (docs/design.md §9): the
// step's undo is written to the journal before it runs, so when git refuses it (a lock held, a ref
// that exists), the rollback runs an undo for something that never happened. It must change
// nothing: not the user's files, not what is staged, not a branch or ref that existed before.
// The refusal is real for createBranch (an existing branch); for the other kinds the server is
// told (MAKIMA_TEST_CRASH_FILE = "refuse:<change>:<step>") to fail the step right where git would.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpoint, createContract, createTask, taskOnRepo } from '../fixtures.js';
import { codes, startTestServer, tempDir, type TestServer, type TestUser } from '../harness.js';
import { dirtyWorktree, git, worktreeState } from './dirty.js';

const crashFile = path.join(tempDir('makima-refuse-'), 'refuse-at');
let t: TestServer;
let user: TestUser;

beforeAll(async () => {
  t = await startTestServer({ MAKIMA_TEST_CRASH_FILE: crashFile });
  user = await t.createUser();
}, 60_000);
afterAll(async () => t?.stop());

const Rewind = `mutation($t: ID!, $c: ID!) { rewindTask(input: { taskId: $t, checkpointId: $c, mode: CODE }) { task { id } } }`;
const Checkpoint = `mutation($t: ID!) { createCheckpoint(input: { taskId: $t, message: "refused" }) { checkpoint { id } } }`;
const Cancel = `mutation($t: ID!) { cancelTask(input: { taskId: $t }) { task { status } } }`;
const Archive = `mutation($t: ID!) { archiveTask(input: { taskId: $t }) { task { id } } }`;
const Branch = `mutation($t: ID!, $c: ID!, $b: String!) { branchFromCheckpoint(input: { taskId: $t, checkpointId: $c, branchName: $b }) { branchName } }`;
const Task = `query($t: ID!) { task(id: $t) { headCommit archivedAt worktreePath branch checkpoints(first: 50) { totalCount } } }`;
const Tasks = `query($c: ID!) { contract(id: $c) { tasks(first: 50) { totalCount } } }`;

/** Everything a refused step could have changed: git's refs and worktrees, the worktree with its index, the database's view. */
async function everything(f: { repo: string; worktree: string; taskId: string; contractId: string }, paths: string[]) {
  return {
    refs: git(f.repo, 'for-each-ref', '--format=%(refname) %(objectname)'),
    worktrees: git(f.repo, 'worktree', 'list', '--porcelain'),
    worktree: worktreeState(f.worktree, paths),
    task: (await user.ok(Task, { t: f.taskId })).task,
    tasks: (await user.ok(Tasks, { c: f.contractId })).contract.tasks.totalCount,
  };
}

function journals(): string[] {
  const dir = t.config.gitJournalDir;
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.endsWith('.json') || n.includes('.recovering-')) : [];
}

/** A task with one checkpoint and uncommitted work of every kind (partly staged files included). */
async function dirtyTask() {
  const f = await taskOnRepo(t, user);
  fs.writeFileSync(path.join(f.worktree, 'one.txt'), 'one\n');
  const first = await checkpoint(user, f.taskId, 'first');
  const { paths } = dirtyWorktree(f.worktree, 'refused');
  return { ...f, first, paths };
}

async function refused(point: string, run: () => Promise<{ errors?: readonly unknown[] }>, expected = 'GIT_ERROR') {
  fs.writeFileSync(crashFile, `refuse:${point}`);
  const result = await run();
  expect(fs.existsSync(crashFile), `the step ${point} was reached`).toBe(false);
  expect(codes(result as never)).toEqual([expected]);
}

describe('a journaled git step refused before it ran changes nothing when its change is undone', () => {
  it.each([
    ['create checkpoint', 'commitWorkspace'],
    ['create checkpoint', 'protectCheckpoint'],
    ['rewind task', 'checkout'],
  ])('%s, %s refused', async (what, step) => {
    const f = await dirtyTask();
    const before = await everything(f, f.paths);
    await refused(`${what}:${step}`, () => (what === 'rewind task' ? user.gql(Rewind, { t: f.taskId, c: f.first.id }) : user.gql(Checkpoint, { t: f.taskId })));
    expect(await everything(f, f.paths)).toEqual(before);
    expect(journals()).toEqual([]);
  });

  it.each(['protectArchive', 'removeWorkspace'])('archive task, %s refused', async (step) => {
    const f = await dirtyTask();
    await user.ok(Cancel, { t: f.taskId });
    const before = await everything(f, f.paths);
    await refused(`archive task:${step}`, () => user.gql(Archive, { t: f.taskId }));
    expect(await everything(f, f.paths)).toEqual(before);
    expect(journals()).toEqual([]);
  });

  it('create task, addWorkspace refused', async () => {
    const f = await dirtyTask();
    const before = await everything(f, f.paths);
    const worktreesBefore = fs.readdirSync(t.config.worktreesDir).sort();
    await refused('create task:addWorkspace', () => user.gql(`mutation($c: ID!) { createTask(input: { contractId: $c, name: "refused" }) { task { id } } }`, { c: f.contractId }));
    expect(await everything(f, f.paths)).toEqual(before);
    expect(fs.readdirSync(t.config.worktreesDir).sort()).toEqual(worktreesBefore);
    expect(journals()).toEqual([]);
    await createTask(user, f.contractId, 'usable again');
  });

  it("branch from checkpoint, createBranch refused by git (the branch exists at the checkpoint's commit)", async () => {
    const repo = await t.makeRepo({ 'README.md': '# r\n', 'src/a.txt': 'a\n' });
    const contract = await createContract(user, repo);
    const task = await createTask(user, contract.id, 'branching');
    const f = { repo, contractId: contract.id, taskId: task.id, worktree: task.worktreePath! };
    // Nothing changed since the task began: the checkpoint records the repository's tip, where main and keepme are.
    const cp = await checkpoint(user, f.taskId, 'nothing changed');
    git(repo, 'branch', 'keepme', cp.commitSha);
    const { paths } = dirtyWorktree(f.worktree, 'branch');
    const before = await everything(f, paths);
    for (const b of ['main', 'keepme']) {
      const result = await user.gql(Branch, { t: f.taskId, c: cp.id, b });
      expect(codes(result), b).toEqual(['CONFLICT']);
    }
    expect(await everything(f, paths)).toEqual(before);
    expect(git(repo, 'rev-parse', 'refs/heads/keepme')).toBe(cp.commitSha);
    expect(journals()).toEqual([]);
  });
});
