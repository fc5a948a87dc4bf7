// The small things a person meets on the command line (docs/cli.md): a usage error in one line with
// one hint, hints that run as printed, output meant for people only where people read it.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, tempDir, type TestServer, type TestUser } from '../harness.js';
import { checkpoint, claim, ContractSupervisor, createContract, FailTask, recordTaskEvents, say, taskOnRepo } from '../fixtures.js';
import { globalIdType } from '../../src/cli/arguments.js';
import { write } from '../worktrees.js';
import { BIN, cleanEnv, runMakima, spawnMakima, type CliResult } from './run.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => t?.stop());

/** An environment with no login and no local server, besides `extra`. */
function isolated(extra: Record<string, string> = {}) {
  const home = tempDir('makima-home-');
  return { HOME: home, XDG_CONFIG_HOME: path.join(home, 'config'), MAKIMA_DATA_DIR: path.join(home, 'data'), ...extra };
}

const env = (user: TestUser) => isolated({ MAKIMA_URL: t.url, MAKIMA_TOKEN: user.token });

describe('a usage error', () => {
  it('is one line and one hint, exit status 2, without the help', async () => {
    const cases: [string[], string][] = [
      [['task', 'list', '--bogus'], "makima: unknown option '--bogus'\nrun 'makima task list --help' for usage\n"],
      [['task', 'list', '--stat', 'running'], "makima: unknown option '--stat' (did you mean --status?)\nrun 'makima task list --help' for usage\n"],
      [['task', 'show'], "makima: missing required argument 'task'\nrun 'makima task show --help' for usage\n"],
      [['task', 'list', '--first', 'abc'], "makima: option '--first <n>' argument 'abc' is invalid. expected a whole number from 1 to 1000\nrun 'makima task list --help' for usage\n"],
      [['tsk'], "makima: unknown command 'tsk' (did you mean task?)\nrun 'makima --help' for usage\n"],
      [['task', 'lst'], "makima: unknown command 'lst' (did you mean list?)\nrun 'makima task --help' for usage\n"],
      [['tasks', '--bogus'], "makima: unknown option '--bogus'\nrun 'makima tasks --help' for usage\n"],
    ];
    for (const [args, stderr] of cases) {
      const result = await runMakima(args, isolated());
      expect({ args, code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({ args, code: 2, stdout: '', stderr });
    }
  });

  it('is exit status 2 for a bad value the command itself checks', async () => {
    const cases: [string[], string][] = [
      [['token', 'create', '--name', 'x', '--scope', 'admin'], 'makima: --scope must be one of FULL, READ, WORKER; got "admin"\n'],
      [['token', 'create', '--name', 'x', '--expires', 'soon'], 'makima: --expires must be a duration like 30d, 12h or 90m, or an ISO 8601 time; got "soon"\n'],
      [['search', ' '], 'makima: give something to search for\n'],
    ];
    for (const [args, stderr] of cases) {
      const result = await runMakima(args, isolated());
      expect({ args, code: result.code, stderr: result.stderr }).toEqual({ args, code: 2, stderr });
    }
  });

  it('is one JSON object under --json', async () => {
    const result = await runMakima(['task', 'list', '--bogus', '--json'], isolated());
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stderr)).toEqual({ error: { kind: 'USAGE', exitCode: 2, message: "unknown option '--bogus'" } });
  });

  it('prints the help of a group named without its command, once, and nothing else', async () => {
    const result = await runMakima(['task'], isolated());
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^Usage: makima task \[options\] \[command\]\n/);
    expect(result.stderr.match(/Usage:/g)).toHaveLength(1);
    expect(result.stderr).not.toContain('makima: ');
    const help = await runMakima(['task', 'list', '--help'], isolated());
    expect([help.code, help.stderr]).toEqual([0, '']);
    expect(help.stdout).toMatch(/^Usage: makima task list \[options\]\n/);
  });
});

/** A shell word that stays one word: single-quoted, its single quotes escaped. */
const shellWord = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/**
 * Runs the real bin on a pseudo-terminal (util-linux `script`) and types each answer once what was
 * printed matches its prompt: what it printed there, stdout and stderr together (with \r\n).
 */
function driveTerminal(args: string[], env: Record<string, string>, answers: [RegExp, string][]): Promise<CliResult> {
  const command = [process.execPath, BIN, ...args].map(shellWord).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { env: { ...cleanEnv(), ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const pending = [...answers];
    child.stdout.on('data', (d) => {
      stdout += d;
      if (pending.length && pending[0][0].test(stdout)) child.stdin.write(pending.shift()![1]);
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      child.stdin.end();
      resolve({ code, stdout, stderr });
    });
  });
}

/** The commands a hint line names: from its first `makima ` on, split at `   (or: ` and ` · `. */
function commandsIn(line: string): string[] {
  const from = line.indexOf('makima ');
  expect(from, `no command in: ${line}`).toBeGreaterThanOrEqual(0);
  return line.slice(from).split(/ {3}\(or: | · /).map((c) => c.replace(/\)$/, '').trim());
}

/** Runs `command` exactly as printed, through `sh`, with `makima` the real bin: quoting and `#` count. */
function runAsPrinted(command: string, env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const script = `makima() { "$HINT_NODE" "$HINT_BIN" "$@"; }\n${command}`;
    const child = spawn('sh', ['-c', script], { env: { ...cleanEnv(), ...env, HINT_NODE: process.execPath, HINT_BIN: BIN }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Runs every command of the hint line that `pattern` finds in `output`; each must succeed. A command
 * that runs until stopped (`--follow`) is returned but not run.
 */
async function followHint(output: string, pattern: RegExp, env: Record<string, string>): Promise<string[]> {
  const line = output.split('\n').find((l) => pattern.test(l));
  expect(line, `no line matching ${pattern} in:\n${output}`).toBeDefined();
  const commands = commandsIn(line!);
  for (const command of commands.filter((c) => !c.endsWith(' --follow'))) {
    const result = await runAsPrinted(command, env);
    expect({ command, code: result.code, stderr: result.stderr }).toEqual({ command, code: 0, stderr: '' });
  }
  return commands;
}

/**
 * A task (after its contract's supervisor, claimed and failed first so that it is out of the way)
 * that said "tokenizer", recorded a tool call about it and made checkpoint #1 "tokenizer fix";
 * failed at the end when `failed`.
 */
async function tokenizerTask(user: TestUser, failed: boolean) {
  const f = await taskOnRepo(t, user);
  const supervisor = (await user.ok(ContractSupervisor, { id: f.contractId })).contract!.supervisor;
  expect((await claim(user, 'w1'))!.task.id).toBe(supervisor.id);
  await user.ok(FailTask, { input: { taskId: supervisor.id, workerId: 'w1', error: 'out of the way' } });
  await say(user, f.taskId, 'Why does the tokenizer choke on emoji?', 'It splits surrogate pairs.');
  await recordTaskEvents(user, f.taskId, [{ type: 'TOOL_CALL', data: { tool: 'bash', command: 'npm run tokenizer-fuzz' } }]);
  write(f.worktree, { 'src/a.txt': 'fixed\n' });
  await checkpoint(user, f.taskId, 'tokenizer fix');
  if (failed) {
    expect((await claim(user, 'w1'))!.task.id).toBe(f.taskId);
    await user.ok(FailTask, { input: { taskId: f.taskId, workerId: 'w1', error: 'tests did not pass' } });
  }
  return f;
}

describe('every hint runs as printed', () => {
  it('makima search: the commands after each hit, on a pending task', async () => {
    const user = await t.createUser();
    const f = await tokenizerTask(user, false);
    for (const kind of ['message', 'checkpoint', 'event']) {
      const found = await runMakima(['search', 'tokenizer', '--task', f.taskId, '--kind', kind], env(user));
      expect([found.code, found.stderr]).toEqual([0, '']);
      const commands = await followHint(found.stdout, /→ makima /, env(user));
      expect(commands[0]).toMatch(kind === 'event' ? /^makima task history / : /^makima task fork /);
    }
  });

  it('makima search: resume-from a checkpoint and resume after an event, on a failed task', async () => {
    const user = await t.createUser();
    const f = await tokenizerTask(user, true);
    const atCheckpoint = await runMakima(['search', 'tokenizer', '--task', f.taskId, '--kind', 'checkpoint'], env(user));
    expect(await followHint(atCheckpoint.stdout, /→ makima /, env(user))).toEqual([`makima task fork ${f.taskId} --checkpoint 1`, `makima task resume-from ${f.taskId} 1`]);

    const again = await t.createUser();
    const g = await tokenizerTask(again, true);
    const afterEvent = await runMakima(['search', 'tokenizer', '--task', g.taskId, '--kind', 'event'], env(again));
    expect(await followHint(afterEvent.stdout, /→ makima /, env(again))).toEqual([`makima task history ${g.taskId}`, `makima task resume ${g.taskId}`]);
  });

  it("takes a server's address without /graphql, from MAKIMA_URL or --url", async () => {
    const user = await t.createUser();
    const origin = new URL(t.url).origin;
    expect(new URL(t.url).pathname).toBe('/graphql');
    const fromEnv = await runMakima(['contract', 'list', '--json'], isolated({ MAKIMA_URL: origin, MAKIMA_TOKEN: user.token }));
    expect(fromEnv.code, fromEnv.stderr).toBe(0);
    expect(JSON.parse(fromEnv.stdout)).toEqual({ contracts: [] });
    const fromFlag = await runMakima(['contract', 'list', '--json', '--url', `${origin}/`, '--token', user.token], isolated({}));
    expect(fromFlag.code, fromFlag.stderr).toBe(0);
    // Any other path is the user's to choose, and is taken as it is.
    const elsewhere = await runMakima(['contract', 'list', '--url', `${origin}/api`, '--token', user.token], isolated({}));
    expect(elsewhere.code).toBe(5);
    expect(elsewhere.stderr).toContain(`${origin}/api answered HTTP 404 without a GraphQL response`);
  });

  it('contract create takes its name as an argument and the repository of the current directory', async () => {
    const user = await t.createUser();
    const repo = await t.makeRepo({ 'src/app.ts': 'export {};\n' });
    const created = await runMakima(['contract', 'create', 'Here', '--json'], env(user), undefined, path.join(repo, 'src'));
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout).contract).toMatchObject({ name: 'Here', repositoryPath: fs.realpathSync(repo) });
    const unnamed = await runMakima(['contract', 'create'], env(user), undefined, repo);
    expect(unnamed).toMatchObject({ code: 2, stdout: '' });
    expect(unnamed.stderr).toMatch(/give the contract a name: makima contract create "<name>"/);
    const outside = tempDir();
    const nowhere = await runMakima(['contract', 'create', 'Nowhere'], env(user), undefined, outside);
    expect(nowhere.code).toBe(2);
    expect(nowhere.stderr).toContain(`${outside} is not in a git repository: run this in one, or name it with --repo <path>`);
    fs.rmSync(outside, { recursive: true, force: true });
    const twice = await runMakima(['contract', 'create', 'One', '--name', 'Two'], env(user), undefined, repo);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(/two names given, "One" and --name "Two": give one/);
  });

  it('after contract create', async () => {
    const user = await t.createUser();
    const created = await runMakima(['contract', 'create', '--name', 'Hinted', '--repo', await t.makeRepo()], env(user));
    expect(created.code).toBe(0);
    await followHint(created.stdout, /add a task: /, env(user));
    const added = await runMakima(['task', 'list', '--contract', 'hinted', '--json'], env(user));
    expect(JSON.parse(added.stdout).tasks.map((task: { name: string }) => task.name)).toContain('<name>');

  });

  it('after task show, task snapshots, task rewind and conversation rewind', async () => {
    const user = await t.createUser();
    const f = await tokenizerTask(user, false);
    const shown = await runMakima(['task', 'show', f.taskId], env(user));
    expect(await followHint(shown.stdout, /more: /, env(user))).toHaveLength(3);
    const snapshots = await runMakima(['task', 'snapshots', f.taskId], env(user));
    await followHint(snapshots.stdout, /rewind to one/, env(user));

    await say(user, f.taskId, 'after the checkpoint', 'more');
    write(f.worktree, { 'src/b.txt': 'changed after #1\n' });
    const rewound = await runMakima(['task', 'rewind', f.taskId, '1', '--mode', 'both'], env(user));
    expect(rewound.code).toBe(0);
    expect(await followHint(rewound.stdout, /^undo \(code\): /, env(user))).toEqual([`makima task rewind ${f.taskId} '#2'`]);
    await followHint(rewound.stdout, /^undo \(conversation\): /, env(user));

    const [first] = await say(user, f.taskId, 'one more');
    await say(user, f.taskId, 'and another');
    const conversation = await runMakima(['conversation', 'rewind', '--task', f.taskId, '--to', first], env(user));
    expect(conversation.code).toBe(0);
    await followHint(conversation.stdout, /; undo: makima /, env(user));
  });
});

describe('makima import', () => {
  it('draws its progress bar on a terminal only', async () => {
    const user = await t.createUser();
    const contract = await createContract(user, await t.makeRepo());
    const dir = tempDir('makima-sessions-');
    for (const name of ['a', 'b']) {
      const line = { type: 'user', uuid: `${name}1`, parentUuid: null, sessionId: `session-${name}`, timestamp: '2026-11-21T09:00:00.000Z', message: { role: 'user', content: `session ${name}` } };
      fs.writeFileSync(path.join(dir, `${name}.jsonl`), `${JSON.stringify(line)}\n`);
    }
    const piped = await runMakima(['import', dir, '--contract', contract.id], env(user));
    expect([piped.code, piped.stderr]).toEqual([0, '']);
    expect(piped.stdout).toMatch(/^a\.jsonl → session a .*\nb\.jsonl → session b /);
    const terminal = await driveTerminal(['import', dir, '--contract', contract.id], env(user), []);
    expect(terminal.code).toBe(0);
    expect(terminal.stdout).toContain('[########################] 2/2 done');
  });
});

describe('makima user create', () => {
  it("prints the user's name and its token once, in the login command that uses it; --json keeps { id, name, token }", async () => {
    const env = { MAKIMA_DATA_DIR: path.join(tempDir(), 'data'), PORT: '4567' };
    const created = await runMakima(['user', 'create', '--name', 'Ada'], env);
    expect([created.code, created.stderr]).toEqual([0, '']);
    const lines = created.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('created user Ada; its API token is shown only this once. Log in with it:');
    expect(lines[1]).toMatch(/^ {2}makima login http:\/\/127\.0\.0\.1:4567\/graphql --token mk_\S+$/);
    expect(lines[2]).toMatch(/^\(or set it as MAKIMA_TOKEN/);
    expect(created.stdout).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/); // no raw UUID
    expect(created.stdout.match(/mk_/g)).toHaveLength(1);

    const json = JSON.parse((await runMakima(['user', 'create', '--name', 'Bob', '--json'], env)).stdout);
    expect(Object.keys(json).sort()).toEqual(['id', 'name', 'token']);
    expect([globalIdType(json.id), json.name]).toEqual(['User', 'Bob']);
  }, 120_000); // two commands that each open an embedded database, the first creating it

  // The server is an embedded one (run.ts passes no DATABASE_URL), on either engine's test run.
  it('prints a login command that works, through the running server that holds its database', async () => {
    const root = tempDir();
    const serveEnv = { MAKIMA_DATA_DIR: path.join(root, 'data'), MAKIMA_REPOS_ROOT: root, PORT: '0', MAKIMA_LOG_LEVEL: 'warn' };
    const server = spawnMakima(['serve', '--json'], serveEnv);
    try {
      await server.waitFor(/^\{.*"url".*\}$/m, 60_000);
      const created = await runMakima(['user', 'create', '--name', 'second'], serveEnv);
      expect([created.code, created.stderr]).toEqual([0, '']);
      const home = isolated();
      await followHint(created.stdout, /^ {2}makima login /, home);
      const status = await runMakima(['status', '--json'], home);
      expect(JSON.parse(status.stdout)).toMatchObject({ urlFrom: 'login', tokenFrom: 'login', user: { name: 'second' } });
    } finally {
      await server.stop();
    }
  }, 120_000);
});

describe('makima token list', () => {
  it('heads its table in lower case, like every other table', async () => {
    const user = await t.createUser();
    const listed = await runMakima(['token', 'list'], env(user));
    expect([listed.code, listed.stderr]).toEqual([0, '']);
    const [head, ...rows] = listed.stdout.trimEnd().split('\n');
    expect(head).toMatch(/^id\s+name\s+scope\s+state\s+created\s+last used\s+expires$/);
    expect(rows.length).toBeGreaterThan(0);
  });
});

describe('makima task resume without a task', () => {
  it('offers the latest interrupted and failed tasks on a terminal, and resumes the one picked', async () => {
    const user = await t.createUser();
    const f = await tokenizerTask(user, true);
    const { number } = JSON.parse((await runMakima(['task', 'show', f.taskId, '--json'], env(user))).stdout).task;

    const none = await driveTerminal(['task', 'resume'], env(user), [[/resume which\?/, '\r']]);
    expect(none.code).toBe(0);
    expect(none.stdout).toMatch(new RegExp(`the latest interrupted or failed tasks:\\r\\n#\\s+task[^\\n]*\\n${number}\\s+worker task\\s+\\S+\\s+FAILED`));
    expect(none.stdout).toContain(`resume which? (its #, like ${number}; Enter for none)`);
    expect(none.stdout).not.toContain('resumed');

    const picked = await driveTerminal(['task', 'resume'], env(user), [[/resume which\?/, `${number}\r`]]);
    expect(picked.code).toBe(0);
    expect(picked.stdout).toContain(`resumed worker task (${f.taskId}): PENDING`);
    const after = JSON.parse((await runMakima(['task', 'show', f.taskId, '--json'], env(user))).stdout).task;
    expect(after).toMatchObject({ status: 'PENDING', pendingReason: 'RESUME' });
  });

  it('asks for the task in one line anywhere else: a pipe, or --json', async () => {
    const user = await t.createUser();
    const piped = await runMakima(['task', 'resume'], env(user));
    expect([piped.code, piped.stdout]).toEqual([2, '']);
    expect(piped.stderr).toMatch(/^makima: name the task to resume, like 'makima task resume 42' .*\n$/);
    const json = await driveTerminal(['task', 'resume', '--json'], env(user), []);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout.trim()).error).toMatchObject({ kind: 'USAGE' });
  });
});
