// A backup save of a worktree nobody changed stages nothing again (src/git/unchanged.ts, docs/design.md
// §11): the proof that the worktree holds what its index says, and that every change — even one of
// the same size, made in the same second as the checkout, when git itself would call the file
// racily clean — defeats it, so the save commits it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { commitWorktree } from '../src/git/checkpoints.js';
import { worktreeMatchesIndex } from '../src/git/unchanged.js';
import { makeGitRepo, tempDir } from './harness.js';

const root = tempDir('makima-unchanged-');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const git = (dir: string, ...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' }).trim();

let count = 0;
/** A repository of a few files (one executable, one ignored pattern) and a fresh worktree of it on its own branch. */
async function freshWorktree(): Promise<{ repo: string; worktree: string; branch: string }> {
  const repo = path.join(root, `repo-${++count}`);
  const files: Record<string, string> = { '.gitignore': '*.log\n', 'run.sh': '#!/bin/sh\necho hi\n', 'src/a.txt': 'alpha\n', 'src/b.txt': 'bravo\n' };
  for (let i = 0; i < 50; i++) files[`many/file-${i}.txt`] = `file ${i}\n`.repeat(50);
  await makeGitRepo(repo, files);
  fs.chmodSync(path.join(repo, 'run.sh'), 0o755);
  git(repo, 'add', 'run.sh');
  git(repo, 'commit', '-q', '-m', 'executable');
  const branch = `task-${count}`;
  const worktree = path.join(root, `wt-${count}`);
  git(repo, 'worktree', 'add', '-q', '-b', branch, worktree);
  return { repo, worktree, branch };
}

describe('worktreeMatchesIndex', () => {
  it('proves a fresh worktree unchanged, also with an ignored file in it', async () => {
    const { worktree } = await freshWorktree();
    expect(await worktreeMatchesIndex(worktree)).toBe(true);
    fs.writeFileSync(path.join(worktree, 'debug.log'), 'ignored\n');
    expect(await worktreeMatchesIndex(worktree)).toBe(true);
  });

  it.each([
    ['an edit of the same size, in the same second', (w: string) => fs.writeFileSync(path.join(w, 'src/a.txt'), 'ALPHA\n')],
    ['a file made executable', (w: string) => fs.chmodSync(path.join(w, 'src/b.txt'), 0o755)],
    ['a file no longer executable', (w: string) => fs.chmodSync(path.join(w, 'run.sh'), 0o644)],
    ['a deleted file', (w: string) => fs.rmSync(path.join(w, 'many/file-7.txt'))],
    ['an untracked file', (w: string) => fs.writeFileSync(path.join(w, 'new.txt'), 'new\n')],
    ['an untracked folder', (w: string) => {
      fs.mkdirSync(path.join(w, 'fresh/deeper'), { recursive: true });
      fs.writeFileSync(path.join(w, 'fresh/deeper/x.txt'), 'x');
    }],
    ['a file replaced by one with the same content', (w: string) => (fs.writeFileSync(path.join(w, 'src/a.tmp'), 'alpha\n'), fs.renameSync(path.join(w, 'src/a.tmp'), path.join(w, 'src/a.txt')))],
    ['a file turned into a symbolic link', (w: string) => (fs.rmSync(path.join(w, 'src/b.txt')), fs.symlinkSync('a.txt', path.join(w, 'src/b.txt')))],
    ['a conflict in the index', (w: string) => {
      const blob = git(w, 'rev-parse', 'HEAD:src/a.txt');
      execFileSync('git', ['-C', w, 'update-index', '--index-info'], { input: `0 ${'0'.repeat(40)}\tsrc/a.txt\n100644 ${blob} 1\tsrc/a.txt\n100644 ${blob} 2\tsrc/a.txt\n` });
    }],
  ])('is not proven after %s', async (_what, change) => {
    const { worktree } = await freshWorktree();
    change(worktree);
    expect(await worktreeMatchesIndex(worktree)).toBe(false);
  });
});

describe('a backup save (commitWorktree with saving)', () => {
  it('makes no commit of an unchanged worktree, and leaves the index as it was', async () => {
    const { worktree, branch } = await freshWorktree();
    const head = git(worktree, 'rev-parse', 'HEAD');
    const saved = await commitWorktree(worktree, branch, 'backup', { saving: true });
    expect(saved).toEqual({ sha: head, previousHead: head, created: false });
    expect(git(worktree, 'status', '--porcelain')).toBe('');
  });

  it('commits an edit of the same size made in the same second as the checkout, and what was staged', async () => {
    const { worktree, branch } = await freshWorktree();
    fs.writeFileSync(path.join(worktree, 'src/a.txt'), 'ALPHA\n');
    fs.writeFileSync(path.join(worktree, 'src/c.txt'), 'charlie\n');
    git(worktree, 'add', 'src/c.txt');
    const saved = await commitWorktree(worktree, branch, 'backup', { saving: true });
    expect(saved.created).toBe(true);
    expect(git(worktree, 'show', `${saved.sha}:src/a.txt`)).toBe('ALPHA');
    expect(git(worktree, 'show', `${saved.sha}:src/c.txt`)).toBe('charlie');
    expect(git(worktree, 'rev-parse', `refs/heads/${branch}`)).toBe(saved.sha);
  });

  it('commits a staged change even when the files match the index', async () => {
    const { worktree, branch } = await freshWorktree();
    fs.writeFileSync(path.join(worktree, 'src/d.txt'), 'delta\n');
    git(worktree, 'add', 'src/d.txt');
    const saved = await commitWorktree(worktree, branch, 'backup', { saving: true });
    expect(saved.created).toBe(true);
    expect(git(worktree, 'show', `${saved.sha}:src/d.txt`)).toBe('delta');
  });
});
