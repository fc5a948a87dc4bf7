// `makima task export <task> [--format md|jsonl|claude-code] [--at M|#3] [--cwd DIR] [-o file | --install]`:
// a task's transcript — Markdown for a reviewer (a pull request, an issue), lossless JSONL that
// `makima import --source makima` reads back, or a Claude Code session that `claude --resume` continues.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { graphql } from '../generated/gql/index.js';
import type { CliCommand } from './command.js';
import { resolveCheckpoint } from './arguments.js';
import { clientCommand, clientFrom, type ClientOptions } from './client.js';
import { CliError, UsageError, color, printJson, println } from './output.js';

const Transcript = graphql(`
  query CliTaskTranscript($id: ID!, $format: TranscriptFormat, $at: ID, $cwd: String) { task(id: $id) { id name worktreePath transcript(format: $format, at: $at, cwd: $cwd) } }
`);

const FORMATS = { md: 'MARKDOWN', markdown: 'MARKDOWN', jsonl: 'JSONL', 'claude-code': 'CLAUDE_CODE' } as const;
type Format = (typeof FORMATS)[keyof typeof FORMATS];

function formatOf(value: string): Format {
  const key = value.toLowerCase();
  if (!Object.hasOwn(FORMATS, key)) throw new InvalidArgumentError('md, jsonl or claude-code');
  return FORMATS[key as keyof typeof FORMATS];
}

/**
 * Claude Code's folder for a working directory under ~/.claude/projects: the absolute path with
 * every character other than an ASCII letter or digit replaced by `-` (`/home/dev/my_app.v2` →
 * `-home-dev-my-app-v2`).
 */
function claudeProjectFolder(cwd: string): string {
  return cwd.replace(/[^A-Za-z0-9]/g, '-');
}

/** The session id and working directory of an exported Claude Code session (its first message record). */
function sessionOf(transcript: string): { sessionId: string; cwd: string } {
  const record = JSON.parse(transcript.split('\n')[1] ?? '{}') as { sessionId?: string; cwd?: string };
  if (!record.sessionId || !record.cwd) throw new CliError('the exported session has no message to resume');
  return { sessionId: record.sessionId, cwd: record.cwd };
}

/** Writes the file; an installed session never replaces one (each export has a session id of its own). */
function write(file: string, content: string, install: boolean): void {
  try {
    if (install) fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content, { flag: install ? 'wx' : 'w' });
  } catch (err) {
    throw new CliError(`could not write ${file}: ${(err as Error).message}`);
  }
}

type Options = ClientOptions & { json?: boolean; format: Format; output?: string; at?: string; cwd?: string; install?: boolean };

export const taskExport: CliCommand = {
  name: 'task export',
  aliases: ['task-export'],
  define: (cmd: Command) =>
  void clientCommand(cmd.argument('<task>', 'the task: its number (42), name, id or branch prefix, or ID'))
    .description("write a task's transcript: Markdown for a reviewer, JSONL that `makima import --source makima` reads back, or a Claude Code session to continue with `claude --resume`")
    .option('--format <format>', 'md (default), jsonl or claude-code', formatOf, 'MARKDOWN' as const)
    .option('--at <point>', 'claude-code: end the conversation at this message (ID) or checkpoint (#3 or ID); default the head')
    .option('--cwd <dir>', "claude-code: the checkout Claude Code will run in (default the task's worktree, else the session's own working directory)")
    .option('--install', "claude-code: write the session into Claude Code's projects folder (~/.claude/projects/<cwd>/<session>.jsonl) and print the command that resumes it")
    .option('-o, --output <file>', 'write to this file instead of standard output')
    .action(async (taskArg: string, opts: Options) => {
      const claude = opts.format === 'CLAUDE_CODE';
      if (!claude && (opts.at || opts.cwd || opts.install)) throw new UsageError('--at, --cwd and --install go with --format claude-code');
      if (opts.install && opts.output) throw new UsageError('give one of --install and -o');
      const client = clientFrom(opts);
      const at = opts.at === undefined ? undefined : await resolveCheckpoint(client, taskArg, opts.at);
      const cwd = opts.cwd === undefined ? undefined : path.resolve(opts.cwd);
      const { task } = await client.request(Transcript, { id: taskArg, format: opts.format, at, cwd });
      if (!task) throw new CliError(`task ${taskArg} was not found`);
      const session = claude ? sessionOf(task.transcript) : undefined;
      const output = opts.install && session ? path.join(os.homedir(), '.claude', 'projects', claudeProjectFolder(session.cwd), `${session.sessionId}.jsonl`) : opts.output;
      if (output) write(output, task.transcript, Boolean(opts.install));
      if (opts.json) {
        return printJson({ task: { id: task.id, name: task.name }, format: opts.format, output: output ?? null, ...session, transcript: output ? undefined : task.transcript });
      }
      if (!output) return void process.stdout.write(task.transcript);
      process.stderr.write(`wrote the transcript of ${task.name} (${task.transcript.length.toLocaleString('en-US')} characters) to ${output}\n`);
      if (session) printResume(session, task, opts);
    }),
};

/** How to continue the exported session: where to run `claude --resume`, and what that checkout must hold. */
function printResume(session: { sessionId: string; cwd: string }, task: { id: string; name: string; worktreePath?: string | null }, opts: Options): void {
  if (!opts.install) println(`to resume it, copy it to ~/.claude/projects/${claudeProjectFolder(session.cwd)}/${session.sessionId}.jsonl (or export with --install)`);
  println(`continue it in Claude Code:\n  cd ${session.cwd} && claude --resume ${session.sessionId}`);
  if (!fs.existsSync(session.cwd)) println(color.yellow(`  ${session.cwd} does not exist on this machine: give --cwd, a checkout of the task's code`));
  if (opts.at && session.cwd === task.worktreePath) {
    println(color.dim(`  ${session.cwd} holds the task's code at its head, not at ${opts.at}: for the code as it was there,`));
    println(color.dim(`  fork first (makima task fork ${task.id} --checkpoint … | --message …) and export the fork`));
  }
}
