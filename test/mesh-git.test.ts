// The mesh, server side (docs/design.md §11): a contract's repository over git's smart HTTP
// protocol, served by git itself on the API's port; remote claims (the code lives in the task's
// branch, not in a server worktree); createCheckpoint of a pushed commit. A real git client
// (git clone / git push as child processes) against a real server.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloneTask, commitFiles, git, runGit } from './git-client.js';
import { codes, rawId, startTestServer, tempDir, type TestServer, type TestUser } from './harness.js';

let t: TestServer;
let user: TestUser;

beforeAll(async () => {
  t = await startTestServer();
  user = await t.createUser('mesh');
});
afterAll(async () => {
  await t.stop();
});

export const Mesh = {
  contract: `mutation($input: CreateContractInput!) { createContract(input: $input) { contract { id gitUrl repositoryPath supervisor { id } } } }`,
  task: `mutation($input: CreateTaskInput!) { createTask(input: $input) { task { id branch worktreePath headCommit } } }`,
  claim: `mutation($input: ClaimTaskInput!) { claimTask(input: $input) {
    assignment { task { id } worktreePath branch commitSha gitUrl remote } } }`,
  checkpoint: `mutation($input: CreateCheckpointInput!) { createCheckpoint(input: $input) {
    checkpoint { id number commitSha isBackup filesChanged { path status } diff { files { path status } } } } }`,
  taskState: `query($id: ID!) { task(id: $id) { id status headCommit branch } }`,
  token: `mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { token } }`,
};

/** A contract with one PENDING task (its supervisor), claimed by `workerId` — remote unless told otherwise. */
async function claimedTask(workerId: string, remote = true) {
  user = await t.createUser(workerId); // its own user: the claim takes the user's oldest pending task
  const repo = await t.makeRepo({ 'README.md': '# mesh\n', 'src/app.txt': 'v1\n' });
  const contract = (await user.ok(Mesh.contract, { input: { name: 'mesh', repositoryPath: repo } })).createContract.contract;
  const { assignment } = (await user.ok(Mesh.claim, { input: { workerId, remote } })).claimTask;
  expect(assignment.task.id).toBe(contract.supervisor.id);
  return { contract, assignment, taskId: assignment.task.id as string, repo };
}

async function checkpointEvents(taskId: string): Promise<number> {
  return t.db.prisma.historyEvent.count({ where: { taskId: rawId(taskId), eventType: 'CHECKPOINT', eventSubtype: 'created' } });
}

describe('Contract.gitUrl', () => {
  it('is an absolute clone URL on the API host, under /git/, ending in .git', async () => {
    const repo = await t.makeRepo();
    const contract = (await user.ok(Mesh.contract, { input: { name: 'url', repositoryPath: repo } })).createContract.contract;
    const origin = new URL(t.url).origin;
    expect(contract.gitUrl).toBe(`${origin}/git/${encodeURIComponent(contract.id)}.git`);
  });

  it('clones with any token of the owner, a READ token included', async () => {
    const repo = await t.makeRepo({ 'hello.txt': 'hello\n' });
    const contract = (await user.ok(Mesh.contract, { input: { name: 'clone', repositoryPath: repo } })).createContract.contract;
    const read = (await user.ok(Mesh.token, { input: { name: 'reader', scope: 'READ' } })).createApiToken.token;
    const dir = tempDir('makima-clone-');
    await git(dir, ['clone', '--quiet', contract.gitUrl, 'copy'], { token: read });
    expect(fs.readFileSync(path.join(dir, 'copy', 'hello.txt'), 'utf8')).toBe('hello\n');
    expect(await git(path.join(dir, 'copy'), ['rev-parse', 'HEAD'])).toBe(await git(repo, ['rev-parse', 'HEAD']));
  });
});

describe('claimTask(remote: true)', () => {
  it('hands the worker gitUrl, branch and commit, no server path, and removes the server worktree', async () => {
    user = await t.createUser('remote');
    const repo = await t.makeRepo();
    const contract = (await user.ok(Mesh.contract, { input: { name: 'remote', repositoryPath: repo } })).createContract.contract;
    const worktree = (await t.db.prisma.task.findUniqueOrThrow({ where: { id: rawId(contract.supervisor.id) } })).worktreePath!;
    expect(fs.existsSync(worktree)).toBe(true);
    const { assignment } = (await user.ok(Mesh.claim, { input: { workerId: 'w-remote', remote: true } })).claimTask;
    expect(assignment).toMatchObject({ remote: true, worktreePath: '', gitUrl: contract.gitUrl, commitSha: await git(repo, ['rev-parse', 'HEAD']) });
    expect(fs.existsSync(worktree)).toBe(false);
    expect(await git(repo, ['rev-parse', `refs/heads/${assignment.branch}`])).toBe(assignment.commitSha);
  });

  it('saves work left in the server worktree as a backup checkpoint before removing it', async () => {
    user = await t.createUser('left');
    const repo = await t.makeRepo();
    const contract = (await user.ok(Mesh.contract, { input: { name: 'left', repositoryPath: repo } })).createContract.contract;
    const worktree = (await t.db.prisma.task.findUniqueOrThrow({ where: { id: rawId(contract.supervisor.id) } })).worktreePath!;
    fs.writeFileSync(path.join(worktree, 'left-behind.txt'), 'an agent wrote this\n');
    const { assignment } = (await user.ok(Mesh.claim, { input: { workerId: 'w-left', remote: true } })).claimTask;
    const backup = await t.db.prisma.taskCheckpoint.findFirstOrThrow({ where: { taskId: rawId(assignment.task.id) } });
    expect(backup).toMatchObject({ isBackup: true, commitSha: assignment.commitSha });
    expect(await git(repo, ['show', `${assignment.commitSha}:left-behind.txt`])).toBe('an agent wrote this');
  });

  it('materialises the server worktree again when a local worker claims the task next', async () => {
    const { taskId, assignment, contract } = await claimedTask('w-first');
    const work = await cloneTask(assignment.gitUrl, user.token, assignment);
    const sha = await commitFiles(work, { 'remote.txt': 'from afar\n' });
    await git(work, ['push', '--quiet', 'origin', `HEAD:refs/heads/${assignment.branch}`], { token: user.token, workerId: 'w-first' });
    await user.ok(Mesh.checkpoint, { input: { taskId, workerId: 'w-first', commitSha: sha, message: 'remote work' } });
    await user.ok(`mutation($input: FailTaskInput!) { failTask(input: $input) { task { id } } }`, { input: { taskId, workerId: 'w-first', error: 'stopped' } });
    await user.ok(`mutation($id: ID!) { resumeTask(input: { taskId: $id }) { task { id } } }`, { id: taskId });
    const local = (await user.ok(Mesh.claim, { input: { workerId: 'w-local' } })).claimTask.assignment;
    expect(local).toMatchObject({ remote: false, commitSha: sha, gitUrl: contract.gitUrl });
    expect(fs.readFileSync(path.join(local.worktreePath, 'remote.txt'), 'utf8')).toBe('from afar\n');
    expect(await git(local.worktreePath, ['symbolic-ref', 'HEAD'])).toBe(`refs/heads/${local.branch}`);
  });
});

describe('createCheckpoint(commitSha)', () => {
  it('records a pushed commit: the branch, headCommit, a protected ref, the diff; the same sha twice is one checkpoint', async () => {
    const { taskId, assignment, repo } = await claimedTask('w-record');
    const work = await cloneTask(assignment.gitUrl, user.token, assignment);
    const sha = await commitFiles(work, { 'src/app.txt': 'v2\n', 'new.txt': 'new\n' });
    await git(work, ['push', '--quiet', 'origin', `HEAD:refs/heads/${assignment.branch}`], { token: user.token, workerId: 'w-record' });

    const input = { taskId, workerId: 'w-record', commitSha: sha, message: 'pushed work' };
    const first = (await user.ok(Mesh.checkpoint, { input })).createCheckpoint.checkpoint;
    expect(first).toMatchObject({ number: 1, commitSha: sha, isBackup: false });
    expect(first.diff.files).toEqual([
      { path: 'new.txt', status: 'ADDED' },
      { path: 'src/app.txt', status: 'MODIFIED' },
    ]);
    expect((await user.ok(Mesh.taskState, { id: taskId })).task.headCommit).toBe(sha);
    expect(await git(repo, ['rev-parse', `refs/makima/checkpoints/${rawId(taskId)}/1`])).toBe(sha);

    const again = (await user.ok(Mesh.checkpoint, { input })).createCheckpoint.checkpoint;
    expect(again.id).toBe(first.id);
    expect(await checkpointEvents(taskId)).toBe(1);
  });

  it('fast-forwards the branch to a commit pushed only under refs/makima/tasks/<task>/', async () => {
    const { taskId, assignment, repo } = await claimedTask('w-taskref');
    const work = await cloneTask(assignment.gitUrl, user.token, assignment);
    const sha = await commitFiles(work, { 'side.txt': 'side\n' });
    await git(work, ['push', '--quiet', 'origin', `HEAD:refs/makima/tasks/${rawId(taskId)}/wip-1`], { token: user.token, workerId: 'w-taskref' });
    await user.ok(Mesh.checkpoint, { input: { taskId, workerId: 'w-taskref', commitSha: sha, message: 'from a task ref' } });
    expect(await git(repo, ['rev-parse', `refs/heads/${assignment.branch}`])).toBe(sha);
  });

  it('records a backup checkpoint (isBackup) for a worker saving before it stops', async () => {
    const { taskId, assignment } = await claimedTask('w-backup');
    const work = await cloneTask(assignment.gitUrl, user.token, assignment);
    const sha = await commitFiles(work, { 'unsaved.txt': 'dirty\n' });
    await git(work, ['push', '--quiet', 'origin', `HEAD:refs/heads/${assignment.branch}`], { token: user.token, workerId: 'w-backup' });
    const checkpoint = (await user.ok(Mesh.checkpoint, { input: { taskId, workerId: 'w-backup', commitSha: sha, message: 'before stop', isBackup: true } })).createCheckpoint.checkpoint;
    expect(checkpoint).toMatchObject({ isBackup: true, commitSha: sha });
  });

  it('refuses a commit that never arrived (BAD_USER_INPUT) or does not descend from the head (CONFLICT), changing nothing', async () => {
    const { taskId, assignment, repo } = await claimedTask('w-forged');
    const never = 'f'.repeat(40);
    const missing = await user.gql(Mesh.checkpoint, { input: { taskId, workerId: 'w-forged', commitSha: never, message: 'forged' } });
    expect(codes(missing)).toEqual(['BAD_USER_INPUT']);
    expect(missing.errors![0].message).toMatch(/has not arrived.*push it first/);

    // A commit that did arrive (under the task's refs) but is not built on the task's head.
    const work = await cloneTask(assignment.gitUrl, user.token, assignment);
    await git(work, ['checkout', '--quiet', '--orphan', 'elsewhere']);
    const unrelated = await commitFiles(work, { 'other.txt': 'unrelated\n' });
    await git(work, ['push', '--quiet', 'origin', `HEAD:refs/makima/tasks/${rawId(taskId)}/unrelated`], { token: user.token, workerId: 'w-forged' });
    const sideways = await user.gql(Mesh.checkpoint, { input: { taskId, workerId: 'w-forged', commitSha: unrelated, message: 'sideways' } });
    expect(codes(sideways)).toEqual(['CONFLICT']);
    expect(sideways.errors![0].message).toMatch(/does not descend from the task's head/);

    const short = await user.gql(Mesh.checkpoint, { input: { taskId, workerId: 'w-forged', commitSha: assignment.commitSha.slice(0, 12), message: 'short' } });
    expect(codes(short)).toEqual(['BAD_USER_INPUT']);

    expect(await checkpointEvents(taskId)).toBe(0);
    expect((await user.ok(Mesh.taskState, { id: taskId })).task.headCommit).toBe(assignment.commitSha);
    expect(await git(repo, ['rev-parse', `refs/heads/${assignment.branch}`])).toBe(assignment.commitSha);
    expect(await git(repo, ['for-each-ref', `refs/makima/checkpoints/${rawId(taskId)}/`])).toBe('');
  });

  it('refuses commitSha for a task running in a server worktree, and a remote worker checkpointing without one', async () => {
    const local = await claimedTask('w-local-only', false);
    const withSha = await user.gql(Mesh.checkpoint, { input: { taskId: local.taskId, workerId: 'w-local-only', commitSha: local.assignment.commitSha, message: 'x' } });
    expect(codes(withSha)).toEqual(['BAD_USER_INPUT']);
    await user.ok(`mutation($input: CompleteTaskInput!) { completeTask(input: $input) { task { id } } }`, { input: { taskId: local.taskId, workerId: 'w-local-only' } });

    const remote = await claimedTask('w-remote-only');
    const withoutSha = await user.gql(Mesh.checkpoint, { input: { taskId: remote.taskId, workerId: 'w-remote-only', message: 'x' } });
    expect(codes(withoutSha)).toEqual(['BAD_USER_INPUT']);
    expect(withoutSha.errors![0].message).toMatch(/claimed remote.*commitSha/);
  });
});

describe('git push over HTTP', () => {
  it('says why a refused ref is refused, and accepts the others of the same push', async () => {
    const { taskId, assignment, repo } = await claimedTask('w-mixed');
    const work = await cloneTask(assignment.gitUrl, user.token, assignment);
    await commitFiles(work, { 'a.txt': 'a\n' });
    const refs = [`HEAD:refs/heads/${assignment.branch}`, 'HEAD:refs/heads/feature', 'HEAD:refs/heads/main', `HEAD:refs/makima/checkpoints/${rawId(taskId)}/9`];
    const push = await runGit(work, ['push', 'origin', ...refs], {
      token: user.token,
      workerId: 'w-mixed',
    });
    expect(push.code).not.toBe(0);
    expect(push.stderr).toMatch(/refs\/heads\/feature refused: worker w-mixed may push only the branch of a task whose live lease it holds/);
    expect(push.stderr).toMatch(/\[remote rejected\] HEAD -> feature \(hook declined\)/);
    expect(push.stderr).toMatch(/\[remote rejected\] HEAD -> main \(branch is currently checked out\)/);
    expect(push.stderr).toMatch(/checkpoints\/.*refused: checkpoint refs are written by the server only/);
    expect(await git(repo, ['for-each-ref', 'refs/heads/feature'])).toBe('');
    expect(await git(repo, ['rev-parse', `refs/heads/${assignment.branch}`])).toBe(await git(work, ['rev-parse', 'HEAD']));
    expect(await git(repo, ['rev-parse', 'refs/heads/main'])).toBe(assignment.commitSha);
  });

  it('never rewrites: a non-fast-forward of the branch and an existing task ref are refused', async () => {
    const { taskId, assignment, repo } = await claimedTask('w-rewrite');
    const work = await cloneTask(assignment.gitUrl, user.token, assignment);
    const first = await commitFiles(work, { 'one.txt': '1\n' });
    const opts = { token: user.token, workerId: 'w-rewrite' };
    await git(work, ['push', '--quiet', 'origin', `HEAD:refs/heads/${assignment.branch}`, `HEAD:refs/makima/tasks/${rawId(taskId)}/keep`], opts);
    await git(work, ['reset', '--quiet', '--hard', assignment.commitSha]);
    await commitFiles(work, { 'two.txt': '2\n' });
    const forced = await runGit(work, ['push', '--force', 'origin', `HEAD:refs/heads/${assignment.branch}`, `HEAD:refs/makima/tasks/${rawId(taskId)}/keep`], opts);
    expect(forced.code).not.toBe(0);
    expect(forced.stderr).toMatch(/non-fast-forward|only fast-forwards/);
    expect(forced.stderr).toMatch(/create-only/);
    expect(await git(repo, ['rev-parse', `refs/heads/${assignment.branch}`])).toBe(first);
    expect(await git(repo, ['rev-parse', `refs/makima/tasks/${rawId(taskId)}/keep`])).toBe(first);
  });
});
