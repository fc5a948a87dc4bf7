// Everyday use of the real `makima` binary against a real server: short references (#42, names,
// prefixes) wherever a task or contract is named, ambiguity listed, tables that fit 80 columns,
// and `login` / `status` / `logout` with a local server found without exporting anything.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawId, startTestServer, tempDir, type TestServer, type TestUser } from '../harness.js';
import { createContract, createTask } from '../fixtures.js';
import { runMakima } from './run.js';

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

describe('task and contract references on the command line', () => {
  it('takes a number, #number, name, id prefix or branch prefix for a task and a short name for a contract', async () => {
    const user = await t.createUser();
    const contract = await createContract(user, await t.makeRepo(), 'Calc App');
    const task = await createTask(user, contract.id, 'adder');
    for (const ref of ['2', '#2', 'adder', rawId(task.id).slice(0, 8), task.branch!.replace('makima/', '').slice(0, 9)]) {
      const shown = await runMakima(['task', 'show', ref, '--json'], env(user));
      expect([ref, shown.code, shown.stderr]).toEqual([ref, 0, '']);
      expect(JSON.parse(shown.stdout).task).toMatchObject({ id: task.id, number: 2 });
    }
    const created = await runMakima(['task', 'create', 'calc-app', '--name', 'next', '--continue-from', '2'], env(user));
    expect([created.code, created.stderr]).toEqual([0, '']);
    expect(created.stdout).toMatch(/^created task #3 next in calc-app: PENDING\n[\s\S]*continues from #2 adder/);
    const listed = await runMakima(['task', 'list', '--contract', 'calc-app'], env(user));
    expect(listed.stdout.split('\n')[0]).toMatch(/^#\s+task\s+contract\s+status/);
    expect(listed.stdout).toMatch(/^3\s+next\s+calc-app\s+PENDING/m);
  });

  it('refuses an ambiguous reference with exit 2, listing the candidates (in the JSON error too)', async () => {
    const user = await t.createUser();
    const contract = await createContract(user, await t.makeRepo());
    await createTask(user, contract.id, 'twin');
    await createTask(user, contract.id, 'twin');
    const text = await runMakima(['task', 'show', 'twin'], env(user));
    expect(text.code).toBe(2);
    expect(text.stderr).toMatch(/^makima: BAD_USER_INPUT: ref: "twin" names 2 of your tasks: #2 twin \(makima\/twin-\w{8}\), #3 twin .*like 2\n$/);
    const json = await runMakima(['task', 'show', 'twin', '--json'], env(user));
    const { error } = JSON.parse(json.stderr);
    expect(error.errors[0].candidates.map((c: { number: number }) => c.number)).toEqual([2, 3]);
    const none = await runMakima(['task', 'history', '#9'], env(user));
    expect([none.code, none.stderr]).toEqual([3, 'makima: NOT_FOUND: task #9 was not found\n']);
  });

  it('fits tables into COLUMNS, cutting long cells with …, and never cuts them in a pipe', async () => {
    const user = await t.createUser();
    const contract = await createContract(user, await t.makeRepo(), 'a contract with a name much longer than a table column should ever be');
    await createTask(user, contract.id, 'a task whose name goes on and on and on well past the width of any terminal');
    const listed = await runMakima(['task', 'list'], { ...env(user), COLUMNS: '80' });
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
    expect(lines[1]).toMatch(/^2\s+a task whose[^…]*…\s+a-contract-with[^…\s]*…\s+PENDING\s/);
    const piped = await runMakima(['task', 'list'], env(user));
    expect(piped.stdout).not.toContain('…');
    expect(piped.stdout.split('\n')[1]).toMatch(/^2\s+a task whose name goes on and on and on well past the width of any terminal\s+a-contract-with-a-name-much-longer/);
  });
});

describe('makima login, status, logout', () => {
  it('saves the server and token (mode 0600), which later commands use; environment variables still win; logout forgets them', async () => {
    const user = await t.createUser('lena');
    const other = await t.createUser('otto');
    const base = isolated();
    const login = await runMakima(['login', t.url.replace(/\/graphql$/, ''), '--token', user.token], base);
    expect([login.code, login.stderr]).toEqual([0, '']);
    const file = path.join(base.XDG_CONFIG_HOME, 'makima', 'login.json');
    expect(login.stdout).toContain(`logged in to ${t.url} as lena; saved in ${file}`);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ url: t.url, token: user.token });

    const status = await runMakima(['status'], base);
    expect(status.stdout).toMatch(new RegExp(`^server  ${t.url} from makima login[\\s\\S]*\\nuser    lena `));
    const overridden = await runMakima(['status', '--json'], { ...base, MAKIMA_TOKEN: other.token });
    expect(JSON.parse(overridden.stdout)).toMatchObject({ urlFrom: 'login', tokenFrom: 'env', user: { name: 'otto' } });

    const refused = await runMakima(['login', t.url, '--token', 'mk_not-a-token'], base);
    expect(refused.code).toBe(6);
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).token).toBe(user.token);

    expect((await runMakima(['logout'], base)).stdout).toBe(`logged out: removed ${file}\n`);
    const after = await runMakima(['task', 'list'], base);
    expect(after.code).toBe(6);
    expect(after.stderr).toMatch(/no API token: set MAKIMA_TOKEN or pass --token, or run `makima login "<url>"`/);
  });

  it("finds a local server's URL and token in its data directory, without anything exported", async () => {
    const user = await t.createUser('local-like');
    const base = isolated();
    // What a running embedded server keeps in its data directory (src/cli/serve.ts).
    fs.mkdirSync(base.MAKIMA_DATA_DIR, { recursive: true });
    fs.writeFileSync(path.join(base.MAKIMA_DATA_DIR, 'server-url'), `${t.url}\n`);
    fs.writeFileSync(path.join(base.MAKIMA_DATA_DIR, 'local-token'), `${user.token}\n`);
    const status = await runMakima(['status', '--json'], base);
    expect([status.code, status.stderr]).toEqual([0, '']);
    expect(JSON.parse(status.stdout)).toMatchObject({ url: t.url, urlFrom: 'local', tokenFrom: 'local', user: { name: 'local-like' } });
    const login = await runMakima(['login', '--json'], base);
    expect(JSON.parse(login.stdout)).toMatchObject({ url: t.url, user: { name: 'local-like' } });
    // A token stored for one server is never sent to another URL.
    const elsewhere = await runMakima(['status', '--json'], { ...base, MAKIMA_URL: 'http://127.0.0.1:9/graphql' });
    expect(elsewhere.code).toBe(6);
    expect(JSON.parse(elsewhere.stdout)).toMatchObject({ tokenFrom: null });
  });
});
