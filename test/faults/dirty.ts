// Uncommitted work of every kind a user leaves in a task's worktree, and a snapshot of it that
// includes the index (docs/design.md §9: recovery gives back the files *and* what was staged).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).trim();
}

/** The files of the worktree, what is staged and what is not: equal snapshots mean nothing was lost or restaged. */
export interface WorktreeState {
  head: string;
  status: string;
  staged: string;
  unstaged: string;
  files: Record<string, string | null>;
}

export function worktreeState(worktree: string, paths: string[]): WorktreeState {
  const files: Record<string, string | null> = {};
  for (const p of paths) {
    const file = path.join(worktree, p);
    files[p] = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
  }
  return {
    head: git(worktree, 'rev-parse', 'HEAD'),
    status: git(worktree, 'status', '--porcelain=v1', '--untracked-files=all'),
    staged: git(worktree, 'diff', '--cached', '--no-ext-diff', '--no-color'),
    unstaged: git(worktree, 'diff', '--no-ext-diff', '--no-color'),
    files,
  };
}

/**
 * Leaves uncommitted work in a worktree whose HEAD has README.md and src/a.txt: an untracked file,
 * a changed tracked file (not staged), a partly staged file (one version staged, a later one in the
 * worktree), a new file that is staged, and a deleted tracked file that is not staged. Returns the
 * paths it touched and their contents.
 */
export function dirtyWorktree(worktree: string, tag: string, extraUntracked = 0): { paths: string[]; files: Record<string, string | null> } {
  const salt = `${tag} ${Math.random()}`;
  const write = (p: string, content: string) => {
    fs.mkdirSync(path.dirname(path.join(worktree, p)), { recursive: true });
    fs.writeFileSync(path.join(worktree, p), content);
  };
  write('wip.txt', `work in progress ${salt}\n`);
  write('src/a.txt', `a, changed ${salt}\n`);
  write('README.md', `# staged ${salt}\n`);
  git(worktree, 'add', 'README.md');
  write('README.md', `# staged ${salt}\nand a line not staged\n`);
  write('staged-new.txt', `new and staged ${salt}\n`);
  git(worktree, 'add', 'staged-new.txt');
  const paths = ['wip.txt', 'src/a.txt', 'README.md', 'staged-new.txt'];
  if (fs.existsSync(path.join(worktree, 'one.txt'))) {
    fs.rmSync(path.join(worktree, 'one.txt'));
    paths.push('one.txt');
  }
  for (let i = 0; i < extraUntracked; i++) {
    write(`untracked/u-${i}.txt`, `untracked ${i} ${salt}\n`);
    paths.push(`untracked/u-${i}.txt`);
  }
  const files: Record<string, string | null> = {};
  for (const p of paths) files[p] = fs.existsSync(path.join(worktree, p)) ? fs.readFileSync(path.join(worktree, p), 'utf8') : null;
  return { paths, files };
}
