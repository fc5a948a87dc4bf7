// `makima claude hooks install [--project | --user]` / `uninstall` (docs/claude-code.md): makima's
// hooks — `makima capture` at UserPromptSubmit, PostToolUse, Stop and SessionEnd — merged into
// Claude Code's settings file, the repository's `.claude/settings.json` or the user's
// `~/.claude/settings.json`. Installing twice gives the same file; every other hook, setting and key
// stays as it was; uninstall takes out exactly makima's entries (and the containers they leave
// empty). A settings file that is not a JSON object is refused in one line, changing nothing.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Option } from 'commander';
import type { CliCommand } from './command.js';
import { CliError, println } from './output.js';

/** The events makima captures: prompts and tool calls as they happen, a checkpoint at each turn's end, the last lines at the end. */
const EVENTS = ['UserPromptSubmit', 'PostToolUse', 'Stop', 'SessionEnd'] as const;
/** Seconds Claude Code gives the hook (it returns in well under one). */
const TIMEOUT = 10;
/** A command that runs `makima capture`, whatever path or quoting it was installed with. */
const OURS = /(^|[\s/"'])makima(\.js)?["']?\s+capture(\s|$)/;

interface HookCommand {
  type?: unknown;
  command?: unknown;
  [key: string]: unknown;
}
interface MatcherGroup {
  matcher?: unknown;
  hooks?: unknown;
  [key: string]: unknown;
}
type Settings = Record<string, unknown> & { hooks?: Record<string, unknown> };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isOurs(hook: unknown): boolean {
  return isObject(hook) && typeof (hook as HookCommand).command === 'string' && OURS.test((hook as HookCommand).command as string);
}

/** The settings file, parsed; {} when there is none. One-line CliError for anything that is not a JSON object with an object `hooks`. */
export function readSettings(file: string): Settings {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CliError(`${file} is not valid JSON (${(err as Error).message}); fix it first, nothing was changed`, 'USAGE');
  }
  if (!isObject(value)) throw new CliError(`${file} is not a JSON object; fix it first, nothing was changed`, 'USAGE');
  if (value.hooks !== undefined && !isObject(value.hooks)) throw new CliError(`"hooks" in ${file} is not an object; fix it first, nothing was changed`, 'USAGE');
  for (const [event, groups] of Object.entries((value.hooks as Record<string, unknown>) ?? {})) {
    if (!Array.isArray(groups)) throw new CliError(`"hooks.${event}" in ${file} is not a list; fix it first, nothing was changed`, 'USAGE');
  }
  return value as Settings;
}

/** `settings` without makima's hooks; groups and events left empty by that are removed, and `hooks` too when nothing is left. */
export function withoutOurHooks(settings: Settings): Settings {
  if (!settings.hooks) return settings;
  const hooks: Record<string, unknown> = {};
  for (const [event, groups] of Object.entries(settings.hooks)) {
    const kept = (groups as unknown[]).flatMap((group) => {
      if (!isObject(group) || !Array.isArray((group as MatcherGroup).hooks)) return [group];
      const list = (group as MatcherGroup).hooks as unknown[];
      const others = list.filter((h) => !isOurs(h));
      if (others.length === list.length) return [group];
      return others.length ? [{ ...group, hooks: others }] : [];
    });
    if (kept.length || (groups as unknown[]).length === 0) hooks[event] = kept;
  }
  const { hooks: _dropped, ...rest } = settings;
  return Object.keys(hooks).length ? { ...rest, hooks } : rest;
}

/** `settings` with makima's hooks (once each, after the others), running `command`. */
export function withOurHooks(settings: Settings, command: string): Settings {
  const base = withoutOurHooks(settings);
  const hooks: Record<string, unknown> = { ...(base.hooks ?? {}) };
  for (const event of EVENTS) {
    const group = { ...(event === 'PostToolUse' ? { matcher: '*' } : {}), hooks: [{ type: 'command', command, timeout: TIMEOUT }] };
    hooks[event] = [...((hooks[event] as unknown[]) ?? []), group];
  }
  return { ...base, hooks };
}

function writeSettings(file: string, settings: Settings): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(settings, null, 2)}\n`);
  fs.renameSync(tmp, file);
}

/** `.claude/settings.json` of the repository the working directory is in (its top level), or the user's. */
function settingsFile(scope: { user?: boolean }): string {
  if (scope.user) return path.join(process.env.HOME || os.homedir(), '.claude', 'settings.json');
  let top = process.cwd();
  try {
    top = execFileSync('git', ['rev-parse', '--show-toplevel'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // Not in a repository: the settings of this directory.
  }
  return path.join(top, '.claude', 'settings.json');
}

/** How the hook runs makima: `makima` when it is on PATH, else this very script by its absolute path. */
function makimaCommand(): string {
  const onPath = (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && fs.existsSync(path.join(dir, 'makima')));
  return onPath ? 'makima' : `node ${JSON.stringify(path.resolve(process.argv[1] ?? 'makima'))}`;
}

function scopeOptions(cmd: import('commander').Command) {
  return cmd
    .addOption(new Option('--project', "the repository's .claude/settings.json (the default)").conflicts('user'))
    .addOption(new Option('--user', "the user's ~/.claude/settings.json").conflicts('project'));
}

export const claudeHooksInstall: CliCommand = {
  name: 'claude hooks install',
  define: (cmd) =>
    scopeOptions(cmd)
      .description("record Claude Code sessions live: add makima's hooks (makima capture) to Claude Code's settings")
      .addOption(new Option('--checkpoint-every <when>', 'checkpoint the working tree at each turn end, or also after each file edit').choices(['stop', 'edit']).default('stop'))
      .action((opts: { user?: boolean; checkpointEvery: string }) => {
        const file = settingsFile(opts);
        const command = `${makimaCommand()} capture${opts.checkpointEvery === 'edit' ? ' --checkpoint-every edit' : ''}`;
        writeSettings(file, withOurHooks(readSettings(file), command));
        println(`makima's hooks are in ${file} (${EVENTS.join(', ')}: ${command}); Claude Code sessions started from now on are recorded`);
      }),
};

export const claudeHooksUninstall: CliCommand = {
  name: 'claude hooks uninstall',
  define: (cmd) =>
    scopeOptions(cmd)
      .description("take makima's hooks out of Claude Code's settings again, leaving every other hook")
      .action((opts: { user?: boolean }) => {
        const file = settingsFile(opts);
        if (!fs.existsSync(file)) return println(`no ${file}: nothing to take out`);
        const settings = readSettings(file);
        const without = withoutOurHooks(settings);
        if (JSON.stringify(without) === JSON.stringify(settings)) return println(`no makima hooks in ${file}`);
        writeSettings(file, without);
        println(`makima's hooks are out of ${file}`);
      }),
};
