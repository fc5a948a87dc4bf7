// `makima capture` as Claude Code runs it: a real process per hook event with the event's JSON on
// stdin, a Claude Code transcript growing between events, a real server (docs/claude-code.md). The
// session's task appears and grows, each turn's end is a checkpoint of the working tree with the
// user's git state untouched — taken after the Stop hook has returned, with the next event waiting
// for it, and taken by that event when its process was killed — and events spooled while the server
// is down are sent in order, exactly once — also when the drainer is killed mid-send.
import crypto from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, tempDir, type TestServer, type TestUser, startTestServer } from '../harness.js';
import { runMakima, spawnMakima } from './run.js';

const FIXTURE = fs.readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'claude-code', 'session.jsonl'), 'utf8');
const FIXTURE_SESSION = '5b1f0c2e-8d2a-4c1e-9a57-0f3c2d1e4b6a';

const SessionTasks = `query { contracts(first: 2) { edges { node { repositoryPath tasks(first: 3) { edges { node {
  id messageCount branch worktreePath
  conversation(first: 20) { edges { node { role } } }
  checkpoints(first: 5) { edges { node { number commitSha filesChanged { path } } } }
} } } } } } }`;

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => t?.stop());

function git(repo: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A user's session: a repository, a transcript file that grows, the hook's environment. */
async function session(user: TestUser) {
  const home = tempDir('makima-capture-');
  const repo = await t.makeRepo({ 'README.md': '# app\n', '.gitignore': 'build/\n', 'src/app.ts': 'export {};\n' });
  const id = crypto.randomUUID();
  const transcript = path.join(home, 'session.jsonl');
  fs.writeFileSync(transcript, '');
  const env = { HOME: home, XDG_CONFIG_HOME: path.join(home, 'config'), MAKIMA_URL: t.url, MAKIMA_TOKEN: user.token };
  const lines = FIXTURE.replaceAll(FIXTURE_SESSION, id).split(/(?<=\n)/);
  const spool = path.join(home, 'config', 'makima', 'capture', 'spool');
  return {
    sessionId: id,
    repo,
    env,
    spool,
    lines,
    append: (text: string) => fs.appendFileSync(transcript, text),
    hook: (event: string, extra: Record<string, unknown> = {}, args: string[] = []) =>
      runMakima(['capture', ...args], env, JSON.stringify({ session_id: id, transcript_path: transcript, cwd: path.join(repo, 'src'), hook_event_name: event, ...extra })),
    spooled: () => (fs.existsSync(spool) ? fs.readdirSync(spool).filter((f) => f.endsWith('.json')).length : 0),
    log: () => (fs.existsSync(path.join(spool, '..', 'capture.log')) ? fs.readFileSync(path.join(spool, '..', 'capture.log'), 'utf8') : ''),
  };
}

/** A new user's session whose first prompt (the fixture's first lines, at UserPromptSubmit) the server has imported. */
/**
 * The turn after the first prompt ends with `files` written (a `*.held` one among them, which
 * holdSnapshots holds in `git add`): returns once the Stop hook has returned and its snapshot is held.
 */
async function heldStop(s: Awaited<ReturnType<typeof session>>, files: Record<string, string>) {
  const hold = holdSnapshots(s.repo, s.env.HOME);
  hold.arm('add');
  s.append(s.lines.slice(3, 6).join(''));
  for (const [file, content] of Object.entries(files)) fs.writeFileSync(path.join(s.repo, file), content);
  const stop = await s.hook('Stop');
  await eventually(async () => hold.held(), 'the snapshot held after the hook returned', 30_000);
  return { hold, stop };
}

async function firstPrompt(name: string) {
  const user = await t.createUser(name);
  const s = await session(user);
  s.append(s.lines.slice(0, 3).join(''));
  await s.hook('UserPromptSubmit');
  await eventually(async () => (await captured(user, s.repo))?.messageCount === 1, 'the prompt imported', 30_000);
  return { user, s };
}

type Captured = { id: string; messageCount: number; branch: string | null; worktreePath: string | null; roles: string[]; checkpoints: { number: number; commitSha: string; files: string[] }[] };

async function captured(user: TestUser, repo: string): Promise<Captured | undefined> {
  const data = await user.ok<any>(SessionTasks);
  const contract = data.contracts.edges.map((e: any) => e.node).find((c: any) => c.repositoryPath === repo);
  const node = contract?.tasks.edges.map((e: any) => e.node).find((n: any) => n.messageCount > 0);
  if (!node) return undefined;
  return {
    ...node,
    roles: node.conversation.edges.map((e: any) => e.node.role),
    checkpoints: node.checkpoints.edges.map((e: any) => ({ number: e.node.number, commitSha: e.node.commitSha, files: e.node.filesChanged.map((f: any) => f.path) })),
  };
}

/** Everything of the user's git state a capture must leave byte for byte: status, index file, HEAD, branches, stash. */
function userGitState(repo: string) {
  return {
    status: git(repo, 'status', '--porcelain=v2', '--branch', '--untracked-files=all'),
    index: crypto.createHash('sha256').update(fs.readFileSync(path.join(repo, '.git', 'index'))).digest('hex'),
    head: fs.readFileSync(path.join(repo, '.git', 'HEAD'), 'utf8'),
    branches: git(repo, 'for-each-ref', '--format=%(refname) %(objectname)', 'refs/heads', 'refs/stash'),
    stash: git(repo, 'stash', 'list'),
  };
}

/** The working tree's tree as `git add -A` into an empty index writes it: every file hashed again. */
function treeFromScratch(repo: string): string {
  const env = { ...process.env, GIT_INDEX_FILE: path.join(repo, '.git', 'test-scratch.index') };
  try {
    execFileSync('git', ['add', '-A'], { cwd: repo, env });
    return execFileSync('git', ['write-tree'], { cwd: repo, env, encoding: 'utf8' }).trim();
  } finally {
    fs.rmSync(env.GIT_INDEX_FILE, { force: true });
  }
}

/**
 * Holds the next snapshot of `repo` where `arm` says, so that a test can act while it runs: in its
 * `git add`, at a new file `*.held` (a clean filter), or once its `update-ref` of the capture ref is
 * done (a reference-transaction hook); `held` says it is held, until `release`.
 */
function holdSnapshots(repo: string, home: string) {
  const file = (name: string) => path.join(home, name);
  const wait = `touch '${file('held')}'\nwhile [ ! -e '${file('release')}' ]; do sleep 0.02; done\n`;
  fs.writeFileSync(file('hold-add.sh'), `#!/bin/sh\nif [ -e '${file('armed-add')}' ]; then\n${wait}fi\ncat\n`, { mode: 0o755 });
  git(repo, 'config', 'filter.hold.clean', file('hold-add.sh'));
  fs.writeFileSync(path.join(repo, '.gitattributes'), '*.held filter=hold\n');
  const refHook = `#!/bin/sh\nrefs=$(cat)\n[ "$1" = committed ] && [ -e '${file('armed-ref')}' ] || exit 0\necho "$refs" | grep -q ' refs/makima/capture/' || exit 0\n${wait}`;
  fs.writeFileSync(path.join(repo, '.git', 'hooks', 'reference-transaction'), refHook, { mode: 0o755 });
  return {
    held: () => fs.existsSync(file('held')),
    release: () => fs.writeFileSync(file('release'), ''),
    arm: (where: 'add' | 'ref') => {
      for (const name of ['held', 'release', 'armed-add', 'armed-ref']) fs.rmSync(file(name), { force: true });
      fs.writeFileSync(file(`armed-${where}`), '');
    },
  };
}

/** The pid of the process taking the session's owed snapshot (its lock in capture's snapshots folder). */
function snapshotTaker(spool: string): number | undefined {
  const dir = path.join(spool, '..', 'snapshots');
  const lock = fs.existsSync(dir) ? fs.readdirSync(dir).find((f) => f.endsWith('.lock')) : undefined;
  return lock ? Number(fs.readFileSync(path.join(dir, lock), 'utf8').split(' ')[0]) : undefined;
}

/** The session's snapshot lock file (capture's snapshots folder), if one is held. */
function snapshotLock(spool: string): string | undefined {
  const dir = path.join(spool, '..', 'snapshots');
  const lock = fs.existsSync(dir) ? fs.readdirSync(dir).find((f) => f.endsWith('.lock')) : undefined;
  return lock && path.join(dir, lock);
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').startsWith('Z');
  } catch {
    return false;
  }
}

describe('makima capture', () => {
  it('records a session as it grows, with a checkpoint of the untouched working tree per turn', async () => {
    const alice = await t.createUser('alice');
    const s = await session(alice);
    // The user's own state: a stash, a staged change, an unstaged one, an ignored build output.
    fs.writeFileSync(path.join(s.repo, 'README.md'), '# app, stashed\n');
    git(s.repo, 'stash');
    fs.writeFileSync(path.join(s.repo, 'src/app.ts'), 'export const staged = 1;\n');
    git(s.repo, 'add', 'src/app.ts');
    fs.writeFileSync(path.join(s.repo, 'src/app.ts'), 'export const staged = 1;\nexport const unstaged = 2;\n');
    fs.mkdirSync(path.join(s.repo, 'build'));
    fs.writeFileSync(path.join(s.repo, 'build/out.js'), 'ignored\n');

    // The prompt is in; the assistant's first line is half-written (torn): it waits.
    s.append(s.lines.slice(0, 3).join('') + s.lines[3].slice(0, 40));
    const prompt = await s.hook('UserPromptSubmit', { prompt: 'Fix the flaky parser test' });
    expect(prompt).toEqual({ code: 0, stdout: '', stderr: '' });
    const first = await eventually(async () => (await captured(alice, s.repo))?.messageCount === 1 && captured(alice, s.repo), 'the prompt imported', 30_000);
    expect(first).toMatchObject({ branch: null, worktreePath: null, roles: ['USER'] });

    // The turn ends: the rest of its lines, and files the agent wrote (one new, one changed).
    s.append(s.lines[3].slice(40) + s.lines.slice(4, 6).join(''));
    fs.writeFileSync(path.join(s.repo, 'src/parser.ts'), 'export function parse() {}\n');
    const before = userGitState(s.repo);
    expect((await s.hook('Stop')).code).toBe(0);
    expect(userGitState(s.repo)).toEqual(before);
    const wholeTree = treeFromScratch(s.repo);
    const turn = await eventually(async () => ((await captured(alice, s.repo))?.checkpoints.length === 1 ? captured(alice, s.repo) : undefined), 'the first checkpoint', 30_000);
    expect(turn!.messageCount).toBeGreaterThan(1);
    const cp = turn!.checkpoints[0];
    expect(cp.files.sort()).toEqual(['src/app.ts', 'src/parser.ts']);
    // The working tree as it was, unstaged half included; the ignored build output left out.
    expect(git(s.repo, 'show', `${cp.commitSha}:src/app.ts`)).toBe('export const staged = 1;\nexport const unstaged = 2;\n');
    expect(() => git(s.repo, 'cat-file', '-e', `${cp.commitSha}:build/out.js`)).toThrow();
    expect(git(s.repo, 'rev-parse', `${cp.commitSha}^`).trim()).toBe(git(s.repo, 'rev-parse', 'HEAD').trim());
    // Seeding the temporary index from the user's (so unchanged files are not hashed again) gives the tree an empty index would.
    expect(git(s.repo, 'rev-parse', `${cp.commitSha}^{tree}`).trim()).toBe(wholeTree);

    // Nothing changed since: a Stop makes no checkpoint. A second turn's change makes the next, on the first.
    await s.hook('Stop');
    fs.writeFileSync(path.join(s.repo, 'src/parser.ts'), 'export function parse() { return 1; }\n');
    s.append(s.lines.slice(6).join(''));
    await s.hook('Stop');
    const second = await eventually(async () => ((await captured(alice, s.repo))?.checkpoints.length === 2 ? captured(alice, s.repo) : undefined), 'the second checkpoint', 30_000);
    await eventually(async () => s.spooled() === 0, 'the spool emptied', 30_000);
    const done = (await captured(alice, s.repo))!;
    expect(done.checkpoints).toHaveLength(2);
    expect(second!.checkpoints[1].files).toEqual(['src/parser.ts']);
    expect(git(s.repo, 'rev-parse', `${second!.checkpoints[1].commitSha}^`).trim()).toBe(cp.commitSha);
    // No branch for the session, nor for the supervisor of the contract capture made: the branch list is the user's alone.
    expect(git(s.repo, 'for-each-ref', '--format=%(refname)', 'refs/heads')).toBe('refs/heads/main\n');
    expect(done.branch).toBeNull();
    expect(s.log()).toBe('');
  }, 120_000);

  it('always exits 0 and prints nothing, even on input that is not a hook event', async () => {
    const bob = await t.createUser('bob');
    const s = await session(bob);
    for (const input of ['not json', '{}', JSON.stringify({ session_id: 'x', transcript_path: '/nonexistent', cwd: '/', hook_event_name: 'Stop' })]) {
      expect(await runMakima(['capture'], s.env, input)).toEqual({ code: 0, stdout: '', stderr: '' });
    }
    expect(s.log()).toMatch(/hook event not captured/);
  }, 60_000);

  it('spools while the server is down and sends everything in order, exactly once, when it is back — also after a kill -9 of the drainer', async () => {
    const { user: carol, s } = await firstPrompt('carol');
    await eventually(async () => s.spooled() === 0, 'the spool emptied', 30_000);

    // Forty more turns' worth of lines, so that the drainer has a long spool to be killed in.
    const more = Array.from({ length: 40 }, (_, i) =>
      JSON.stringify({ parentUuid: i === 0 ? 'a3' : `extra-${i - 1}`, isSidechain: false, type: i % 2 ? 'assistant' : 'user', uuid: `extra-${i}`, sessionId: s.sessionId, timestamp: '2026-11-20T11:00:00.000Z', message: { role: i % 2 ? 'assistant' : 'user', content: `line ${i}` } }) + '\n',
    );
    let spooledWhileDown = 0;
    await t.restart(async () => {
      // One event per line, each its own spool entry, and a checkpoint at the turn's end.
      for (const line of [...s.lines.slice(3), ...more]) {
        s.append(line);
        expect(await s.hook('PostToolUse', { tool_name: 'Bash' })).toEqual({ code: 0, stdout: '', stderr: '' });
      }
      fs.writeFileSync(path.join(s.repo, 'src/down.ts'), 'export const down = true;\n');
      await s.hook('Stop');
      spooledWhileDown = s.spooled();
    });
    expect(spooledWhileDown).toBeGreaterThanOrEqual(s.lines.length - 3 + more.length);

    // The drainer (the one a hook started, or this flush) killed with SIGKILL once it has sent part of the spool.
    const flush = spawnMakima(['capture', '--flush'], s.env);
    const lockFile = path.join(s.spool, '..', 'drain.lock');
    const pid = await eventually(async () => (s.spooled() < spooledWhileDown && fs.existsSync(lockFile) ? Number(fs.readFileSync(lockFile, 'utf8')) : undefined), 'a drainer sending', 60_000, 2);
    process.kill(pid, 'SIGKILL');
    await flush.stop('SIGKILL');
    await eventually(async () => /, 0 left in /.test((await runMakima(['capture', '--flush'], s.env)).stdout), 'the rest sent', 60_000);
    expect(s.spooled()).toBe(0);

    const task = (await captured(carol, s.repo))!;
    const fixtureMessages = s.lines.filter((l) => /"type": "(user|assistant)"/.test(l)).length + more.length;
    const records = await t.db.prisma.transcriptRecord.count({ where: { taskId: Buffer.from(task.id, 'base64').toString().split(':')[1] } });
    expect(records).toBe(fixtureMessages);
    expect(task.checkpoints).toHaveLength(1);
    expect(task.checkpoints[0].files).toEqual(['src/down.ts']);
  }, 180_000);

  it("takes the turn's snapshot after the Stop hook has returned, and the next event waits for it; an edit's in its hook", async () => {
    const { user: dave, s } = await firstPrompt('dave');
    // The turn ends with two files written; the Stop hook returns while its snapshot is held mid-`git add`.
    const { hold, stop } = await heldStop(s, { 'src/parser.ts': 'export function parse() {}\n', 'notes.held': "the turn's notes\n" });
    expect(stop).toEqual({ code: 0, stdout: '', stderr: '' });
    const ref = `refs/makima/capture/${s.sessionId}`;
    expect(git(s.repo, 'for-each-ref', ref)).toBe('');

    // The user's next prompt: its hook waits for the snapshot, and is still waiting once it has said so.
    s.append(s.lines[6]);
    let exited = false;
    const next = s.hook('UserPromptSubmit').then((r) => ((exited = true), r));
    await eventually(async () => /UserPromptSubmit has waited 2 s for the snapshot of Stop/.test(s.log()), 'the next event waiting', 30_000);
    expect(exited).toBe(false);
    hold.release();
    expect(await next).toEqual({ code: 0, stdout: '', stderr: '' });
    // The hook returned only once the checkpoint was made: the agent's next edit comes after it.
    const madeBeforeNext = git(s.repo, 'rev-parse', ref).trim();
    fs.writeFileSync(path.join(s.repo, 'src/parser.ts'), 'export function parse() { return 1; }\n');
    const task = await eventually(async () => ((await captured(dave, s.repo))?.checkpoints.length === 1 ? captured(dave, s.repo) : undefined), 'the checkpoint', 30_000);
    const cp = task!.checkpoints[0];
    expect(cp.commitSha).toBe(madeBeforeNext);
    expect(git(s.repo, 'show', `${cp.commitSha}:src/parser.ts`)).toBe('export function parse() {}\n');
    expect(git(s.repo, 'show', `${cp.commitSha}:notes.held`)).toBe("the turn's notes\n");
    await eventually(async () => s.spooled() === 0, 'every event sent', 30_000);
    expect((await captured(dave, s.repo))!.checkpoints).toHaveLength(1);

    // After an edit (--checkpoint-every edit) the hook commits the tree itself: no hook of capture's comes before the next tool call.
    hold.arm('add');
    fs.writeFileSync(path.join(s.repo, 'notes.held'), 'edited notes\n');
    let atExit = '';
    const edit = s.hook('PostToolUse', { tool_name: 'Edit' }, ['--checkpoint-every', 'edit']).then((r) => ((atExit = git(s.repo, 'rev-parse', ref).trim()), r));
    await eventually(async () => hold.held(), 'the edit snapshot held', 30_000);
    hold.release();
    expect((await edit).code).toBe(0);
    expect(git(s.repo, 'show', `${atExit}:notes.held`)).toBe('edited notes\n');
    expect(s.log()).not.toMatch(/taken late|not taken|went on/);
  }, 120_000);

  it('takes a killed snapshot at the next event, or at --flush, and sends everything in order exactly once', async () => {
    const { user: erin, s } = await firstPrompt('erin');
    const hold = holdSnapshots(s.repo, s.env.HOME);

    /** A turn whose snapshot process is killed (SIGKILL) while it is held, in its `git add` or after its commit. */
    const killedTurn = async (lines: string, file: string, where: 'add' | 'ref' = 'add') => {
      hold.arm(where);
      s.append(lines);
      fs.writeFileSync(path.join(s.repo, file), `export const turn = '${file}';\n`);
      fs.writeFileSync(path.join(s.repo, 'notes.held'), `notes of ${file}\n`);
      await s.hook('Stop');
      await eventually(async () => hold.held(), 'the snapshot held', 30_000);
      const pid = snapshotTaker(s.spool)!;
      process.kill(pid, 'SIGKILL');
      await eventually(async () => !running(pid), 'the snapshot process gone', 30_000);
      hold.release();
      // The killed process's `git add` goes on once released; it holds its temporary index's lock until it is done.
      if (where === 'add') await eventually(async () => !fs.existsSync(path.join(s.repo, '.git', `makima-capture-${pid}.index.lock`)), 'its git add done', 30_000);
      return pid;
    };

    // Killed; the next prompt's hook takes the snapshot before it returns, and says so.
    const first = await killedTurn(s.lines.slice(3, 6).join(''), 'src/one.ts');
    s.append(s.lines[6]);
    expect(await s.hook('UserPromptSubmit')).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(s.log()).toMatch(new RegExp(`the snapshot of Stop taken late, by UserPromptSubmit: its process \\(pid ${first}\\) died`));
    const ref = `refs/makima/capture/${s.sessionId}`;
    const one = git(s.repo, 'rev-parse', ref).trim();
    expect(git(s.repo, 'show', `${one}:src/one.ts`)).toBe("export const turn = 'src/one.ts';\n");

    // Killed once its commit is made and the ref moved: taken again, it is the same commit, recorded once.
    const late = await killedTurn('', 'src/late.ts', 'ref');
    const made = await eventually(async () => (git(s.repo, 'rev-parse', ref).trim() !== one ? git(s.repo, 'rev-parse', ref).trim() : undefined), 'the ref moved by the killed snapshot', 30_000);
    expect(await s.hook('PostToolUse', { tool_name: 'Bash' })).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(s.log()).toMatch(new RegExp(`the snapshot of Stop taken late, by PostToolUse: its process \\(pid ${late}\\) died`));
    expect(s.log()).not.toMatch(/not taken/);
    expect(git(s.repo, 'rev-parse', ref).trim()).toBe(made);
    // The killed process's temporary index is not left in the user's git directory.
    expect(fs.readdirSync(path.join(s.repo, '.git')).filter((f) => f.startsWith('makima-capture-'))).toEqual([]);

    // Killed again, with the server down; --flush takes it and sends the rest.
    await t.restart(async () => {
      const second = await killedTurn(s.lines.slice(7).join(''), 'src/two.ts');
      const flushed = await runMakima(['capture', '--flush'], s.env);
      expect(flushed.code).toBe(1);
      expect(s.log()).toMatch(new RegExp(`the snapshot of Stop taken late, by capture --flush: its process \\(pid ${second}\\) died`));
    });
    expect((await runMakima(['capture', '--flush'], s.env)).stdout).toMatch(/, 0 left in /);
    const task = (await captured(erin, s.repo))!;
    const records = await t.db.prisma.transcriptRecord.count({ where: { taskId: Buffer.from(task.id, 'base64').toString().split(':')[1] } });
    expect(records).toBe(s.lines.filter((l) => /"type": "(user|assistant)"/.test(l)).length);
    expect(task.checkpoints.map((c) => c.files)).toEqual([['.gitattributes', 'notes.held', 'src/one.ts'], ['notes.held', 'src/late.ts'], ['notes.held', 'src/two.ts']]);
    expect(task.checkpoints.map((c) => c.commitSha)).toEqual([one, made, git(s.repo, 'rev-parse', ref).trim()]);
    expect(git(s.repo, 'rev-parse', `${made}^`).trim()).toBe(one);
  }, 180_000);

  it("does not wait for a dead snapshot process whose pid another program now has", async () => {
    const { s } = await firstPrompt('frank');
    const { hold } = await heldStop(s, { 'reused.ts': 'export const reused = true;\n', 'notes.held': 'held in git add\n' });
    const pid = snapshotTaker(s.spool)!;
    process.kill(pid, 'SIGKILL');
    await eventually(async () => !running(pid), 'the snapshot process gone', 30_000);
    hold.release();
    await eventually(async () => !fs.existsSync(path.join(s.repo, '.git', `makima-capture-${pid}.index.lock`)), 'its git add done', 30_000);
    // Its pid now belongs to another program (here a sleep this test starts): the lock names that pid,
    // with the start time of the process that died.
    const other = spawn('sleep', ['120'], { stdio: 'ignore' });
    try {
      const lock = snapshotLock(s.spool)!;
      const [, start] = fs.readFileSync(lock, 'utf8').split(' ');
      expect(start, 'the lock records when its holder started').toMatch(/^\d+$/);
      fs.writeFileSync(lock, `${other.pid} ${start}`);
      expect(await s.hook('UserPromptSubmit')).toEqual({ code: 0, stdout: '', stderr: '' });
      expect(s.log()).toMatch(new RegExp(`the snapshot of Stop taken late, by UserPromptSubmit: its process \\(pid ${other.pid}\\) died`));
      expect(s.log(), 'the hook did not wait for the live program').not.toMatch(/has waited|went on after/);
      expect(git(s.repo, 'show', `refs/makima/capture/${s.sessionId}:reused.ts`)).toBe('export const reused = true;\n');
    } finally {
      other.kill('SIGKILL');
    }
  }, 120_000);
});
