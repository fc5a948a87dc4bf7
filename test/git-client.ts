// A real git client for the mesh tests: `git` as a child process talking to the server's /git/
// route, with the token (and the worker's name) as extra HTTP headers, never a prompt. Async, so a
// server running in the test's own process keeps serving while git waits for it.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './harness.js';

export interface GitRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** An isolated HOME for git: no user or system configuration, no credential helper. */
const home = tempDir('makima-git-home-');
fs.writeFileSync(path.join(home, '.gitconfig'), '[user]\n\tname = remote worker\n\temail = worker@example.com\n[init]\n\tdefaultBranch = main\n');

/** Runs git in `cwd`; never throws for git's own failures (the exit code and stderr say what happened). */
export function runGit(cwd: string, args: string[], options: { token?: string; workerId?: string; extraHeaders?: string[] } = {}): Promise<GitRun> {
  const headers = [...(options.token ? [`Authorization: Bearer ${options.token}`] : []), ...(options.workerId ? [`Makima-Worker: ${options.workerId}`] : []), ...(options.extraHeaders ?? [])];
  const config = headers.flatMap((h) => ['-c', `http.extraHeader=${h}`]);
  return new Promise((resolve) => {
    execFile(
      'git',
      [...config, ...args],
      { cwd, env: { PATH: process.env.PATH ?? '', HOME: home, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', LANG: 'C' }, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) }),
    );
  });
}

/** Runs git and fails the test unless it succeeds; returns its trimmed stdout. */
export async function git(cwd: string, args: string[], options: Parameters<typeof runGit>[2] = {}): Promise<string> {
  const run = await runGit(cwd, args, options);
  if (run.code !== 0) throw new Error(`git ${args.join(' ')} failed (${run.code}):\n${run.stderr}`);
  return run.stdout.trim();
}

/** A worker's clone of a contract's repository at `gitUrl`, on the task's branch at `commitSha`. */
export async function cloneTask(gitUrl: string, token: string, assignment: { branch: string; commitSha: string }): Promise<string> {
  const dir = tempDir('makima-remote-worker-');
  await git(dir, ['clone', '--quiet', '--no-checkout', gitUrl, 'repo'], { token });
  const work = path.join(dir, 'repo');
  await git(work, ['checkout', '--quiet', '-B', assignment.branch, assignment.commitSha]);
  return work;
}

/** Writes files in a clone and commits them all; returns the new commit's sha. */
export async function commitFiles(work: string, files: Record<string, string>, message = 'agent work'): Promise<string> {
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(work, name)), { recursive: true });
    fs.writeFileSync(path.join(work, name), content);
  }
  await git(work, ['add', '--all']);
  await git(work, ['commit', '--quiet', '-m', message]);
  return git(work, ['rev-parse', 'HEAD']);
}
