// Builds the commander program from one file per command and runs it; expected failures print one
// line and exit non-zero, never a stack trace.
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config.js';
import { CliError } from './output.js';
import { registerImport } from './import.js';
import { registerMigrate } from './migrate.js';
import { registerResume } from './resume.js';
import { registerRewindConversation } from './rewind-conversation.js';
import { registerSearch } from './search.js';
import { registerServe } from './serve.js';
import { registerTaskCheckpoints } from './task-checkpoints.js';
import { registerTaskExport } from './task-export.js';
import { registerTaskFork } from './task-fork.js';
import { registerTaskHistory } from './task-history.js';
import { registerTaskResume } from './task-resume.js';
import { registerTaskResumeFrom } from './task-resume-from.js';
import { registerTaskRewind } from './task-rewind.js';
import { registerTimeline } from './timeline.js';
import { registerUser } from './user.js';
import { registerWorker } from './worker.js';

export function buildProgram(): Command {
  const program = new Command('makima')
    .description('Resume and history for AI coding agents: server, administration and API client')
    .showHelpAfterError()
    .exitOverride();
  registerServe(program);
  registerUser(program);
  registerMigrate(program);
  registerTaskHistory(program);
  registerTaskCheckpoints(program);
  registerTaskRewind(program);
  registerTaskFork(program);
  registerRewindConversation(program);
  registerResume(program);
  registerTaskResume(program);
  registerTaskResumeFrom(program);
  registerTimeline(program);
  registerWorker(program);
  registerSearch(program);
  registerTaskExport(program);
  registerImport(program);
  return program;
}

const EXPECTED = [CliError, ConfigError];

export async function runCli(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (EXPECTED.some((cls) => err instanceof cls)) {
      process.stderr.write(`makima: ${(err as Error).message}\n`);
      return 1;
    }
    process.stderr.write(`makima: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 2;
  }
}
