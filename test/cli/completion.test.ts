// `makima completion bash|zsh|fish` (docs/cli.md, "Shell completion"): each script is run by its own
// shell and asked to complete what a person types. zsh and fish, when installed, also check their
// script's syntax; whichever shells are missing, every command must be in every script.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/index.js';
import { commandPath, everyCommand } from '../../src/cli/command.js';
import { tempDir } from '../harness.js';
import { runMakima } from './run.js';

const SHELLS = ['bash', 'zsh', 'fish'] as const;
const scripts: Record<string, string> = {};
const files: Record<string, string> = {};
beforeAll(async () => {
  const dir = tempDir('makima-completion-');
  for (const shell of SHELLS) {
    const result = await runMakima(['completion', shell], {});
    expect([shell, result.code, result.stderr]).toEqual([shell, 0, '']);
    scripts[shell] = result.stdout;
    files[shell] = path.join(dir, shell === 'zsh' ? '_makima' : `makima.${shell}`);
    fs.writeFileSync(files[shell], result.stdout);
  }
});

const installed = (shell: string) => spawnSync(shell, ['-c', 'exit 0']).status === 0;

/** What each line of `cases` (words typed, the last one under the cursor) completes to. */
function complete(shell: 'bash' | 'zsh' | 'fish', cases: string[][]): string[][] {
  if (shell === 'fish') {
    return cases.map((words) => {
      const out = execFileSync('fish', ['-c', `source ${files.fish}; complete -C ${JSON.stringify(words.join(' '))}`], { encoding: 'utf8' });
      return out.split('\n').filter(Boolean).map((line) => line.split('\t')[0]);
    });
  }
  const queries = cases.map((words) => `q ${words.map((w) => `'${w}'`).join(' ')}`).join('\n');
  const script =
    shell === 'bash'
      ? `source ${files.bash}\nq() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _makima; printf '%s\\n' "\${COMPREPLY[*]}"; }\n${queries}\n`
      : // Outside a completion widget, zsh's completion functions are stand-ins that print what they are given.
        `compdef() { : }\n_describe() { local arr=\${@[-1]}; print -rl -- \${(P)arr} | cut -d: -f1 | tr '\\n' ' '; print }\n` +
        `compadd() { print -- \${(P)2} }\n_files() { print '<files>' }\nsource ${files.zsh}\n` +
        `q() { words=("$@"); CURRENT=$#; _makima }\n${queries}\n`;
  const out = execFileSync(shell, ['-c', script], { encoding: 'utf8' });
  return out.split('\n').slice(0, cases.length).map((line, i) => line.split(' ').filter((w) => w && w.startsWith(cases[i].at(-1)!)));
}

const CASES: [string[], string[]][] = [
  [['makima', 'ta'], ['task']],
  [['makima', 'task', 're'], ['resume', 'resume-from', 'rewind']],
  [['makima', 'task', 'list', '--st'], ['--status']],
  [['makima', 'tasks', '--st'], ['--status']], // an alias completes like its command
  [['makima', 'task', 'list', '--status', 'running', '--co'], ['--contract']],
  [['makima', 'task', 'rewind', '42', '1', '--mode', ''], ['both', 'code', 'conversation']],
  [['makima', 'contract', 'a'], ['advance', 'archive']],
  [['makima', 'completion', ''], ['bash', 'fish', 'zsh']],
  [['makima', '--v'], ['--version']],
];

describe('makima completion', () => {
  it('bash: completes commands, noun verb subcommands, options and their choices', () => {
    const got = complete('bash', CASES.map(([words]) => words));
    expect(got.map((words) => words.sort())).toEqual(CASES.map(([, expected]) => expected));
  });

  it('zsh: a script zsh accepts, which completes the same (when zsh is installed)', () => {
    if (!installed('zsh')) return;
    execFileSync('zsh', ['-n', files.zsh]);
    const got = complete('zsh', CASES.map(([words]) => words));
    expect(got.map((words) => words.sort())).toEqual(CASES.map(([, expected]) => expected));
  });

  it('fish: a script fish accepts, which completes the same (when fish is installed)', () => {
    if (!installed('fish')) return;
    execFileSync('fish', ['-n', files.fish]);
    const got = complete('fish', CASES.map(([words]) => words));
    expect(got.map((words) => words.sort())).toEqual(CASES.map(([, expected]) => expected));
  });

  it('names every command and every option in every script', () => {
    const program = buildProgram();
    for (const command of everyCommand(program)) {
      const words = commandPath(command);
      for (const shell of SHELLS) {
        expect(scripts[shell], `${shell}: ${words}`).toContain(words);
        // Hidden options (a process's own, like capture's --drain) are not offered, as --help does not show them.
        for (const option of command.options) if (option.long && !option.hidden) expect(scripts[shell], `${shell}: ${words} ${option.long}`).toContain(option.long.replace(/^--/, shell === 'fish' ? '-l ' : '--'));
      }
    }
  });

  it('refuses a shell it does not know, in one line', async () => {
    const result = await runMakima(['completion', 'tcsh'], {});
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("makima: command-argument value 'tcsh' is invalid for argument 'shell'. Allowed choices are bash, zsh, fish.\nrun 'makima completion --help' for usage\n");
  });
});
