// Builds the commander program from one file per command and runs it; expected failures print one
// line (or, under --json, one JSON object) on stderr and exit with their own status, never a stack.
//
// Adding a command — one file, one line:
//   1. In src/cli/<name>.ts export a CliCommand (command.ts):
//        export const tokenRevoke: CliCommand = {
//          name: 'token revoke',              // `<noun> <verb>`; one word for what stands alone
//          aliases: ['revoke-token'],         // optional: older names, hidden from the help
//          define: (cmd) => clientCommand(cmd.argument('<token>', 'token ID'))
//            .description('revoke an API token at once')
//            .action(async (token, opts) => { … }),
//        };
//   2. Add it to COMMANDS below, where it belongs in `makima --help`. The group (`token`) is made
//      on first use; its one-line summary is in command.ts GROUPS.
// Inside the action: throw CliError(message, kind) (output.ts) for an expected failure — its kind
// picks the exit status (docs/cli.md, "Errors and exit codes"); an ApiError already carries the API's. Show IDs as
// the API returns them, and pass the API's sentences and history data through display.ts.
import { Command, CommanderError } from 'commander';
import { commandPath, everyCommand, mount, type CliCommand } from './command.js';
import { ApiError } from './client.js';
import { completion } from './completion.js';
import { contractAdvance, contractCreate, contractList, contractShow } from './contract.js';
import { migrate } from './migrate.js';
import { CliError, ExitCode, type ExitKind } from './output.js';
import { resolveReferences } from './refs.js';
import { contractResume } from './resume.js';
import { conversationRewind } from './rewind-conversation.js';
import { serve } from './serve.js';
import { taskCheckpointsCommand } from './task-checkpoints.js';
import { taskCreate, taskList, taskShow } from './task.js';
import { taskDiff } from './task-diff.js';
import { taskCompare } from './task-compare.js';
import { taskEvents } from './task-events.js';
import { taskFork } from './task-fork.js';
import { taskHistory } from './task-history.js';
import { taskResume } from './task-resume.js';
import { taskResumeFrom } from './task-resume-from.js';
import { taskRewind } from './task-rewind.js';
import { taskSnapshots } from './task-snapshots.js';
import { timeline } from './timeline.js';
import { userCreate } from './user.js';
import { worker } from './worker.js';
import { VERSION } from './version.js';
import { tokenCreate, tokenList, tokenRevoke } from './token.js';
import { contractArchive, taskArchive, taskCancel } from './control.js';
import { search } from './search.js';
import { taskExport } from './task-export.js';
import { importCommand } from './import.js';
import { login, logout, status } from './login.js';
import { capture } from './capture-command.js';
import { claudeHooksInstall, claudeHooksUninstall } from './claude-hooks.js';

/** Every command, in the order of `makima --help`. */
const COMMANDS: CliCommand[] = [
  serve,
  migrate,
  userCreate,
  login,
  logout,
  status,
  contractCreate,
  contractList,
  contractShow,
  contractAdvance,
  contractResume,
  contractArchive,
  taskCreate,
  taskList,
  taskShow,
  taskHistory,
  taskEvents,
  taskCheckpointsCommand,
  taskSnapshots,
  taskDiff,
  taskCompare,
  taskRewind,
  taskFork,
  taskResume,
  taskResumeFrom,
  taskCancel,
  taskArchive,
  conversationRewind,
  timeline,
  worker,
  tokenCreate,
  tokenList,
  tokenRevoke,
  search,
  taskExport,
  importCommand,
  capture,
  claudeHooksInstall,
  claudeHooksUninstall,
  completion,
];

export function buildProgram(json = false): Command {
  const program = new Command('makima')
    .description('Resume and history for AI coding agents: server, administration and API client')
    .version(VERSION, '-V, --version', 'print the version of makima')
    // A usage error is reported once, by runCli (one line and a hint), never by commander's text and help.
    .configureOutput(json ? { writeErr: () => {}, outputError: () => {} } : { outputError: () => {} })
    // Task and contract references (#42, names, prefixes) become IDs before any command runs (refs.ts).
    .hook('preAction', (_program, command) => resolveReferences(command));
  for (const command of COMMANDS) mount(program, command);
  for (const command of everyCommand(program)) command.exitOverride((err) => {
    throw new CommandLineError(err, command);
  });
  return program;
}

/** What commander stopped at (a usage error, --help, --version), with the command it was parsing. */
class CommandLineError extends CommanderError {
  constructor(
    err: CommanderError,
    readonly command: Command,
  ) {
    super(err.exitCode, err.code, err.message);
  }
}

/** Commander's message as one line: `unknown command 'tsk' (did you mean task?)`. */
function oneLine(message: string): string {
  return message.replace(/^error: /, '').replace(/\n\(Did you mean (.*)\)$/, ' (did you mean $1)').replace(/\s*\n\s*/g, ' ');
}


/** Whether the command line asks for JSON (before a `--` that ends the options). */
function wantsJson(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

export async function runCli(argv: string[]): Promise<number> {
  const json = wantsJson(argv);
  try {
    await buildProgram(json).parseAsync(argv, { from: 'user' });
    return ExitCode.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return ExitCode.OK; // --help, --version
      // A group without its command (`makima task`): commander has printed the group's help.
      if (err.code === 'commander.help') return ExitCode.USAGE;
      const hint = err instanceof CommandLineError ? `run '${commandPath(err.command)} --help' for usage` : undefined;
      return fail(json, 'USAGE', oneLine(err.message), undefined, hint);
    }
    if (err instanceof CliError) return fail(json, err.kind, err.message, err instanceof ApiError ? err.errors : undefined);
    // config.ts (and its zod) is loaded only by the commands that need it, and so only here on failure.
    const { ConfigError } = await import('../config.js');
    if (err instanceof ConfigError) return fail(json, 'ERROR', err.message);
    const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
    return fail(json, 'INTERNAL', `unexpected error: ${detail}`);
  }
}

/**
 * Reports a failure on stderr and returns its exit status: `makima: <message>` for people, or
 * under --json one object `{"error":{"kind","exitCode","message","errors"?}}` (errors: the API's,
 * each with its extensions.code).
 */
function fail(json: boolean, kind: ExitKind, message: string, errors?: { message: string; code: string | null; candidates?: unknown[] }[], hint?: string): number {
  const exitCode = ExitCode[kind];
  if (json) process.stderr.write(`${JSON.stringify({ error: { kind, exitCode, message, ...(errors ? { errors } : {}) } })}\n`);
  else process.stderr.write(`makima: ${message}\n${hint ? `${hint}\n` : ''}`);
  return exitCode;
}
