// The database for the commands that use it directly (serve, user create, migrate). It is loaded
// on demand: the API client commands never need Prisma or PGlite, and start much faster without.
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import { CliError } from './output.js';

/** The embedded database's data directory is held by another process (a running server, say). */
export class DataDirHeldError extends CliError {}

/** Opens the configured database; a data dir held by another process is a one-line CliError (DataDirHeldError). */
export async function openConfiguredDatabase(config: Config): Promise<Database> {
  const { openDatabase, DataDirLockedError } = await import('../db/database.js');
  try {
    return await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.pgPoolSize });
  } catch (err) {
    if (err instanceof DataDirLockedError) throw new DataDirHeldError(err.message);
    throw err;
  }
}

/** Applies pending migrations; a migration that cannot be applied is a one-line CliError. */
export async function migrateDatabase(db: Database): Promise<string[]> {
  const { migrate, MigrationError } = await import('../db/migrate.js');
  try {
    return await migrate(db);
  } catch (err) {
    if (err instanceof MigrationError) throw new CliError(err.message);
    throw err;
  }
}
