// MAKIMA_REPOS_ROOT covers a repository's git directory, not only its work tree: a repository inside
// the root whose git data lies outside it (a `.git` file saying `gitdir: …`, or a symlinked `.git`)
// is refused, and the outside repository gets no branch, worktree or ref. Repositories whose git
// data is inside the root, however it is reached, are still accepted.
import fs from 'node:fs';
import path from 'node:path';
import { simpleGit } from 'simple-git';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, makeGitRepo, startTestServer, tempDir, type TestServer, type TestUser } from './harness.js';

const CreateContract = `mutation($r: String!) { createContract(input: { name: "c", repositoryPath: $r }) {
  contract { id repositoryPath supervisor { branch worktreePath } } } }`;

let t: TestServer;
let outside: string;
beforeAll(async () => {
  t = await startTestServer();
  outside = tempDir('makima-outside-');
});
afterAll(async () => {
  await t?.stop();
  fs.rmSync(outside, { recursive: true, force: true });
});

/** Everything makima could have added to a repository: refs, worktrees, and the files under its git dir that record them. */
async function gitState(repo: string) {
  const g = simpleGit(repo);
  const gitDir = path.resolve(repo, await g.revparse(['--git-common-dir']));
  return {
    refs: await g.raw(['for-each-ref', '--format=%(refname) %(objectname)']),
    worktrees: await g.raw(['worktree', 'list', '--porcelain']),
    worktreeDirs: fs.existsSync(path.join(gitDir, 'worktrees')) ? fs.readdirSync(path.join(gitDir, 'worktrees')).sort() : [],
  };
}

async function refused(user: TestUser, repositoryPath: string, gitDir: string) {
  const result = await user.gql(CreateContract, { r: repositoryPath });
  expect(codes(result), repositoryPath).toEqual(['BAD_USER_INPUT']);
  const message = result.errors![0].message;
  // Why (the git directory and the root) and what to do (a clone inside the root, or MAKIMA_REPOS_ROOT).
  expect(message).toContain(`keeps its git directory in ${gitDir}, outside the repositories root (${fs.realpathSync(t.reposRoot)})`);
  expect(message).toMatch(/use a clone inside the root .*or set MAKIMA_REPOS_ROOT/);
  expect(await t.db.prisma.contract.count({ where: { ownerId: user.id } })).toBe(0);
}

describe('a repository inside the root whose git directory is outside it', () => {
  it('is refused when `.git` is a file pointing outside (git init --separate-git-dir); the outside git dir is untouched', async () => {
    const user = await t.createUser();
    const gitDir = path.join(outside, 'separate.git');
    const repo = path.join(t.reposRoot, 'separate');
    await makeGitRepo(repo, { 'a.txt': 'a\n' });
    // Move its git directory outside the root: git leaves a `.git` file saying `gitdir: <outside>`.
    await simpleGit(repo).raw(['init', `--separate-git-dir=${gitDir}`]);
    expect(fs.readFileSync(path.join(repo, '.git'), 'utf8')).toBe(`gitdir: ${gitDir}\n`);
    const before = await gitState(repo);

    await refused(user, repo, gitDir);
    expect(await gitState(repo)).toEqual(before);
  });

  it("is refused when it is a linked worktree of a repository outside the root (its `.git` file points into that repository's git dir)", async () => {
    const user = await t.createUser();
    const main = path.join(outside, 'main-repo');
    await makeGitRepo(main, { 'a.txt': 'a\n' });
    const linked = path.join(t.reposRoot, 'linked');
    await simpleGit(main).raw(['worktree', 'add', '-b', 'linked', linked]);
    const before = await gitState(main);

    await refused(user, linked, path.join(main, '.git'));
    expect(await gitState(main)).toEqual(before);
    expect(before.refs.split('\n').filter(Boolean).map((l) => l.split(' ')[0])).toEqual(['refs/heads/linked', 'refs/heads/main']);
  });

  it('is refused when `.git` is a symlink to a git directory outside the root; the outside repository is untouched', async () => {
    const user = await t.createUser();
    const target = path.join(outside, 'target');
    await makeGitRepo(target, { 'a.txt': 'a\n' });
    const repo = path.join(t.reposRoot, 'symlinked');
    fs.mkdirSync(repo);
    fs.symlinkSync(path.join(target, '.git'), path.join(repo, '.git'));
    await simpleGit(repo).raw(['checkout', '--', '.']); // the work tree's files, so it is a normal-looking repository
    const before = await gitState(target);

    await refused(user, repo, path.join(target, '.git'));
    expect(await gitState(target)).toEqual(before);
  });
});

describe('a repository whose git directory is inside the root, however it is reached', () => {
  it('is accepted through a symlinked `.git` and as a linked worktree, both into a repository inside the root', async () => {
    const user = await t.createUser();
    const main = await t.makeRepo({ 'a.txt': 'a\n' });
    const viaSymlink = path.join(t.reposRoot, 'via-symlink');
    fs.mkdirSync(viaSymlink);
    fs.symlinkSync(path.join(main, '.git'), path.join(viaSymlink, '.git'));
    await simpleGit(viaSymlink).raw(['checkout', '--', '.']);
    const linked = path.join(t.reposRoot, 'linked-inside');
    await simpleGit(main).raw(['worktree', 'add', '-b', 'linked-inside', linked]);

    for (const repositoryPath of [viaSymlink, linked]) {
      const data = await user.ok(CreateContract, { r: repositoryPath });
      expect(data.createContract.contract.repositoryPath).toBe(repositoryPath);
      // The supervisor's branch went into the repository inside the root.
      const branch = data.createContract.contract.supervisor.branch as string;
      expect(await simpleGit(main).raw(['branch', '--list', branch])).toContain(branch);
    }
  });
});
