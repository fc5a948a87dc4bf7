// The user's own working tree, read and written through a temporary index, never through theirs
// (docs/claude-code.md): `makima capture` commits it at each turn's end, and `makima task rewind
// --working-tree` commits it as a backup and then sets its files to a checkpoint's. Their index,
// HEAD, branch and stash are never moved. Loaded by the hook without the CLI, so it imports only
// Node: docs/design.md §17.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export function git(cwd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => (err ? reject(new Error(`git ${args[0]}: ${stderr.trim() || err.message}`)) : resolve(stdout)));
  });
}

/** Where a directory is in git: the repository's top level, its git directory, HEAD and HEAD's tree (null before the first commit). */
export interface RepoAt {
  repo: string;
  gitDir: string;
  head: string | null;
  headTree: string | null;
}

export async function repoAt(cwd: string): Promise<RepoAt> {
  const out = await git(cwd, ['rev-parse', '--show-toplevel', '--absolute-git-dir', 'HEAD', 'HEAD^{tree}']).catch(() => git(cwd, ['rev-parse', '--show-toplevel', '--absolute-git-dir']));
  const [repo, gitDir, head, headTree] = out.trim().split('\n');
  return { repo, gitDir, head: head ?? null, headTree: headTree ?? null };
}

/** The temporary index of process `pid` in the git directory (left behind when that process was killed). */
export function temporaryIndex(gitDir: string, pid = process.pid): string {
  return path.join(gitDir, `makima-capture-${pid}.index`);
}

/** The working tree staged in a temporary index: the environment that uses that index, and its tree. */
export interface StagedWorkingTree {
  env: NodeJS.ProcessEnv;
  tree: string;
}

/**
 * Runs `use` with the working tree as it is (tracked and untracked, .gitignore respected) in a
 * temporary index, removed afterwards. The index starts as a copy of the user's own, so `git add -A`
 * hashes only the files whose stat data changed since the user's last git command (and the
 * untracked ones); a copy of theirs also keeps every file they track, ignored or not, as theirs does.
 */
export async function withStagedWorkingTree<T>(at: RepoAt, use: (staged: StagedWorkingTree) => Promise<T>): Promise<T> {
  const index = temporaryIndex(at.gitDir);
  try {
    try {
      fs.copyFileSync(path.join(at.gitDir, 'index'), index);
    } catch {
      // No index yet (a new repository): start from an empty one.
    }
    const env = { ...process.env, GIT_INDEX_FILE: index };
    await git(at.repo, ['add', '-A'], env);
    const tree = (await git(at.repo, ['write-tree'], env)).trim();
    return await use({ env, tree });
  } finally {
    fs.rmSync(index, { force: true });
  }
}

/** `git commit-tree`, with an identity of its own when the user has none configured; `date` (to the second) makes it the same commit each time. */
export async function commitTree(repo: string, tree: string, parents: string[], message: string, date?: Date): Promise<string> {
  const args = ['commit-tree', tree, ...parents.flatMap((p) => ['-p', p]), '-m', message];
  const stamp = date ? `${Math.floor(date.getTime() / 1000)} +0000` : undefined;
  const dated = { ...process.env, ...(stamp ? { GIT_AUTHOR_DATE: stamp, GIT_COMMITTER_DATE: stamp } : {}) };
  const identity = { GIT_AUTHOR_NAME: 'makima capture', GIT_AUTHOR_EMAIL: 'capture@makima.invalid', GIT_COMMITTER_NAME: 'makima capture', GIT_COMMITTER_EMAIL: 'capture@makima.invalid' };
  return (await git(repo, args, dated).catch(() => git(repo, args, { ...dated, ...identity }))).trim();
}

/**
 * Paths that a move of the staged working tree to `target` would write over although the staged
 * tree does not hold them: files git ignores (or made after staging). `git read-tree -u` would
 * overwrite an ignored one; a rewind leaves ignored files alone, so it refuses instead.
 */
export async function pathsInTheWay(at: RepoAt, staged: StagedWorkingTree, target: string): Promise<string[]> {
  const fields = (await git(at.repo, ['diff-tree', '-r', '-z', '--name-status', '--no-renames', staged.tree, target])).split('\0');
  const added: string[] = [];
  const removed = new Set<string>();
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'A') added.push(fields[i + 1]);
    if (fields[i] === 'D') removed.add(fields[i + 1]);
  }
  const inTheWay = new Set<string>();
  for (const file of added) {
    const parts = file.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      const stat = fs.lstatSync(path.join(at.repo, prefix), { throwIfNoEntry: false });
      // Nothing there, or a staged file the move removes first: the way is clear.
      if (!stat || removed.has(prefix)) break;
      // A folder on the way to the file is fine; anything else at its place is in the way.
      if (i === parts.length || !stat.isDirectory()) {
        inTheWay.add(prefix);
        break;
      }
    }
  }
  return [...inTheWay].sort();
}

/**
 * Moves the files of the working tree from the staged tree to the tree of `target`: the files that
 * differ are written, those `target` lacks removed, anything ignored left in place. `dryRun` checks
 * only (git refuses when a file changed since it was staged, rather than overwrite it).
 */
export async function moveWorkingTree(at: RepoAt, staged: StagedWorkingTree, target: string, dryRun = false): Promise<void> {
  await git(at.repo, ['read-tree', '-m', '-u', ...(dryRun ? ['-n'] : []), staged.tree, `${target}^{tree}`], staged.env);
}
