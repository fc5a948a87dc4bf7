// Several server instances on one PostgreSQL database and one repositories volume (docs/design.md
// §11): a remote worker pushes through one instance, and the other serves the checkpoint's diff, a
// fork and a clone of the same repository. Two real servers, each with its own connections.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/database.js';
import { cloneTask, commitFiles, git } from './git-client.js';
import { createTestDatabase, rawId, startTestServer, TEST_DATABASE_URL, tempDir, type TestDatabase, type TestServer } from './harness.js';

// PGlite is one process's database: instances on separate connections need PostgreSQL.
describe.skipIf(!TEST_DATABASE_URL)('two server instances sharing PostgreSQL and the repositories (skipped on PGlite: one process only)', () => {
  let database: TestDatabase;
  let first: TestServer;
  let second: TestServer;
  beforeAll(async () => {
    database = await createTestDatabase();
    first = await startTestServer({}, database);
    const shared = { MAKIMA_REPOS_ROOT: first.reposRoot, MAKIMA_WORKTREES_DIR: first.config.worktreesDir };
    const db = await openDatabase({ databaseUrl: database.url, dataDir: '' });
    second = await startTestServer(shared, { db, url: database.url, drop: async () => undefined });
  });
  afterAll(async () => {
    await second?.stop();
    await second?.db.close();
    await first?.stop();
    await database?.drop();
  });

  it('a push through one instance is diffed, forked and cloned through the other', async () => {
    const user = await first.createUser('fleet');
    const onSecond = <R = any>(query: string, variables: Record<string, unknown>) =>
      second.gql<R>(query, variables, user.token).then((r) => {
        if (r.errors?.length) throw new Error(JSON.stringify(r.errors));
        return r.data as R;
      });
    const repo = await first.makeRepo({ 'README.md': '# fleet\n' });
    await user.ok(`mutation($input: CreateContractInput!) { createContract(input: $input) { contract { id } } }`, { input: { name: 'fleet', repositoryPath: repo } });
    const { assignment } = (
      await user.ok(`mutation { claimTask(input: { workerId: "w-fleet", remote: true }) { assignment { task { id } branch commitSha gitUrl } } }`)
    ).claimTask;
    expect(new URL(assignment.gitUrl).port).toBe(String(first.server.port));

    const work = await cloneTask(assignment.gitUrl, user.token, assignment);
    const sha = await commitFiles(work, { 'fleet.txt': 'pushed through the first\n' });
    await git(work, ['push', '--quiet', 'origin', `HEAD:refs/heads/${assignment.branch}`], { token: user.token, workerId: 'w-fleet' });
    const checkpoint = (
      await user.ok(`mutation($input: CreateCheckpointInput!) { createCheckpoint(input: $input) { checkpoint { id } } }`, {
        input: { taskId: assignment.task.id, workerId: 'w-fleet', commitSha: sha, message: 'through the first' },
      })
    ).createCheckpoint.checkpoint;

    const read = await onSecond<any>(`query($id: ID!) { node(id: $id) { ... on Checkpoint { commitSha diff { files { path status } } } } }`, { id: checkpoint.id });
    expect(read.node).toEqual({ commitSha: sha, diff: { files: [{ path: 'fleet.txt', status: 'ADDED' }] } });

    const fork = (await onSecond<any>(`mutation($input: ForkTaskInput!) { forkTask(input: $input) { task { id branch headCommit } } }`, { input: { taskId: assignment.task.id, checkpointId: checkpoint.id } }))
      .forkTask.task;
    expect(fork.headCommit).toBe(sha);
    expect(await git(repo, ['rev-parse', `refs/heads/${fork.branch}`])).toBe(sha);

    const secondUrl = (await onSecond<any>(`query($id: ID!) { node(id: $id) { ... on Task { contract { gitUrl } } } }`, { id: fork.id })).node.contract.gitUrl;
    expect(new URL(secondUrl).port).toBe(String(second.server.port));
    const dir = tempDir('makima-second-clone-');
    await git(dir, ['clone', '--quiet', '--branch', fork.branch, secondUrl, 'copy'], { token: user.token });
    expect(await git(path.join(dir, 'copy'), ['rev-parse', 'HEAD'])).toBe(sha);
    expect(rawId(fork.id)).not.toBe(rawId(assignment.task.id));
  });
});
