// `makima task rewind --working-tree` on a captured session (docs/claude-code.md, docs/design.md
// §12): a real server, the real command, the user's own repository. The files become the
// checkpoint's, what was there is the backup checkpoint (untracked files included, ignored ones
// left alone), the user's HEAD, branches, index and stash do not move, and every refusal changes
// nothing — files, git state, the task's head and its checkpoints.
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../../src/generated/gql/index.js';
import { codes, startTestServer, tempDir, type TestServer, type TestUser } from '../harness.js';
import { createContract, CreateCheckpoint, RewindTask, taskOnRepo } from '../fixtures.js';
import { fileMap, write } from '../worktrees.js';
import { runMakima } from './run.js';

const ImportSession = graphql(`
  mutation RewindWorkingTreeImport($input: ImportTranscriptInput!) { importTranscript(input: $input) { task { id branch worktreePath } } }
`);
const TaskCode = `query($id: ID!) { task(id: $id) { headCommit checkpoints(first: 20) { edges { node { number commitSha isBackup message } } } } }`;

const SESSION = fs.readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'claude-code', 'session.jsonl'), 'utf8');
const SESSION_ID = '5b1f0c2e-8d2a-4c1e-9a57-0f3c2d1e4b6a';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => t?.stop());

const env = (user: TestUser) => ({ MAKIMA_URL: t.url, MAKIMA_TOKEN: user.token });

function git(repo: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The working tree as a commit made the way capture makes one (a temporary index), recorded as the task's checkpoint. */
async function captureCheckpoint(user: TestUser, repo: string, taskId: string, force: string[] = []) {
  const index = path.join(repo, '.git', 'test-capture.index');
  const genv = { ...process.env, GIT_INDEX_FILE: index };
  const run = (...args: string[]) => execFileSync('git', args, { cwd: repo, env: genv, encoding: 'utf8' }).trim();
  run('read-tree', 'HEAD');
  run('add', '-A');
  if (force.length) run('add', '-f', ...force);
  const sha = run('commit-tree', run('write-tree'), '-p', 'HEAD', '-m', 'end of turn');
  fs.rmSync(index);
  await user.ok(CreateCheckpoint, { input: { taskId, message: 'end of turn', commitSha: sha } });
  return sha;
}

/** Everything of the user's git state a rewind of their files must leave byte for byte. */
function userGitState(repo: string) {
  return {
    index: crypto.createHash('sha256').update(fs.readFileSync(path.join(repo, '.git', 'index'))).digest('hex'),
    head: fs.readFileSync(path.join(repo, '.git', 'HEAD'), 'utf8'),
    refs: git(repo, 'for-each-ref', '--format=%(refname) %(objectname)', 'refs/heads', 'refs/stash'),
    stash: git(repo, 'stash', 'list'),
  };
}

/** A captured session's task on a repository of its own, with checkpoint #1 of the working tree it had then. */
async function capturedSession(user: TestUser) {
  const repo = await t.makeRepo({ 'README.md': '# app\n', '.gitignore': 'build/\n', 'src/a.ts': 'export const a = 1;\n' });
  const contract = await createContract(user, repo);
  const content = SESSION.replaceAll(SESSION_ID, crypto.randomUUID());
  const { task } = (await user.ok(ImportSession, { input: { contractId: contract.id, source: 'CLAUDE_CODE_JSONL', content } })).importTranscript;
  expect(task).toMatchObject({ branch: null, worktreePath: null });
  // The turn of checkpoint #1: `a` changed, `new` written (untracked).
  write(repo, { 'src/a.ts': 'export const a = 2;\n', 'src/new.ts': 'export const fresh = 1;\n' });
  const first = await captureCheckpoint(user, repo, task.id);
  // What the user has now: `a` changed again, `new` gone, `later` untracked, a staged README, a stash, ignored output.
  write(repo, { 'README.md': '# app, stashed\n' });
  git(repo, 'stash');
  write(repo, { 'src/a.ts': 'export const a = 3;\n', 'src/new.ts': null, 'src/later.ts': 'export const later = 1;\n', 'README.md': '# app, staged\n', 'build/out.js': 'ignored\n' });
  git(repo, 'add', 'README.md');
  write(repo, { 'README.md': '# app, staged and then edited\n' });
  return { repo, taskId: task.id, first };
}

async function taskCode(user: TestUser, taskId: string) {
  const { task } = await user.ok<any>(TaskCode, { id: taskId });
  return { headCommit: task.headCommit as string, checkpoints: task.checkpoints.edges.map((e: any) => e.node) as { number: number; commitSha: string; isBackup: boolean; message: string }[] };
}

/** What a refused rewind must leave: the files, the git state, the task's head and checkpoints. */
async function everything(user: TestUser, repo: string, taskId: string) {
  return { files: fileMap(repo), git: userGitState(repo), task: await taskCode(user, taskId) };
}

describe('makima task rewind --working-tree', () => {
  it("sets the user's files to the checkpoint's after saving them as the backup, moving no HEAD, branch, index or stash", async () => {
    const user = await t.createUser();
    const s = await capturedSession(user);
    const before = { files: fileMap(s.repo), git: userGitState(s.repo) };

    const result = await runMakima(['task', 'rewind', s.taskId, '#1', '--working-tree'], env(user), undefined, path.join(s.repo, 'src'));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('now holds checkpoint #1');
    expect(result.stdout).toContain(`undo (code): makima task rewind ${s.taskId} '#2' --working-tree`);

    // The checkpoint's files: `a` and `new` as they were, `later` (not in it, saved in the backup) removed, the ignored output kept.
    expect(fileMap(s.repo)).toEqual({
      '.gitignore': 'build/\n',
      'README.md': '# app\n',
      'src/a.ts': 'export const a = 2;\n',
      'src/new.ts': 'export const fresh = 1;\n',
      'build/out.js': 'ignored\n',
    });
    expect(userGitState(s.repo)).toEqual(before.git);
    // What git shows now is the checkpoint against the user's HEAD, with what they had staged still staged.
    expect(git(s.repo, 'diff', '--cached', '--name-only')).toBe('README.md\n');
    expect(git(s.repo, 'show', ':README.md')).toBe('# app, staged\n');

    // The task is at #1, and the backup #2 holds the working tree as it was: the untracked `later`, the edited README, not the ignored output.
    const code = await taskCode(user, s.taskId);
    expect(code.headCommit).toBe(s.first);
    const backup = code.checkpoints.find((c) => c.number === 2)!;
    expect(backup).toMatchObject({ isBackup: true, message: 'before rewind to #1' });
    expect(git(s.repo, 'ls-tree', '-r', '--name-only', backup.commitSha).split('\n').filter(Boolean).sort()).toEqual(['.gitignore', 'README.md', 'src/a.ts', 'src/later.ts']);
    for (const file of ['README.md', 'src/a.ts', 'src/later.ts']) expect(git(s.repo, 'show', `${backup.commitSha}:${file}`)).toBe(before.files[file]);
    expect(git(s.repo, 'rev-parse', `${backup.commitSha}^`)).toBe(git(s.repo, 'rev-parse', 'HEAD'));

    // The undo it printed gives every file back, byte for byte.
    const undo = await runMakima(['task', 'rewind', s.taskId, '#2', '--working-tree'], env(user), undefined, s.repo);
    expect(undo.code).toBe(0);
    expect(fileMap(s.repo)).toEqual(before.files);
    expect(userGitState(s.repo)).toEqual(before.git);
  });

  it('refuses, changing nothing, outside the task’s repository, for a missing commit, over ignored files, and for a task with its own worktree', async () => {
    const user = await t.createUser();
    const s = await capturedSession(user);
    const before = await everything(user, s.repo, s.taskId);
    const other = await t.makeRepo();
    const refused = async (args: string[], cwd: string, code: number, message: RegExp) => {
      const result = await runMakima(['task', 'rewind', s.taskId, ...args], env(user), undefined, cwd);
      expect(result.stderr).toMatch(message);
      expect(result.code).toBe(code);
      expect(await everything(user, s.repo, s.taskId)).toEqual(before);
    };
    await refused(['#1', '--working-tree'], other, 2, /is not in the repository of task/);
    await refused(['#1', '--working-tree'], tempDir('makima-nogit-'), 2, /is not in a git repository/);
    await refused(['#1', '--working-tree', '--mode', 'conversation'], s.repo, 2, /--mode code or --mode both/);
    await refused(['#9', '--working-tree'], s.repo, 3, /has no checkpoint #9/);

    // A checkpoint holding a file where the user now has an ignored one: a rewind leaves ignored files alone, so it refuses.
    const withIgnored = await everything(user, s.repo, s.taskId);
    write(s.repo, { 'build/out.js': 'then\n' });
    await captureCheckpoint(user, s.repo, s.taskId, ['build/out.js']);
    write(s.repo, { 'build/out.js': 'ignored\n' });
    const now = await everything(user, s.repo, s.taskId);
    expect(now.files).toEqual(withIgnored.files);
    const inTheWay = await runMakima(['task', 'rewind', s.taskId, '#2', '--working-tree'], env(user), undefined, s.repo);
    expect(inTheWay.stderr).toMatch(/holds build\/out\.js, which your working tree has as ignored files/);
    expect(inTheWay.code).toBe(4);
    expect(await everything(user, s.repo, s.taskId)).toEqual(now);

    // The commit of checkpoint #1 gone from the repository (its object removed): refused before anything is saved.
    const object = path.join(s.repo, '.git', 'objects', s.first.slice(0, 2), s.first.slice(2));
    fs.rmSync(object);
    const missing = await runMakima(['task', 'rewind', s.taskId, '#1', '--working-tree'], env(user), undefined, s.repo);
    expect(missing.stderr).toMatch(/is not in .*rewind to another checkpoint/);
    expect(missing.code).toBe(1);
    expect(await everything(user, s.repo, s.taskId)).toEqual(now);

    // A task with a worktree of its own: its rewind sets that worktree; --working-tree is refused.
    const own = await taskOnRepo(t, user);
    await user.ok(CreateCheckpoint, { input: { taskId: own.taskId, message: 'one' } });
    const result = await runMakima(['task', 'rewind', own.taskId, '#1', '--working-tree'], env(user), undefined, own.repo);
    expect(result.stderr).toMatch(/has its own worktree and branch .* rewind it without --working-tree/);
    expect(result.code).toBe(2);
  });
});

describe('rewindTask(workingTreeCommit)', () => {
  it('refuses a working tree commit for a conversation rewind, a task with a branch, a missing commit or a non-sha, changing nothing', async () => {
    const user = await t.createUser();
    const s = await capturedSession(user);
    const own = await taskOnRepo(t, user);
    const ownCheckpoint = (await user.ok(CreateCheckpoint, { input: { taskId: own.taskId, message: 'one' } })).createCheckpoint.checkpoint;
    const { checkpoints } = await taskCode(user, s.taskId);
    const checkpointId = (await user.ok<any>(`query($id: ID!) { task(id: $id) { checkpoints(first: 1) { edges { node { id } } } } }`, { id: s.taskId })).task.checkpoints.edges[0].node.id;
    const before = await everything(user, s.repo, s.taskId);
    const head = git(s.repo, 'rev-parse', 'HEAD').trim();
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['conversation', { taskId: s.taskId, checkpointId, mode: 'CONVERSATION', workingTreeCommit: head }, /CONVERSATION rewind moves no code/],
      ['branch', { taskId: own.taskId, checkpointId: ownCheckpoint.id, workingTreeCommit: head }, /has its own branch/],
      ['missing', { taskId: s.taskId, checkpointId, workingTreeCommit: 'f'.repeat(40) }, /is not in the contract's repository/],
      ['not a sha', { taskId: s.taskId, checkpointId, workingTreeCommit: 'HEAD' }, /not a full commit sha/],
    ];
    for (const [, input, message] of cases) {
      const result = await user.gql(RewindTask, { input: input as any });
      expect(codes(result)).toEqual(['BAD_USER_INPUT']);
      expect(result.errors![0].message).toMatch(message);
      expect(result.errors![0].extensions?.field).toBe('workingTreeCommit');
    }
    expect(await everything(user, s.repo, s.taskId)).toEqual(before);
    expect(checkpoints).toHaveLength(1);
  });
});
