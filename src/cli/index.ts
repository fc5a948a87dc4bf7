// Builds the commander program from one file per command and runs it; expected failures print one
// line and exit non-zero, never a stack trace.
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config.js';
import { DataDirLockedError } from '../db/database.js';
import { MigrationError } from '../db/migrate.js';
import { CliError } from './output.js';
import { registerMigrate } from './migrate.js';
import { registerServe } from './serve.js';
import { registerUser } from './user.js';

export function buildProgram(): Command {
  const program = new Command('makima')
    .description('Resume and history for AI coding agents: server, administration and API client')
    .showHelpAfterError()
    .exitOverride();
  registerServe(program);
  registerUser(program);
  registerMigrate(program);
  return program;
}

const EXPECTED = [CliError, ConfigError, DataDirLockedError, MigrationError];

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
