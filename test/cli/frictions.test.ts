// The small things a person meets on the command line (docs/cli.md): a usage error in one line with
// one hint, hints that run as printed, output meant for people only where people read it.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, tempDir, type TestServer, type TestUser } from '../harness.js';
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
