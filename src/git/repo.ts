// The only place that talks to git (through simple-git). Every ref, sha and path from a client is
// validated here before it reaches git, and none can become an option.
import fs from 'node:fs';
import path from 'node:path';
import { simpleGit, type SimpleGit, type SimpleGitOptions } from 'simple-git';
import { BadInputError, GitError } from '../errors.js';

const SHA = /^[0-9a-f]{7,64}$/;

export function git(dir: string, options: Partial<SimpleGitOptions> = {}): SimpleGit {
  return simpleGit({ baseDir: dir, maxConcurrentProcesses: 4, trimmed: true, config: GIT_CONFIG, ...options }).env(gitEnv());
}

// A fixed identity (so commits work on any machine) and no signing prompts.
const GIT_CONFIG = ['user.name=makima', 'user.email=makima@localhost', 'commit.gpgsign=false'];

/** A minimal environment: none of the caller's variables (EDITOR, PAGER, GIT_DIR…) can change git. */
export function gitEnv(): Record<string, string> {
  const keep = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TMPDIR', 'SYSTEMROOT'];
  const env: Record<string, string> = {};
  for (const k of keep) if (process.env[k] !== undefined) env[k] = process.env[k] as string;
  return env;
}

export function isSha(value: string): boolean {
  return SHA.test(value);
}

export function assertSha(value: string, field = 'commitSha'): string {
  if (!isSha(value)) throw new BadInputError(`${field}: "${value.slice(0, 80)}" is not a hexadecimal commit sha`, field);
  return value;
}

/**
 * Validates a branch name a client chose by git's own rules (check-ref-format), refusing anything
 * option-like and git's or makima's own namespaces. A task's own branch (`makima/…`, made by the
 * server) is checked with `assertTaskBranchName` instead.
 */
export async function assertBranchName(name: string, field = 'branchName'): Promise<string> {
  const reserved = brokenRefRule(name) ? undefined : reservedNamespace(name);
  if (reserved) throw new BadInputError(`${field}: "${printable(name)}" is not allowed as a branch name: ${reserved}; choose another name`, field);
  return checkRefFormat(name, field);
}

/** Validates the branch of a task (the server made it, in makima's own `makima/` namespace) by git's rules. */
export async function assertTaskBranchName(name: string, field = 'branch'): Promise<string> {
  if (!name.startsWith('makima/')) throw new BadInputError(`${field}: "${printable(name)}" is not a task branch (makima/…)`, field);
  return checkRefFormat(name, field);
}

async function checkRefFormat(name: string, field: string): Promise<string> {
  // git's documented rules are checked here first, so a name that breaks one never reaches git at all.
  const broken = brokenRefRule(name);
  if (broken) throw new BadInputError(`${field}: "${printable(name)}" is not a valid branch name: ${broken}`, field);
  try {
    // The argument starts with "refs/", so git can never read it as an option.
    await simpleGit().env(gitEnv()).raw(['check-ref-format', `refs/heads/${name}`]);
  } catch {
    throw new BadInputError(`${field}: "${printable(name)}" is not a valid branch name (see git check-ref-format)`, field);
  }
  return name;
}

/** The first rule of `git check-ref-format` (plus `git branch`'s own) that `name` breaks, if any. */
function brokenRefRule(name: string): string | undefined {
  if (!name) return 'it is empty';
  if (name.length > 200) return 'it is longer than 200 characters';
  if (name.startsWith('-')) return 'it must not start with "-"';
  if (name === 'HEAD' || name === '@') return `"${name}" is reserved`;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f]/.test(name)) return 'it must not contain spaces or control characters';
  if (/[~^:?*[\\]/.test(name)) return 'it must not contain ~ ^ : ? * [ or \\';
  if (name.includes('..')) return 'it must not contain ".."';
  if (name.includes('@{')) return 'it must not contain "@{"';
  if (name.startsWith('/') || name.endsWith('/') || name.includes('//')) return 'it must not start or end with "/" or contain "//"';
  if (name.endsWith('.')) return 'it must not end with "."';
  if (name.split('/').some((c) => c.startsWith('.') || c.endsWith('.lock'))) {
    return 'no part between slashes may start with "." or end with ".lock"';
  }
  return undefined;
}

/**
 * Why `name` is in git's or makima's own namespace, if it is (docs/design.md §4): "refs/heads/main"
 * would become refs/heads/refs/heads/main and shadow "main" in every git command; "HEAD" and the
 * other *_HEAD names are git's pseudo-refs; makima/* are the task branches the database keeps.
 */
function reservedNamespace(name: string): string | undefined {
  if (/^[A-Z_]*HEAD$/.test(name)) return `"${name}" is one of git's own names (HEAD, ORIG_HEAD, FETCH_HEAD…)`;
  const prefix = /^(refs|heads|tags|remotes)(\/|$)/.exec(name);
  if (prefix) return `a branch name must not start with "${prefix[1]}/" (it is a short name: "main", not "refs/heads/main")`;
  if (name === 'makima' || name.startsWith('makima/')) return '"makima/" holds the task branches makima creates and removes itself';
  return undefined;
}

function printable(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.slice(0, 80).replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * Resolves a client-given repository path: it must exist, be inside `reposRoot` after resolving
 * symlinks, keep its git directory (and common dir) inside `reposRoot` too, and be the top level of
 * a git work tree with at least one commit.
 */
export async function resolveRepository(input: string, reposRoot: string): Promise<{ path: string; head: string }> {
  if (!input.trim()) throw new BadInputError('repositoryPath must not be empty', 'repositoryPath');
  let real: string;
  let root: string;
  try {
    root = fs.realpathSync(reposRoot);
    real = fs.realpathSync(path.resolve(root, input));
  } catch {
    throw new BadInputError(`repositoryPath: ${input} does not exist`, 'repositoryPath');
  }
  if (!isInside(root, real)) {
    throw new BadInputError(`repositoryPath: ${input} is outside the repositories root (${root}); set MAKIMA_REPOS_ROOT to allow it`, 'repositoryPath');
  }
  if (!fs.statSync(real).isDirectory()) throw new BadInputError(`repositoryPath: ${input} is not a directory`, 'repositoryPath');
  let top: string;
  try {
    top = await git(real).revparse(['--show-toplevel']);
  } catch {
    throw new BadInputError(`repositoryPath: ${input} is not a git repository`, 'repositoryPath');
  }
  if (fs.realpathSync(top) !== real) {
    throw new BadInputError(`repositoryPath: ${input} is inside a git repository but not its top level (${top})`, 'repositoryPath');
  }
  // Branches, worktrees and checkpoint refs are written into the git directory, which a `.git` file
  // (`gitdir: …`, as in a linked worktree or `git init --separate-git-dir`) or a symlinked `.git`
  // can put anywhere: the root must contain it too, or makima would write outside the root. The
  // common dir is where branches and worktrees go; the git dir is checked as well, for a `.git` file
  // pointing at a directory whose `commondir` leads back inside.
  for (const dir of await gitDirectories(real, input)) {
    if (!isInside(root, dir)) {
      throw new BadInputError(
        `repositoryPath: ${input} keeps its git directory in ${dir}, outside the repositories root (${root}), and makima ` +
          `would write branches and worktrees there; use a clone inside the root (git clone ${real} <a directory in ${root}>), or set ` +
          'MAKIMA_REPOS_ROOT to a directory that contains both',
        'repositoryPath',
      );
    }
  }
  let head: string;
  try {
    head = await git(real).revparse(['--verify', 'HEAD^{commit}']);
  } catch {
    throw new BadInputError(`repositoryPath: ${input} has no commits yet; make a first commit, then try again`, 'repositoryPath');
  }
  return { path: real, head };
}

function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

/** The repository's common dir and git dir, symlinks resolved (git prints them relative to `repo` or absolute). */
async function gitDirectories(repo: string, input: string): Promise<string[]> {
  try {
    const out = await git(repo).raw(['rev-parse', '--git-common-dir', '--absolute-git-dir']);
    const dirs = out.split('\n').map((line) => line.trim()).filter(Boolean);
    if (dirs.length !== 2) throw new Error(`unexpected output of git rev-parse: ${out}`);
    return dirs.map((dir) => fs.realpathSync(path.resolve(repo, dir)));
  } catch {
    throw new BadInputError(`repositoryPath: ${input} is not a git repository (its git directory cannot be read)`, 'repositoryPath');
  }
}

/**
 * The reflog message of a ref a change creates. It names the change, so that the change's undo
 * can tell a ref it created from one that existed before (docs/design.md §9: an undo only undoes
 * what its own step did).
 */
function createdByMessage(what: string, changeId: string | undefined): string {
  return changeId ? `makima: ${what} (change ${changeId})` : `makima: ${what}`;
}

/**
 * Creates `ref` at `sha` only if it does not exist (git's create-only update-ref: atomic, a
 * concurrent creation cannot be overwritten either), with a reflog entry naming `changeId`.
 */
export async function createRef(repoPath: string, ref: string, sha: string, what: string, changeId: string | undefined): Promise<void> {
  // --create-reflog: the entry is written even where git keeps no reflog for such refs (refs/makima/*, core.logAllRefUpdates=false).
  await git(repoPath).raw(['update-ref', '--create-reflog', '-m', createdByMessage(what, changeId), ref, assertSha(sha), '']);
}

/**
 * Removes `ref` if it points at `sha` and — when `changeId` is given — its newest reflog entry says
 * that change created it: a ref that existed before the change (its create was refused, or never
 * ran) is left alone. Missing already is fine: an undo is idempotent.
 */
export async function deleteRefIfCreatedBy(repoPath: string, ref: string, sha: string, changeId: string | undefined): Promise<boolean> {
  const current = await git(repoPath).raw(['rev-parse', '--verify', '--quiet', ref]);
  if (current !== assertSha(sha)) return false;
  if (changeId && !(await createdBy(repoPath, ref, changeId))) return false;
  await git(repoPath).raw(['update-ref', '-d', ref, sha]);
  return true;
}

async function createdBy(repoPath: string, ref: string, changeId: string): Promise<boolean> {
  const newest = await git(repoPath)
    .raw(['log', '--walk-reflogs', '-n', '1', '--format=%gs', ref, '--'])
    .catch(() => '');
  return newest.endsWith(`(change ${changeId})`);
}

/**
 * Creates `worktreePath` on a new branch `branch` starting at `commit`. The branch is created
 * first, create-only and naming `changeId` (see createRef), so that the undo removes the branch
 * only if this change created it.
 */
export async function addWorktree(repoPath: string, worktreePath: string, branch: string, commit: string, changeId?: string): Promise<void> {
  assertSha(commit);
  if (!path.isAbsolute(worktreePath)) throw new Error(`worktree path must be absolute: ${worktreePath}`);
  fs.mkdirSync(path.dirname(worktreePath), { recursive: true });
  try {
    await createRef(repoPath, `refs/heads/${branch}`, commit, 'task branch', changeId);
    await git(repoPath).raw(['worktree', 'add', worktreePath, branch]);
  } catch (err) {
    throw new GitError(`could not create the worktree ${worktreePath} on branch ${branch}: ${firstLine(err)}`);
  }
}

/**
 * Removes a worktree and its branch (archiveTask, and the undo of addWorktree). With `createdBy`
 * (an undo), the branch goes only if that change created it. A worktree whose `git worktree add`
 * was killed is still marked locked ("initializing"): the second --force removes it anyway.
 */
export async function removeWorktree(repoPath: string, worktreePath: string, branch: string, createdBy?: string): Promise<void> {
  await git(repoPath).raw(['worktree', 'remove', '--force', '--force', worktreePath]).catch(() => undefined);
  fs.rmSync(worktreePath, { recursive: true, force: true });
  await git(repoPath).raw(['worktree', 'prune']).catch(() => undefined);
  if (createdBy) {
    const sha = await git(repoPath).raw(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`]);
    if (sha) await deleteRefIfCreatedBy(repoPath, `refs/heads/${branch}`, sha, createdBy);
    return;
  }
  await git(repoPath).raw(['branch', '-D', branch]).catch(() => undefined);
}

/**
 * Undoes `removeWorktree`: the worktree back on its branch, the branch at `sha` if it was removed
 * too. Idempotent: a worktree that exists is left alone, so it may run after half of the removal.
 */
export async function restoreWorktree(repoPath: string, worktreePath: string, branch: string, sha: string): Promise<void> {
  assertSha(sha);
  if (fs.existsSync(path.join(worktreePath, '.git'))) return;
  fs.rmSync(worktreePath, { recursive: true, force: true });
  await git(repoPath).raw(['worktree', 'prune']);
  const args = (await branchExists(repoPath, branch)) ? [worktreePath, branch] : ['-b', branch, worktreePath, sha];
  try {
    await git(repoPath).raw(['worktree', 'add', ...args]);
  } catch (err) {
    throw new GitError(`could not restore the worktree ${worktreePath} on branch ${branch}: ${firstLine(err)}`);
  }
}

export async function branchExists(repoPath: string, branch: string): Promise<boolean> {
  // With --quiet a missing ref exits 1 with no stderr, which simple-git does not treat as an error:
  // the (empty) output is the answer.
  const sha = await git(repoPath).raw(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`]);
  return sha.trim() !== '';
}

export function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n').find((l) => l.trim()) ?? text;
}
