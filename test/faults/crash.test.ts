// Fault injection (docs/design.md §9): a real `makima serve` process is killed with SIGKILL inside
// every change that moves git — at each journaled git step, just before and just after the
// database commit (deterministic points through MAKIMA_TEST_CRASH_FILE), and at random moments
// of a rewind of a large worktree. After each restart the invariants hold: every task's worktree
// HEAD is its headCommit, every uncommitted byte from before is in the worktree or in a listed
// checkpoint, and git holds no ref, worktree or branch the database does not know.
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnMakima, runMakima, type Spawned } from '../cli/run.js';
import { createPostgresDatabase, makeGitRepo, postGraphql, rawId, tempDir, TEST_DATABASE_URL } from '../harness.js';
import { dirtyWorktree, worktreeState, type WorktreeState } from './dirty.js';

const root = tempDir('makima-crash-');
const reposRoot = path.join(root, 'repos');
const crashFile = path.join(root, 'crash-at');
fs.mkdirSync(reposRoot);
let database: { url: string; drop(): Promise<void> } | undefined;
let env: Record<string, string>;
let server: { process: Spawned; url: string } | undefined;
let token: string;

async function start(): Promise<void> {
  const child = spawnMakima(['serve', '--json'], env);
  const [line] = await child.waitFor(/^\{.*"url".*\}$/m, 150_000);
  const info = JSON.parse(line) as { url: string; localToken: string | null };
  if (info.localToken) token = info.localToken;
  server = { process: child, url: info.url };
}

async function stop(): Promise<void> {
  await server?.process.stop('SIGINT');
  server = undefined;
}

beforeAll(async () => {
  env = { MAKIMA_DATA_DIR: path.join(root, 'data'), MAKIMA_REPOS_ROOT: reposRoot, PORT: '0', MAKIMA_TEST_CRASH_FILE: crashFile, MAKIMA_LOG_LEVEL: 'warn' };
  if (TEST_DATABASE_URL) {
    database = await createPostgresDatabase();
    env.DATABASE_URL = database.url;
    await runMakima(['migrate'], env);
    const created = await runMakima(['user', 'create', '--name', 'crash', '--json'], env);
    token = (JSON.parse(created.stdout) as { token: string }).token;
  }
  await start();
}, 180_000);

afterAll(async () => {
  await stop();
  await database?.drop();
  fs.rmSync(root, { recursive: true, force: true });
}, 60_000);

async function api<T = any>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const result = await postGraphql<T>(server!.url, query, variables, token);
  if (result.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
  return result.data as T;
}

/** Runs `operation` with the server set to kill itself at `point`; waits for the death, restarts. */
async function crashAt(point: string, operation: () => Promise<unknown>, whileDown?: () => void): Promise<void> {
  fs.writeFileSync(crashFile, point);
  const exit = new Promise<NodeJS.Signals | null>((resolve) => server!.process.child.once('exit', (_code, signal) => resolve(signal)));
  await operation().then(
    () => undefined,
    () => undefined, // the connection dies with the server
  );
  expect(await exit, `the server died at ${point}`).toBe('SIGKILL');
  expect(fs.existsSync(crashFile), `crash point ${point} was reached`).toBe(false);
  server = undefined;
  whileDown?.();
  await start();
}

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' }).trim();
}

const Setup = {
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

interface TaskState {
  id: string;
  /** Null, with branch, for an imported session until its first claim (docs/design.md §12). */
  worktreePath: string | null;
  headCommit: string;
  branch: string | null;
  checkpoints: { number: number; commitSha: string }[];
  recovered: number;
}

async function tasksOf(contractId: string): Promise<TaskState[]> {
  const data = await api(State, { c: contractId });
  return data.contract.tasks.edges.map(({ node }: any) => ({
    ...node,
    checkpoints: node.checkpoints.edges.map((e: any) => e.node),
    recovered: node.history.edges.filter((e: any) => e.node.eventSubtype === 'recovered').length,
  }));
}

/** The invariants of docs/design.md §9 for every task of a contract on `repo`. */
type Work = { taskId: string; files: Record<string, string | null>; before: WorktreeState };

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

let repoCount = 0;
async function fixture() {
  const repo = path.join(reposRoot, `repo-${++repoCount}`);
  await makeGitRepo(repo, { 'README.md': '# crash\n', 'src/a.txt': 'a\n' });
  const contractId = (await api(Setup.contract, { r: repo })).createContract.contract.id as string;
  const task = (await api(Setup.task, { c: contractId })).createTask.task as { id: string; worktreePath: string };
  fs.writeFileSync(path.join(task.worktreePath, 'one.txt'), 'one\n');
  const first = (await api(Setup.checkpoint, { t: task.id, m: 'first' })).createCheckpoint.checkpoint as { id: string; number: number };
  fs.writeFileSync(path.join(task.worktreePath, 'two.txt'), 'two\n');
  const second = (await api(Setup.checkpoint, { t: task.id, m: 'second' })).createCheckpoint.checkpoint as { id: string; number: number };
  return { repo, contractId, taskId: task.id, worktree: task.worktreePath, first, second };
}

/** Uncommitted work of every kind in the task's worktree (dirty.ts), with the state to compare against. */
function uncommittedWork(worktree: string, tag: string): Omit<Work, 'taskId'> & { file: string; content: string } {
  const { paths, files } = dirtyWorktree(worktree, tag);
  return { files, before: worktreeState(worktree, paths), file: 'wip.txt', content: files['wip.txt']! };
}

/** The crash points of a change: after each git step (and before it, with `both`), around the commit. */
const STEPS = (what: string, steps: string[], both = false) => [
  ...steps.flatMap((s) => (both ? [`${what}:before:${s}`, `${what}:after:${s}`] : [`${what}:after:${s}`])),
  `${what}:before-commit`,
  `${what}:after-commit`,
];

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

  it.each(['rewind task:before:checkout', 'rewind task:after:checkout'])(
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
      expect(fs.readdirSync(path.join(root, 'data', 'git-journal')).filter((n) => !n.startsWith('failed')), 'no journal left').toEqual([]);
    },
    120_000,
  );

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
      await crashAt(point, () => operation(`keep-${repoCount}`));
      await assertConsistent(f.repo, f.contractId);
      const branched = point.startsWith('branch') && point.endsWith('after-commit');
      if (point.startsWith('branch')) expect(git(f.repo, 'branch', '--list', `keep-${repoCount}`) !== '').toBe(branched);
      await operation(`again-${repoCount}`); // usable again: the same operation now succeeds
      await assertConsistent(f.repo, f.contractId);
    },
    120_000,
  );

  it.each(STEPS('create contract', ['addWorkspace']))('createContract, killed at %s, leaves no supervisor worktree behind', async (point) => {
    const repo = path.join(reposRoot, `repo-${++repoCount}`);
    await makeGitRepo(repo, { 'README.md': '# crash\n' });
    await crashAt(point, () => api(Setup.contract, { r: repo }));
    const contracts = (await api(`query { contracts(first: 100) { edges { node { id repositoryPath } } } }`)).contracts.edges.filter(
      (e: any) => e.node.repositoryPath === fs.realpathSync(repo),
    );
    expect(contracts.length).toBe(point.endsWith('after-commit') ? 1 : 0);
    if (contracts.length) await assertConsistent(repo, contracts[0].node.id);
    else expect(git(repo, 'worktree', 'list', '--porcelain').split('\n').filter((l) => l.startsWith('worktree ')).length).toBe(1);
  }, 120_000);

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
      const child = server!.process.child;
      const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const rewind = api(Setup.rewind, { t: f.taskId, c: f.first.id }).catch(() => undefined);
      // The kill lands anywhere from before the first git step to after the commit.
      setTimeout(() => child.kill('SIGKILL'), 50 + Math.floor(Math.random() * 1500));
      await Promise.all([rewind, exit]);
      server = undefined;
      await start();
      await assertConsistent(f.repo, f.contractId, work);
    }
  }, 300_000);
});

describe('a server killed inside an archive (issue #15)', () => {
  const Archive = {
    cancel: `mutation($t: ID!) { cancelTask(input: { taskId: $t }) { task { status } } }`,
    archive: `mutation($t: ID!) { archiveTask(input: { taskId: $t }) { task { id } } }`,
    state: `query($t: ID!) { task(id: $t) { archivedAt worktreePath branch headCommit history(first: 5, filter: { eventTypes: [TASK] }) { edges { node { eventSubtype } } } } }`,
  };

  it.each(STEPS('archive task', ['commitWorkspace', 'protectArchive', 'removeWorkspace']))('archiveTask, killed at %s, either archived everything or restored the worktree with its uncommitted work', async (point) => {
    const f = await fixture();
    await api(Archive.cancel, { t: f.taskId });
    const before = (await api(Archive.state, { t: f.taskId })).task;
    const work = uncommittedWork(f.worktree, point);
    await crashAt(point, () => api(Archive.archive, { t: f.taskId }));
    const after = (await api(Archive.state, { t: f.taskId })).task;
    const archivedRef = git(f.repo, 'for-each-ref', '--format=%(objectname)', `refs/makima/archived/${rawId(f.taskId)}`);
    if (point.endsWith('after-commit')) {
      expect(after.archivedAt).not.toBeNull();
      expect(fs.existsSync(f.worktree)).toBe(false);
      expect(git(f.repo, 'branch', '--list', before.branch)).toBe('');
      expect(archivedRef).toBe(after.headCommit);
      expect(git(f.repo, 'show', `${archivedRef}:${work.file}`)).toBe(work.content.trim());
    } else {
      expect(after).toMatchObject({ archivedAt: null, worktreePath: before.worktreePath, branch: before.branch, headCommit: before.headCommit });
      expect(after.history.edges[0].node.eventSubtype).toBe('recovered');
      expect(archivedRef).toBe('');
      expect(git(f.worktree, 'rev-parse', 'HEAD')).toBe(before.headCommit);
      expect(fs.readFileSync(path.join(f.worktree, work.file), 'utf8')).toBe(work.content); // still uncommitted, not lost
      expect(worktreeState(f.worktree, Object.keys(work.files)), 'the worktree and its index as before').toEqual(work.before);
      await api(Archive.archive, { t: f.taskId }); // and the archive can be done now
      expect(fs.existsSync(f.worktree)).toBe(false);
    }
    for (const c of [f.first, f.second]) expect(git(f.repo, 'rev-parse', '--verify', '--quiet', `refs/makima/checkpoints/${rawId(f.taskId)}/${c.number}`)).not.toBe('');
  }, 120_000);
});

describe('a server killed inside an import or a contract archive', () => {
  const Import = `mutation($c: ID!, $content: String!) { importTranscript(input: { contractId: $c, source: CLAUDE_CODE_JSONL, content: $content }) { task { id } } }`;
  const ArchiveContract = `mutation($c: ID!) { archiveContract(input: { contractId: $c }) { contract { archivedAt } } }`;
  const Cancel = `mutation($t: ID!) { cancelTask(input: { taskId: $t }) { task { status } } }`;
  const ContractState = `query($c: ID!) { contract(id: $c) { archivedAt tasks(first: 10) { edges { node { id archivedAt worktreePath headCommit } } } } }`;

  it.each(STEPS('import transcript', []))('importTranscript, killed at %s, imports all or nothing, and the import can be repeated', async (point) => {
    const f = await fixture();
    // A real Claude Code session, under a session id of its own (an import of a known session appends instead).
    const recorded = fs.readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'claude-code', 'session.jsonl'), 'utf8');
    const content = recorded.replaceAll('5b1f0c2e-8d2a-4c1e-9a57-0f3c2d1e4b6a', crypto.randomUUID());
    const count = async () => (await tasksOf(f.contractId)).length;
    const before = await count();
    await crashAt(point, () => api(Import, { c: f.contractId, content }));
    expect(await count()).toBe(point.endsWith('after-commit') ? before + 1 : before);
    await assertConsistent(f.repo, f.contractId);
    await api(Import, { c: f.contractId, content }); // again: imported once, whatever happened
    expect(await count()).toBe(before + 1);
    await assertConsistent(f.repo, f.contractId);
  }, 120_000);

  it.each(STEPS('claim task', ['createBranch', 'materialiseWorkspace']))(
    'the first claim of an imported session, killed at %s, gives it its branch and worktree once or not at all',
    async (point) => {
      const f = await fixture();
      await api(Cancel, { t: f.taskId }); // so that the claim takes the imported task
      const recorded = fs.readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'claude-code', 'session.jsonl'), 'utf8');
      const content = recorded.replaceAll('5b1f0c2e-8d2a-4c1e-9a57-0f3c2d1e4b6a', crypto.randomUUID());
      const imported = (await api(Import, { c: f.contractId, content })).importTranscript.task.id as string;
      await api(`mutation($t: ID!) { resumeTask(input: { taskId: $t }) { task { id } } }`, { t: imported });
      const claim = `mutation($c: [ID!]) { claimTask(input: { workerId: "w", supervisor: false, contractIds: $c }) { assignment { task { id } } } }`;
      await crashAt(point, () => api(claim, { c: [f.contractId] }));
      const task = (await assertConsistent(f.repo, f.contractId)).find((t) => t.id === imported)!;
      if (point.endsWith('after-commit')) expect(task.branch).toMatch(/^makima\//);
      else expect(task).toMatchObject({ branch: null, worktreePath: null });
    },
    120_000,
  );

  it.each(STEPS('archive contract', ['commitWorkspace', 'protectArchive', 'removeWorkspace']))(
    'archiveContract, killed at %s, archived every task or none, with the uncommitted work kept',
    async (point) => {
      const f = await fixture();
      await api(Cancel, { t: f.taskId });
      const work = { taskId: f.taskId, ...uncommittedWork(f.worktree, point) };
      const before = (await api(ContractState, { c: f.contractId })).contract;
      await crashAt(point, () => api(ArchiveContract, { c: f.contractId }));
      const after = (await api(ContractState, { c: f.contractId })).contract;
      if (point.endsWith('after-commit')) {
        expect(after.archivedAt).not.toBeNull();
        for (const { node } of after.tasks.edges) {
          expect(node.archivedAt, `task ${node.id} archived`).not.toBeNull();
          expect(git(f.repo, 'rev-parse', `refs/makima/archived/${rawId(node.id)}`)).toBe(node.headCommit);
        }
        const archived = after.tasks.edges.find((e: any) => e.node.id === f.taskId).node;
        for (const [file, content] of Object.entries(work.files)) {
          const there = git(f.repo, 'ls-tree', '--name-only', archived.headCommit, '--', file) === file;
          expect(there ? git(f.repo, 'show', `${archived.headCommit}:${file}`) : null, file).toBe(content === null ? null : content.trim());
        }
        expect(git(f.repo, 'for-each-ref', '--format=%(refname)', 'refs/heads/makima/')).toBe('');
      } else {
        expect(after).toEqual(before); // nothing archived: every task keeps its worktree and head
        expect(git(f.repo, 'for-each-ref', '--format=%(refname)', 'refs/makima/archived/')).toBe('');
        await assertConsistent(f.repo, f.contractId, work, true);
        await api(ArchiveContract, { c: f.contractId }); // and the archive can be done now
      }
    },
    120_000,
  );
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

function checkpointRefOf(taskId: string, number: number): string {
  return `refs/makima/checkpoints/${rawId(taskId)}/${number}`;
}

describe('a change whose undo keeps failing', () => {
  it('is reported once, with what to do, and moved to git-journal/failed/ so later starts do not retry it', async () => {
    // A journal of a dead process whose undo cannot work: its worktree is a directory that is no git worktree.
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    const notAWorktree = tempDir('makima-not-a-worktree-');
    const id = crypto.randomUUID();
    const dir = path.join(root, 'data', 'git-journal');
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
    await server!.process.waitFor(/could not undo \d+ git step/);
    const report = (server!.process.output().match(new RegExp(`could not undo [^\\n]*${'rewind task'}`, 'g')) ?? []).length;
    expect(report, 'reported at this start').toBe(1);
    expect(server!.process.output()).toContain(`failed/${id}.json`);
    expect(server!.process.output()).toContain(`reset --hard ${sha}`); // what to run by hand
    expect(fs.existsSync(path.join(dir, 'failed', `${id}.json`))).toBe(true);
    expect(fs.readdirSync(dir).filter((n) => n.startsWith(id))).toEqual([]);
    await stop();
    await start();
    expect(server!.process.output(), 'not retried at the next start').not.toContain(id);
    fs.rmSync(notAWorktree, { recursive: true, force: true });
  }, 120_000);
});

describe('a server killed inside the retention', () => {
  const Complete = `mutation($t: ID!) { completeTask(input: { taskId: $t, workerId: "w" }) { task { id } } }`;
  const TaskState = `query($t: ID!) { task(id: $t) { archivedAt headCommit history(first: 10, filter: { eventTypes: [TASK] }) { edges { node { eventSubtype } } } } }`;

  it.each(STEPS('archive task (retention)', ['removeWorkspace']))('the retention, killed at %s, archives the task with its uncommitted work once restarted', async (point) => {
    // A server of its own (data directory and database): the retention archives every finished task it finds.
    const saved = { env, token };
    await stop();
    env = { ...saved.env, MAKIMA_DATA_DIR: path.join(root, `retention-${++repoCount}`), MAKIMA_ARCHIVE_AFTER_DAYS: '0.00001', MAKIMA_ARCHIVE_SWEEP_MS: '200' };
    const db = TEST_DATABASE_URL ? await createPostgresDatabase() : undefined;
    try {
      if (db) {
        env.DATABASE_URL = db.url;
        await runMakima(['migrate'], env);
        token = (JSON.parse((await runMakima(['user', 'create', '--name', 'retention', '--json'], env)).stdout) as { token: string }).token;
      }
      await start();
      const f = await fixture();
      const work = uncommittedWork(f.worktree, point);
      fs.writeFileSync(crashFile, point);
      const exit = new Promise<NodeJS.Signals | null>((resolve) => server!.process.child.once('exit', (_code, signal) => resolve(signal)));
      // Finished: about a second later the retention archives the task (the supervisor is never its to archive).
      for (;;) {
        const claimed = (await api(Setup.claim)).claimTask.assignment;
        if (!claimed) break;
        await api(Complete, { t: claimed.task.id });
      }
      expect(await exit, `the server died at ${point}`).toBe('SIGKILL');
      server = undefined;
      await start();
      let task = (await api(TaskState, { t: f.taskId })).task;
      // Rolled back at the start, the task is archived again by the next sweep.
      for (let i = 0; task.archivedAt === null && i < 600; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        task = (await api(TaskState, { t: f.taskId })).task;
      }
      expect(task.archivedAt).not.toBeNull();
      const subtypes = task.history.edges.map((e: any) => e.node.eventSubtype);
      expect(subtypes.filter((s: string) => s === 'recovered').length).toBe(point.endsWith('after-commit') ? 0 : 1);
      expect(fs.existsSync(f.worktree)).toBe(false);
      const archived = git(f.repo, 'rev-parse', `refs/makima/archived/${rawId(f.taskId)}`);
      expect(archived).toBe(task.headCommit);
      for (const [file, content] of Object.entries(work.files)) {
        const there = git(f.repo, 'ls-tree', '--name-only', archived, '--', file) === file;
        expect(there ? git(f.repo, 'show', `${archived}:${file}`) : null, file).toBe(content === null ? null : content.trim());
      }
      expect(git(f.repo, 'for-each-ref', '--format=%(refname)', 'refs/heads/makima/')).not.toContain(rawId(f.taskId).slice(0, 8));
    } finally {
      await stop();
      await db?.drop();
      env = saved.env;
      token = saved.token;
      await start();
    }
  }, 300_000);
});
