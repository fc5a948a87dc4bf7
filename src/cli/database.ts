// The database for the commands that use it directly (serve, user create, migrate). It is loaded
// on demand: the API client commands never need Prisma or PGlite, and start much faster without.
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import { CliError } from './output.js';

/** The embedded database's data directory is held by another process (a running server, say). */
export class DataDirHeldError extends CliError {}

/**
 * Opens the configured database; a data dir held by another process is a one-line CliError
 * (DataDirHeldError), and so is a PostgreSQL that cannot be used (assertReachable): every command
 * that opens the database fails in one line, within MAKIMA_PG_CONNECT_TIMEOUT_MS, never with a stack.
 */
export async function openConfiguredDatabase(config: Config): Promise<Database> {
  const { openDatabase, DataDirLockedError } = await import('../db/database.js');
  let db: Database;
  try {
    db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.pgPoolSize, connectTimeoutMs: config.pgConnectTimeoutMs, transactionMaxWaitMs: config.transactionMaxWaitMs });
  } catch (err) {
    if (err instanceof DataDirLockedError) throw new DataDirHeldError(err.message);
    throw err;
  }
  try {
    await assertReachable(config, db);
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
  return db;
}

/** A PostgreSQL that is down, silent or without the database is one line that says what to check. */
async function assertReachable(config: Config, db: Database): Promise<void> {
  if (!config.databaseUrl) return;
  try {
    await db.query('SELECT 1');
  } catch (err) {
    const url = new URL(config.databaseUrl);
    url.password = url.password ? '***' : '';
    const name = decodeURIComponent(url.pathname.slice(1));
    const hint =
      (err as { code?: string }).code === '3D000'
        ? `create it (CREATE DATABASE ${name}) or correct DATABASE_URL`
        : 'check that PostgreSQL is running there and that DATABASE_URL is right';
    throw new CliError(`cannot use the database ${url.toString()} (DATABASE_URL): ${describeError(err)}; ${hint}`);
  }
}

/** An error's message on one line; an AggregateError (each address of a host refused) by its parts. */
export function describeError(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length) {
    return [...new Set(err.errors.map((e: unknown) => describeError(e)))].join('; ');
  }
  const e = err as { message?: string; code?: string } | undefined;
  return (e?.message || e?.code || String(err)).split('\n')[0];
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
