// `makima user create --name N [--json]`: a user and an API token, printed once.
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import type { CliCommand } from './command.js';
import { migrateDatabase, openConfiguredDatabase } from './database.js';
import { UsageError, color, printJson, println } from './output.js';

export const userCreate: CliCommand = { name: 'user create', define: defineUserCreate };

function defineUserCreate(cmd: Command): void {
  cmd
    .description('create a user and print its API token (shown only once)')
    .requiredOption('--name <name>', "the user's name")
    .option('--json', 'print { "id", "name", "token" } as JSON')
    .action(async (opts: { name: string; json?: boolean }) => {
      if (!opts.name.trim()) throw new UsageError('--name must not be empty');
      const config = loadConfig();
      const db = await openConfiguredDatabase(config);
      try {
        await migrateDatabase(db);
        const { createUser } = await import('../modules/auth/service.js');
        const created = await createUser(db.prisma, opts.name);
        if (opts.json) return printJson(created);
        println(`created user ${color.bold(created.name)} (${created.id})`);
        println(`token: ${created.token}`);
        println(color.dim('It is shown only this once. Use it as MAKIMA_TOKEN, or in GraphiQL under Headers:'));
        println(color.dim(`  {"Authorization": "Bearer ${created.token}"}`));
      } finally {
        await db.close();
      }
    });
}
