// `makima migrate`: applies pending migrations (the server also does this at start).
import type { Command } from 'commander';
import type { CliCommand } from './command.js';
import { migrateDatabase, openConfiguredDatabase } from './database.js';
import { printJson, println } from './output.js';

export const migrate: CliCommand = { name: 'migrate', define: defineMigrate };

function defineMigrate(cmd: Command): void {
  cmd
    .description('apply pending database migrations (prisma/migrations)')
    .option('--json', 'print the applied migrations as JSON')
    .action(async (opts: { json?: boolean }) => {
      const { loadConfig } = await import('../config.js'); // lazily: zod is slow to load, and client commands never need it
      const config = loadConfig();
      const db = await openConfiguredDatabase(config);
      try {
        const applied = await migrateDatabase(db);
        if (opts.json) return printJson({ applied });
        println(applied.length ? `applied ${applied.join(', ')}` : 'the database is up to date');
      } finally {
        await db.close();
      }
    });
}
