// Checkpoints on real repositories: what a checkpoint commits and records, Task.checkpoints,
// Checkpoint.diff, and branchFromCheckpoint with its name validation.
import fs from 'node:fs';
import { simpleGit } from 'simple-git';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../src/generated/gql/index.js';
import { codes, rawId, startTestServer, type TestServer, type TestUser } from './harness.js';
import { checkpoint, CreateCheckpoint, RewindTask, say, taskOnRepo } from './fixtures.js';
import { failInserts, fileMap, head, recordGitCommands, status, write } from './worktrees.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => t?.stop());

const History = graphql(`
  query CheckpointHistory($id: ID!) {
    task(id: $id) { headCommit history(first: 100, filter: { eventTypes: [CHECKPOINT, FILE] }) { edges { node { eventType eventSubtype data } } } }
  }
`);
const Checkpoints = graphql(`
  query TaskCheckpoints($id: ID!, $first: Int, $after: String) {
    task(id: $id) { checkpoints(first: $first, after: $after) { edges { node { number message } } pageInfo { hasNextPage endCursor } } }
  }
`);
const Diff = graphql(`
  query CheckpointDiff($id: ID!, $against: ID) {
    node(id: $id) {
      ... on Checkpoint { number diff(against: $against) { files { path status additions deletions binary } patch truncated baseCommit against { number } } }
    }
  }
`);
const Branch = graphql(`
  mutation BranchFromCheckpoint($input: BranchFromCheckpointInput!) { branchFromCheckpoint(input: $input) { branchName commitSha } }
`);

/** The diff of a checkpoint (against `against`, or by default), as Checkpoint.diff returns it. */
async function diffOf(user: TestUser, id: string, against?: string) {
  const { node } = await user.ok(Diff, { id, ...(against ? { against } : {}) });
  if (!node || !('diff' in node)) throw new Error(`${id} is not a checkpoint`);
  return node.diff;
}

describe('createCheckpoint', () => {
  it('commits tracked and untracked files on the task branch, not ignored ones, and records what changed', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    const base = await head(f.worktree);
    write(f.worktree, { 'src/a.txt': 'alpha\nBETA\ngamma\n', 'src/b.txt': null, 'new/untracked.txt': 'fresh\n', 'debug.log': 'ignored\n', 'build/out.bin': 'ignored' });
    const cp = await checkpoint(user, f.taskId, 'first steps');

    expect(cp.number).toBe(1);
    expect(cp.isBackup).toBe(false);
    expect(cp.branch).toBe(f.branch);
    expect(await head(f.worktree)).toBe(cp.commitSha);
    expect(await simpleGit(f.repo).revparse([`refs/heads/${f.branch}`])).toBe(cp.commitSha);
    expect(await simpleGit(f.repo).revparse([`${cp.commitSha}^`])).toBe(base);
    const tree = (await simpleGit(f.repo).raw(['ls-tree', '-r', '--name-only', cp.commitSha])).trim().split('\n');
    expect(tree.sort()).toEqual(['.gitignore', 'README.md', 'new/untracked.txt', 'src/a.txt']);
    expect(await status(f.worktree)).toBe('');
    expect(cp.filesChanged).toEqual([
      { path: 'new/untracked.txt', status: 'ADDED', additions: 1, deletions: 0, binary: false },
      { path: 'src/a.txt', status: 'MODIFIED', additions: 1, deletions: 1, binary: false },
      { path: 'src/b.txt', status: 'DELETED', additions: 0, deletions: 2, binary: false },
    ]);
    // Kept reachable under its own ref, whatever happens to the branch later.
    expect(await simpleGit(f.repo).revparse([`refs/makima/checkpoints/${rawId(f.taskId)}/1`])).toBe(cp.commitSha);

    const data = await user.ok(History, { id: f.taskId });
    expect(data.task!.headCommit).toBe(cp.commitSha);
    const events = data.task!.history.edges.map((e) => e.node);
    expect(events.map((e) => `${e.eventType}/${e.eventSubtype}`).sort()).toEqual(['CHECKPOINT/created', 'FILE/changed']);
    const fileEvent = events.find((e) => e.eventType === 'FILE')!;
    expect((fileEvent.data as { files: unknown }).files).toEqual([
      { path: 'new/untracked.txt', status: 'added' },
      { path: 'src/a.txt', status: 'modified' },
      { path: 'src/b.txt', status: 'deleted' },
    ]);
    const created = events.find((e) => e.eventType === 'CHECKPOINT')!;
    // Ids in data are global IDs, as every ID argument takes them.
    expect(created.data).toMatchObject({ checkpointId: cp.id, number: 1, commitSha: cp.commitSha, message: 'first steps', isBackup: false });
  });

  it('links a CHECKPOINT snapshot of the conversation both ways', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    await say(user, f.taskId, 'plan', 'ok', 'go');
    const cp = await checkpoint(user, f.taskId, 'with conversation');
    expect(cp.snapshot).toMatchObject({ snapshotType: 'CHECKPOINT', messageCount: 3, checkpoint: { id: cp.id } });
    const row = await t.db.prisma.taskCheckpoint.findUniqueOrThrow({ where: { id: rawId(cp.id) }, include: { snapshot: true } });
    expect(row.snapshot?.checkpointId).toBe(row.id);
  });

  it('records the current commit, without an empty commit, when nothing changed', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    write(f.worktree, { 'x.txt': 'x\n' });
    const first = await checkpoint(user, f.taskId, 'one');
    const second = await checkpoint(user, f.taskId, 'nothing new');
    expect(second.number).toBe(2);
    expect(second.commitSha).toBe(first.commitSha);
    expect(second.filesChanged).toEqual([]);
    expect(await simpleGit(f.repo).raw(['rev-list', '--count', first.commitSha])).toBe('2\n');
    const data = await user.ok(History, { id: f.taskId });
    const subtypes = data.task!.history.edges.map((e) => e.node.eventType);
    expect(subtypes.filter((s) => s === 'FILE')).toHaveLength(1);
  });

  it('lists checkpoints by number in pages', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    for (let i = 1; i <= 5; i++) {
      write(f.worktree, { 'n.txt': `${i}\n` });
      await checkpoint(user, f.taskId, `cp ${i}`);
    }
    const page1 = (await user.ok(Checkpoints, { id: f.taskId, first: 3 })).task!.checkpoints;
    expect(page1.edges.map((e) => e.node.number)).toEqual([1, 2, 3]);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const page2 = (await user.ok(Checkpoints, { id: f.taskId, first: 3, after: page1.pageInfo.endCursor })).task!.checkpoints;
    expect(page2.edges.map((e) => e.node.message)).toEqual(['cp 4', 'cp 5']);
  });

  it('refuses an empty message, and a worktree that is not on its branch with an actionable GIT_ERROR, changing nothing', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    expect(codes(await user.gql(CreateCheckpoint, { input: { taskId: f.taskId, message: '  ' } }))).toEqual(['BAD_USER_INPUT']);
    write(f.worktree, { 'x.txt': 'x\n' });
    await simpleGit(f.worktree).raw(['checkout', '--quiet', '--detach']);
    const before = await status(f.worktree);
    const result = await user.gql(CreateCheckpoint, { input: { taskId: f.taskId, message: 'detached' } });
    expect(codes(result)).toEqual(['GIT_ERROR']);
    expect(result.errors![0].message).toContain(`checkout ${f.branch}`);
    expect(await status(f.worktree)).toBe(before);
    expect(await t.db.prisma.taskCheckpoint.count({ where: { taskId: rawId(f.taskId) } })).toBe(0);
    expect(await t.db.prisma.historyEvent.count({ where: { taskId: rawId(f.taskId), eventType: 'CHECKPOINT' } })).toBe(0);
  });

  it('puts the worktree back when the database step fails after the commit', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    const before = await head(f.worktree);
    write(f.worktree, { 'src/a.txt': 'changed\n', 'untracked.txt': 'u\n' });
    const statusBefore = await status(f.worktree);
    const files = fileMap(f.worktree);
    await failInserts(t, 'task_checkpoints', `NEW.message = 'explode'`, async () => {
      const result = await user.gql(CreateCheckpoint, { input: { taskId: f.taskId, message: 'explode' } });
      expect(result.errors).toHaveLength(1);
    });
    expect(await head(f.worktree)).toBe(before);
    expect(await status(f.worktree)).toBe(statusBefore);
    expect(fileMap(f.worktree)).toEqual(files);
    expect(await simpleGit(f.repo).raw(['for-each-ref', `refs/makima/checkpoints/${rawId(f.taskId)}/`])).toBe('');
    expect(await t.db.prisma.taskCheckpoint.count({ where: { taskId: rawId(f.taskId) } })).toBe(0);
  });

  it("hides another user's task as NOT_FOUND", async () => {
    const owner = await t.createUser();
    const other = await t.createUser();
    const f = await taskOnRepo(t, owner);
    write(f.worktree, { 'x.txt': 'x\n' });
    expect(codes(await other.gql(CreateCheckpoint, { input: { taskId: f.taskId, message: 'mine now' } }))).toEqual(['NOT_FOUND']);
    expect(await status(f.worktree)).toBe('?? x.txt\n');
  });
});

describe('Checkpoint.diff', () => {
  it('lists exactly the files changed since an earlier checkpoint, with correct line counts', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    write(f.worktree, { 'keep.txt': 'k\n' });
    const cp1 = await checkpoint(user, f.taskId, 'one');
    write(f.worktree, { 'src/a.txt': 'alpha\nBETA\ngamma\ndelta\n', 'c.txt': 'c1\nc2\nc3\n' });
    await checkpoint(user, f.taskId, 'two');
    write(f.worktree, { 'src/b.txt': null, 'c.txt': 'c1\nc3\n', 'img.bin': Buffer.from([0, 1, 2, 0, 255]) });
    const cp3 = await checkpoint(user, f.taskId, 'three');

    const diff = await diffOf(user, cp3.id, cp1.id);
    expect(diff.files).toEqual([
      { path: 'c.txt', status: 'ADDED', additions: 2, deletions: 0, binary: false },
      { path: 'img.bin', status: 'ADDED', additions: 0, deletions: 0, binary: true },
      { path: 'src/a.txt', status: 'MODIFIED', additions: 2, deletions: 1, binary: false },
      { path: 'src/b.txt', status: 'DELETED', additions: 0, deletions: 2, binary: false },
    ]);
    expect(diff.against!.number).toBe(1);
    expect(diff.baseCommit).toBe(cp1.commitSha);
    expect(diff.truncated).toBe(false);
    expect(diff.patch).toContain('+++ b/src/a.txt');
    expect(diff.patch).toContain('-beta\n+BETA\n');

    // By default: against the previous checkpoint, and the task's base commit for the first.
    const byDefault = await diffOf(user, cp3.id);
    expect(byDefault.against!.number).toBe(2);
    expect(byDefault.files.map((x) => x.path)).toEqual(['c.txt', 'img.bin', 'src/b.txt']);
    const first = await diffOf(user, cp1.id);
    expect(first.against).toBeNull();
    expect(first.files).toEqual([{ path: 'keep.txt', status: 'ADDED', additions: 1, deletions: 0, binary: false }]);
  });

  it('after a rewind, compares a new checkpoint with the checkpoint rewound to, not with the backup', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    write(f.worktree, { 'one.txt': '1\n' });
    const cp1 = await checkpoint(user, f.taskId, 'one');
    write(f.worktree, { 'two.txt': '2\n' });
    await checkpoint(user, f.taskId, 'two');
    await user.ok(RewindTask, { input: { taskId: f.taskId, checkpointId: cp1.id } });
    write(f.worktree, { 'three.txt': '3\n' });
    const cp4 = await checkpoint(user, f.taskId, 'three');
    expect(cp4.number).toBe(4);
    expect(cp4.filesChanged.map((x) => x.path)).toEqual(['three.txt']);
    const diff = await diffOf(user, cp4.id);
    expect(diff.against!.number).toBe(1);
  });

  it('caps a large patch and says so, while still listing every file', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    write(f.worktree, { 'big.txt': 'x'.repeat(99) + '\n'.repeat(1) + `${'line of text\n'.repeat(30_000)}`, 'small.txt': 's\n' });
    const cp = await checkpoint(user, f.taskId, 'big');
    const diff = await diffOf(user, cp.id);
    expect(diff.truncated).toBe(true);
    expect(Buffer.byteLength(diff.patch)).toBeLessThanOrEqual(256 * 1024);
    expect(diff.patch.endsWith('\n')).toBe(true);
    expect(diff.files.map((x) => [x.path, x.additions])).toEqual([['big.txt', 30_001], ['small.txt', 1]]);
  });

  it("refuses a checkpoint of another contract's repository, and another user's checkpoint", async () => {
    const user = await t.createUser();
    const other = await t.createUser();
    const f = await taskOnRepo(t, user);
    const g = await taskOnRepo(t, user);
    const h = await taskOnRepo(t, other);
    const mine = await checkpoint(user, f.taskId, 'mine');
    const elsewhere = await checkpoint(user, g.taskId, 'elsewhere');
    const theirs = await checkpoint(other, h.taskId, 'theirs');
    expect(codes(await user.gql(Diff, { id: mine.id, against: elsewhere.id }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await user.gql(Diff, { id: mine.id, against: theirs.id }))).toEqual(['NOT_FOUND']);
    expect((await other.gql(Diff, { id: mine.id })).data?.node).toBeNull();
  });
});

describe('branchFromCheckpoint', () => {
  it("creates a branch at the checkpoint's commit and records CHECKPOINT/branched", async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    write(f.worktree, { 'x.txt': 'x\n' });
    const cp1 = await checkpoint(user, f.taskId, 'one');
    write(f.worktree, { 'y.txt': 'y\n' });
    await checkpoint(user, f.taskId, 'two');
    const data = await user.ok(Branch, { input: { taskId: f.taskId, checkpointId: cp1.id, branchName: 'feature/from-one' } });
    expect(data.branchFromCheckpoint).toEqual({ branchName: 'feature/from-one', commitSha: cp1.commitSha });
    expect(await simpleGit(f.repo).revparse(['refs/heads/feature/from-one'])).toBe(cp1.commitSha);
    const event = await t.db.prisma.historyEvent.findFirstOrThrow({ where: { taskId: rawId(f.taskId), eventSubtype: 'branched' } });
    expect(event.eventData).toMatchObject({ branchName: 'feature/from-one', commitSha: cp1.commitSha, number: 1 });
  });

  it('refuses an existing branch with CONFLICT and never moves it', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    write(f.worktree, { 'x.txt': 'x\n' });
    const cp = await checkpoint(user, f.taskId, 'one');
    const main = await simpleGit(f.repo).revparse(['refs/heads/main']);
    for (const branchName of ['main']) {
      const result = await user.gql(Branch, { input: { taskId: f.taskId, checkpointId: cp.id, branchName } });
      expect(codes(result), branchName).toEqual(['CONFLICT']);
      expect(result.errors![0].message).toContain('already exists');
    }
    expect(await simpleGit(f.repo).revparse(['refs/heads/main'])).toBe(main);
    expect(await t.db.prisma.historyEvent.count({ where: { taskId: rawId(f.taskId), eventSubtype: 'branched' } })).toBe(0);
  });

  it("refuses an existing branch at the checkpoint's own commit with CONFLICT and leaves it in place (its undo never ran)", async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    // A checkpoint with no changes records the repository's tip: main, and the branches below, are at its commit.
    const cp = await checkpoint(user, f.taskId, 'nothing changed');
    const repo = simpleGit(f.repo);
    for (const name of ['keepme', 'release/1.0']) await repo.raw(['branch', name, cp.commitSha]);
    expect(await repo.revparse(['refs/heads/main'])).toBe(cp.commitSha);
    for (const branchName of ['main', 'keepme', 'release/1.0']) {
      const result = await user.gql(Branch, { input: { taskId: f.taskId, checkpointId: cp.id, branchName } });
      expect(codes(result), branchName).toEqual(['CONFLICT']);
      expect((await repo.raw(['rev-parse', '--verify', '--quiet', `refs/heads/${branchName}`])).trim(), `${branchName} is still there`).toBe(cp.commitSha);
    }
    expect(fs.readdirSync(t.config.gitJournalDir).filter((n) => n.endsWith('.json')), 'no journal left to undo at the next start').toEqual([]);
  });

  it('refuses bad names, ids and checkpoints before running any git command, and changes nothing', async () => {
    const user = await t.createUser();
    const other = await t.createUser();
    const f = await taskOnRepo(t, user);
    const g = await taskOnRepo(t, user);
    const h = await taskOnRepo(t, other);
    write(f.worktree, { 'x.txt': 'x\n' });
    const cp = await checkpoint(user, f.taskId, 'one');
    const otherTaskCp = await checkpoint(user, g.taskId, 'other task');
    const otherUserCp = await checkpoint(other, h.taskId, 'other user');
    const refsBefore = await simpleGit(f.repo).raw(['for-each-ref']);
    const git = recordGitCommands();
    try {
      const badNames = ['--upload-pack=x', 'a..b', 'x.lock', 'with space', 'tab\there', 'bell\x07', 'nul\x00byte', 'del\x7f', '-b', 'HEAD', 'a/', '.hidden', 'a@{1}', 'colon:x', 'q?', '', 'refs/heads/main', 'refs/x', 'heads/main', 'tags/v1', 'remotes/origin/x', 'makima/evil', 'makima', 'ORIG_HEAD', 'FETCH_HEAD'];
      for (const branchName of badNames) {
        const result = await user.gql(Branch, { input: { taskId: f.taskId, checkpointId: cp.id, branchName } });
        expect(codes(result), JSON.stringify(branchName)).toEqual(['BAD_USER_INPUT']);
        expect(result.errors![0].message).toContain('branch name');
      }
      const badIds = ['HEAD~1', '--upload-pack=x', 'deadbeefz', 'not-a-sha'];
      for (const checkpointId of badIds) {
        const result = await user.gql(Branch, { input: { taskId: f.taskId, checkpointId, branchName: 'fine' } });
        expect(codes(result), checkpointId).toEqual(['BAD_USER_INPUT']);
      }
      const ofOtherTask = await user.gql(Branch, { input: { taskId: f.taskId, checkpointId: otherTaskCp.id, branchName: 'fine' } });
      expect(codes(ofOtherTask)).toEqual(['BAD_USER_INPUT']);
      const ofOtherUser = await user.gql(Branch, { input: { taskId: f.taskId, checkpointId: otherUserCp.id, branchName: 'fine' } });
      expect(codes(ofOtherUser)).toEqual(['NOT_FOUND']);
      const onOtherUsersTask = await other.gql(Branch, { input: { taskId: f.taskId, checkpointId: cp.id, branchName: 'fine' } });
      expect(codes(onOtherUsersTask)).toEqual(['NOT_FOUND']);

      expect(git.commands()).toBe('');
      // The recorder does see the server's git commands: a valid name goes through it.
      await user.ok(Branch, { input: { taskId: f.taskId, checkpointId: cp.id, branchName: 'valid-name' } });
      expect(git.commands()).toContain('refs/heads/valid-name');
    } finally {
      git.stop();
    }
    const refsAfter = (await simpleGit(f.repo).raw(['for-each-ref'])).split('\n').filter((l) => !l.endsWith('refs/heads/valid-name'));
    expect(refsAfter.join('\n')).toBe(refsBefore);
    expect(await t.db.prisma.historyEvent.count({ where: { taskId: rawId(f.taskId), eventSubtype: 'branched' } })).toBe(1);
  });

  it('refuses a checkpoint row whose sha is not hex (a tampered row) before git runs with it', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    write(f.worktree, { 'x.txt': 'x\n' });
    const cp = await checkpoint(user, f.taskId, 'one');
    await t.db.prisma.taskCheckpoint.update({ where: { id: rawId(cp.id) }, data: { commitSha: '--upload-pack=evil' } });
    const git = recordGitCommands();
    try {
      const branch = await user.gql(Branch, { input: { taskId: f.taskId, checkpointId: cp.id, branchName: 'tampered' } });
      expect(codes(branch)).toEqual(['GIT_ERROR']);
      const rewind = await user.gql(RewindTask, { input: { taskId: f.taskId, checkpointId: cp.id } });
      expect(codes(rewind)).toEqual(['GIT_ERROR']);
      expect(rewind.errors![0].message).toContain('not a hexadecimal commit sha');
      expect(git.commands()).not.toContain('evil');
    } finally {
      git.stop();
    }
    expect(await simpleGit(f.repo).raw(['for-each-ref', 'refs/heads/tampered'])).toBe('');
    expect(await t.db.prisma.taskCheckpoint.count({ where: { taskId: rawId(f.taskId) } })).toBe(1);
  });
});
