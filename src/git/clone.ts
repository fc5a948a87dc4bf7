// A remote worker's own git (docs/design.md §11), on the worker's machine, never the server's: in
// its workdir, one bare repository per contract (the object store all its tasks share, so a second
// claim fetches only what is new) and one worktree per task, reused across claims. Code arrives by
// fetching the contract's gitUrl and leaves by pushing to it; the token and the worker's name travel
// as HTTP headers set through git's environment, never on a command line another user could read.
import fs from 'node:fs';
import path from 'node:path';
import { GitError } from '../errors.js';
import { assertSha, assertTaskBranchName, firstLine, git, gitEnv } from './repo.js';

/** The file that marks a directory as a makima workdir (so a non-empty one is never taken over by mistake). */
const MARKER = '.makima-workdir';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** How the worker reaches a contract's repository: its clone URL, the token, and (for pushes) who it is. */
export interface Remote {
  url: string;
  token: string;
  workerId: string;
  /**
   * Seconds a fetch or push may move less than STALL_BYTES_PER_SECOND before git gives up on it
   * (git's http.lowSpeedTime): a server or network that stops answering fails the step instead of
   * holding the worker forever. Default DEFAULT_STALL_SECONDS.
   */
  stallSeconds?: number;
}

/** A transfer slower than this, for `Remote.stallSeconds` in a row, has stalled (git's http.lowSpeedLimit). */
export const STALL_BYTES_PER_SECOND = 1000;
export const DEFAULT_STALL_SECONDS = 60;

/**
 * Makes `dir` a workdir, or says in one sentence why it cannot be one: it must be new, empty, or
 * a workdir already, and writable.
 */
export function prepareWorkdir(dir: string): string | undefined {
  const root = path.resolve(dir);
  if (fs.existsSync(root) && !fs.statSync(root).isDirectory()) return `${root} is not a directory`;
  try {
    fs.mkdirSync(root, { recursive: true });
  } catch (err) {
    return `cannot create ${root}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
  const entries = fs.readdirSync(root);
  if (entries.length && !entries.includes(MARKER)) {
    return `${root} is not empty and not a makima workdir (it has no ${MARKER}): give a new or empty directory`;
  }
  try {
    fs.accessSync(root, fs.constants.W_OK);
    if (!entries.length) fs.writeFileSync(path.join(root, MARKER), 'makima worker --workdir: one repository per contract under contracts/, one worktree per task under tasks/\n');
    fs.mkdirSync(path.join(root, 'contracts'), { recursive: true });
    fs.mkdirSync(path.join(root, 'tasks'), { recursive: true });
  } catch (err) {
    return `${root} is not writable: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
  return undefined;
}

/** The headers of every request to the server and its stall limit, as git config in the environment (GIT_CONFIG_COUNT, git ≥ 2.31). */
function remoteEnv(remote: Remote): Record<string, string> {
  return {
    ...gitEnv(),
    GIT_CONFIG_COUNT: '4',
    GIT_CONFIG_KEY_0: 'http.extraHeader',
    GIT_CONFIG_VALUE_0: `Authorization: Bearer ${remote.token}`,
    GIT_CONFIG_KEY_1: 'http.extraHeader',
    GIT_CONFIG_VALUE_1: `Makima-Worker: ${remote.workerId}`,
    GIT_CONFIG_KEY_2: 'http.lowSpeedLimit',
    GIT_CONFIG_VALUE_2: String(STALL_BYTES_PER_SECOND),
    GIT_CONFIG_KEY_3: 'http.lowSpeedTime',
    GIT_CONFIG_VALUE_3: String(remote.stallSeconds ?? DEFAULT_STALL_SECONDS),
    GIT_TERMINAL_PROMPT: '0',
  };
}

/** Git that talks to the server: the headers in its environment (simple-git refuses GIT_CONFIG_COUNT unless told it is meant). */
function remoteGit(dir: string, remote: Remote) {
  const env = remoteEnv(remote);
  const allowEnvironment = Object.keys(env).filter((key) => key.startsWith('GIT_'));
  return git(dir, { unsafe: { allowUnsafeConfigEnvCount: true }, allowEnvironment }).env(env);
}

function assertUuid(id: string, what: string): string {
  if (!UUID.test(id)) throw new Error(`${what} is not a UUID: ${id}`);
  return id;
}

/** The contract's object store in the workdir, created on first use (atomically: a half-made one is never used). */
async function contractRepository(workdir: string, contractId: string): Promise<string> {
  const repo = path.join(workdir, 'contracts', `${assertUuid(contractId, 'contract id')}.git`);
  if (fs.existsSync(path.join(repo, 'HEAD'))) return repo;
  const temporary = `${repo}.${process.pid}.tmp`;
  fs.rmSync(temporary, { recursive: true, force: true });
  await git(path.dirname(repo)).raw(['init', '--quiet', '--bare', temporary]);
  try {
    fs.renameSync(temporary, repo);
  } catch (err) {
    // Another worker on this workdir made it first: theirs is as good.
    fs.rmSync(temporary, { recursive: true, force: true });
    if (!fs.existsSync(path.join(repo, 'HEAD'))) throw err;
  }
  return repo;
}

/** Where a task's worktree lives in the workdir. */
export function taskWorktree(workdir: string, taskId: string): string {
  return path.join(workdir, 'tasks', assertUuid(taskId, 'task id'));
}

/**
 * Brings the task's code to `sha` on `branch` in its worktree: fetches the branch (only what the
 * contract's store lacks), creates the worktree on first use, and otherwise resets it — tracked
 * files to `sha`, untracked ones removed, ignored ones (build output) kept. Every step can be cut
 * by a kill and run again: a lock file a killed git left is removed first (the lease makes this
 * worker the only one working on the task).
 */
export async function checkoutTask(
  workdir: string,
  remote: Remote,
  task: { contractId: string; taskId: string; branch: string; sha: string },
): Promise<{ path: string; rescued?: string }> {
  const branch = await assertTaskBranchName(task.branch, 'branch');
  const sha = assertSha(task.sha);
  const repo = await contractRepository(workdir, task.contractId);
  const worktree = taskWorktree(workdir, task.taskId);
  const store = remoteGit(repo, remote);
  if (!(await hasCommit(repo, sha))) {
    await step(`fetch ${branch} from ${remote.url}`, () => store.raw(['fetch', '--quiet', '--no-tags', '--', remote.url, `+refs/heads/${branch}:refs/remotes/makima/${branch}`]));
    if (!(await hasCommit(repo, sha))) await step(`fetch ${sha} from ${remote.url}`, () => store.raw(['fetch', '--quiet', '--no-tags', '--', remote.url, sha]));
  }
  removeStaleLocks(repo, worktree);
  if (!fs.existsSync(path.join(worktree, '.git'))) {
    fs.rmSync(worktree, { recursive: true, force: true });
    await git(repo).raw(['worktree', 'prune']);
    await step(`create the worktree ${worktree}`, () => git(repo).raw(['worktree', 'add', '--quiet', '-B', branch, worktree, sha]));
    return { path: worktree };
  }
  const rescued = await rescueLeftovers(worktree, remote, task.taskId);
  const tree = git(worktree);
  await step(`check out ${sha} on ${branch} in ${worktree}`, () => tree.raw(['checkout', '--quiet', '--force', '-B', branch, sha]));
  await step(`reset ${worktree} to ${sha}`, () => tree.raw(['reset', '--quiet', '--hard', sha]));
  await step(`remove untracked files of ${worktree}`, () => tree.raw(['clean', '--quiet', '-d', '--force']));
  return { path: worktree, rescued };
}

/**
 * Work an earlier run left uncommitted in the worktree (its worker was killed before it could save
 * it) is committed and pushed under the task's refs before the checkout replaces it — kept locally
 * when the server will not take it. Returns the commit, if there was anything.
 */
async function rescueLeftovers(worktree: string, remote: Remote, taskId: string): Promise<string | undefined> {
  if (!(await hasUncommittedWork(worktree))) return undefined;
  const head = await step('read HEAD', () => git(worktree).revparse(['--verify', 'HEAD']));
  const { sha } = await commitTask(worktree, 'HEAD', `work an earlier run left uncommitted (at ${head.slice(0, 10)})`);
  try {
    await pushCommit(worktree, remote, sha, `refs/makima/tasks/${taskId}/leftover/${sha}`);
  } catch (err) {
    if (!(err instanceof GitError)) throw err;
    await keepLocally(worktree, sha, `refs/makima/unsaved/${taskId}/${sha}`);
  }
  return sha;
}

/**
 * Commits the worktree as it is — tracked and untracked files, not ignored ones — on its branch,
 * with plumbing (no hook, editor or template runs). `created` is false when nothing changed since
 * HEAD (the commit is HEAD). `branch` 'HEAD' commits on whatever is checked out.
 */
export async function commitTask(worktree: string, branch: string, message: string): Promise<{ sha: string; created: boolean }> {
  const g = git(worktree);
  const head = await step('read HEAD', () => g.revparse(['--verify', 'HEAD^{commit}']));
  await step(`stage the files of ${worktree}`, () => g.raw(['add', '--all']));
  const tree = await step('write the staged tree', () => g.raw(['write-tree']));
  if (tree === (await step('read the tree of HEAD', () => g.revparse([`${head}^{tree}`])))) return { sha: head, created: false };
  // The message goes through stdin, so no message can be read as an option.
  const sha = assertSha(await step('create the commit', () => git(worktree, { input: () => message }).raw(['commit-tree', assertSha(tree), '-p', head])));
  const ref = branch === 'HEAD' ? 'HEAD' : `refs/heads/${branch}`;
  await step(`move ${branch} to the commit`, () => g.raw(['update-ref', '-m', 'makima: checkpoint', ref, sha, head]));
  return { sha, created: true };
}

/** Whether the worktree has changes a commit would take (tracked or untracked, not ignored). */
export async function hasUncommittedWork(worktree: string): Promise<boolean> {
  const status = await step(`read the status of ${worktree}`, () => git(worktree).raw(['status', '--porcelain', '--untracked-files=all']));
  return status.trim() !== '';
}

/**
 * Pushes `sha` to `ref` of the contract's repository. A ref the server refuses is a GitError with
 * git's own reason (its "[remote rejected]" and "remote:" lines).
 */
export async function pushCommit(worktree: string, remote: Remote, sha: string, ref: string): Promise<void> {
  await step(`push ${sha.slice(0, 10)} to ${ref}`, () => remoteGit(worktree, remote).raw(['push', '--quiet', '--', remote.url, `${assertSha(sha)}:${ref}`]));
}

/** Keeps `sha` in the workdir's contract store under `ref`, for work the server would not take. */
export async function keepLocally(worktree: string, sha: string, ref: string): Promise<void> {
  await step(`keep ${sha.slice(0, 10)} as ${ref}`, () => git(worktree).raw(['update-ref', ref, assertSha(sha)]));
}

async function hasCommit(repo: string, sha: string): Promise<boolean> {
  const found = await git(repo).raw(['cat-file', '-t', sha]).catch(() => '');
  return found.trim() === 'commit';
}

/** index.lock and HEAD.lock files a killed git left in the task's worktree git dir. */
function removeStaleLocks(repo: string, worktree: string): void {
  const gitdir = path.join(repo, 'worktrees', path.basename(worktree));
  for (const lock of ['index.lock', 'HEAD.lock']) fs.rmSync(path.join(gitdir, lock), { force: true });
}

async function step<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    const reasons = text.split('\n').filter((line) => /^(remote:|!|fatal:|error:)|\[remote rejected\]|\[rejected\]/.test(line.trim()));
    const stalled = /Operation too slow|curl 28\b/.test(text);
    if (stalled) throw new GitError(`could not ${what}: the server stopped sending (less than ${STALL_BYTES_PER_SECOND} bytes a second for the stall limit, --git-stall-seconds); git gave up`);
    throw new GitError(`could not ${what}: ${reasons.length ? reasons.map((l) => l.trim()).join('; ') : firstLine(err)}`);
  }
}
