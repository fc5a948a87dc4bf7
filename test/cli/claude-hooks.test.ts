// `makima claude hooks install` / `uninstall` on Claude Code settings files that already hold other
// hooks and settings (docs/claude-code.md): install merges makima's hooks in once, whatever it is
// run twice; uninstall takes out exactly them; a malformed file is one line and stays as it was.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeGitRepo, tempDir } from '../harness.js';
import { runMakima } from './run.js';

/** A settings file as a user may have it: other settings, other hooks on the same events and on others. */
const THEIRS = {
  model: 'opus',
  permissions: { allow: ['Bash(npm test:*)'] },
  hooks: {
    PostToolUse: [{ matcher: 'Edit|Write', hooks: [{ type: 'command', command: 'npx prettier --write "$CLAUDE_FILE_PATHS"' }] }],
    Stop: [{ hooks: [{ type: 'command', command: 'notify-send done' }] }],
    PreToolUse: [{ matcher: 'Bash', hooks: [{ type: 'command', command: './check-bash.sh', timeout: 5 }] }],
  },
};

async function project() {
  const home = tempDir('makima-hooks-');
  const repo = path.join(home, 'repo');
  await makeGitRepo(repo, { 'README.md': '# r\n' });
  const file = path.join(repo, '.claude', 'settings.json');
  fs.mkdirSync(path.dirname(file));
  fs.writeFileSync(file, `${JSON.stringify(THEIRS, null, 2)}\n`);
  const env = { HOME: home, XDG_CONFIG_HOME: path.join(home, 'config') };
  const run = (...args: string[]) => runMakima(['claude', 'hooks', ...args], env, undefined, path.join(repo));
  return { home, repo, file, run, read: () => fs.readFileSync(file, 'utf8') };
}

describe('makima claude hooks', () => {
  it('installs once into the project settings, keeping every other hook and setting, and uninstalls exactly its own', async () => {
    const p = await project();
    const original = p.read();
    const installed = await p.run('install');
    expect([installed.code, installed.stderr]).toEqual([0, '']);
    const once = p.read();
    expect((await p.run('install')).code).toBe(0);
    expect(p.read()).toBe(once);
    const settings = JSON.parse(once);
    expect(settings.model).toBe('opus');
    expect(settings.permissions).toEqual(THEIRS.permissions);
    expect(settings.hooks.PreToolUse).toEqual(THEIRS.hooks.PreToolUse);
    expect(settings.hooks.PostToolUse[0]).toEqual(THEIRS.hooks.PostToolUse[0]);
    expect(settings.hooks.Stop[0]).toEqual(THEIRS.hooks.Stop[0]);
    for (const event of ['UserPromptSubmit', 'PostToolUse', 'Stop', 'SessionEnd']) {
      const ours = settings.hooks[event].flatMap((g: { hooks: { command: string }[] }) => g.hooks).filter((h: { command: string }) => /makima(\.js)?"? capture$/.test(h.command));
      expect(ours, event).toHaveLength(1);
    }
    const removed = await p.run('uninstall');
    expect([removed.code, removed.stderr]).toEqual([0, '']);
    expect(p.read()).toBe(original);
  }, 60_000);

  it("writes the user's settings with --user, and --checkpoint-every edit into the command", async () => {
    const p = await project();
    const user = path.join(p.home, '.claude', 'settings.json');
    expect((await p.run('install', '--user', '--checkpoint-every', 'edit')).code).toBe(0);
    expect(p.read()).toBe(`${JSON.stringify(THEIRS, null, 2)}\n`);
    const hooks = JSON.parse(fs.readFileSync(user, 'utf8')).hooks;
    expect(Object.keys(hooks)).toEqual(['UserPromptSubmit', 'PostToolUse', 'Stop', 'SessionEnd']);
    expect(hooks.Stop[0].hooks[0].command).toMatch(/ capture --checkpoint-every edit$/);
    expect((await p.run('uninstall', '--user')).code).toBe(0);
    expect(JSON.parse(fs.readFileSync(user, 'utf8'))).toEqual({});
  }, 60_000);

  it('refuses a malformed settings file in one line and changes nothing', async () => {
    const p = await project();
    for (const text of ['{ "hooks": [', '[1, 2]', '{ "hooks": { "Stop": {} } }']) {
      fs.writeFileSync(p.file, text);
      for (const verb of ['install', 'uninstall']) {
        const refused = await p.run(verb);
        expect(refused.code, `${verb} of ${text}`).toBe(2);
        expect(refused.stderr.trim().split('\n'), text).toHaveLength(1);
        expect(refused.stderr).toMatch(/nothing was changed/);
        expect(p.read()).toBe(text);
      }
    }
  }, 60_000);
});
