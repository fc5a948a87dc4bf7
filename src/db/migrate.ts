// Applies prisma/migrations/*/migration.sql in order and records each in `_prisma_migrations`
// exactly as `prisma migrate deploy` does (Prisma's schema engine cannot run on these machines).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database, RawTransaction } from './database.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations', import.meta.url));

// The advisory lock key Prisma's migrate uses, so that this runner and `prisma migrate deploy`
// never apply migrations at the same time.
const PRISMA_MIGRATE_LOCK = 72707369;

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export class MigrationError extends Error {}

export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const sql = fs.readFileSync(path.join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: crypto.createHash('sha256').update(sql).digest('hex') };
    });
}

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

/** Applies every pending migration, each in its own transaction; returns the names applied. */
export async function migrate(db: Database, migrations = readMigrations()): Promise<string[]> {
  const applied: string[] = [];
  for (const migration of migrations) {
    const didApply = await db.rawTransaction((tx) => applyOne(tx, migration));
    if (didApply) applied.push(migration.name);
  }
  return applied;
}

async function applyOne(tx: RawTransaction, migration: Migration): Promise<boolean> {
  await tx.query(`SELECT pg_advisory_xact_lock(${PRISMA_MIGRATE_LOCK})`);
  await tx.exec(CREATE_TABLE);
  const rows = await tx.query<AppliedRow>(
    `SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"
      WHERE migration_name = $1 AND rolled_back_at IS NULL`,
    [migration.name],
  );
  const done = rows.find((r) => r.finished_at !== null);
  if (done) {
    if (done.checksum !== migration.checksum) {
      throw new MigrationError(
        `migration ${migration.name} was changed after it was applied to this database ` +
          `(recorded checksum ${done.checksum.slice(0, 12)}…, file ${migration.checksum.slice(0, 12)}…). ` +
          'Restore the original file and put the change in a new migration.',
      );
    }
    return false;
  }
  if (rows.length > 0) {
    throw new MigrationError(
      `migration ${migration.name} is recorded as started but not finished; inspect the database and ` +
        'mark it rolled back (rolled_back_at) in _prisma_migrations before retrying.',
    );
  }
  await tx.exec(migration.sql);
  await tx.query(
    `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, logs, started_at, applied_steps_count)
     VALUES ($1, $2, now(), $3, NULL, now(), 1)`,
    [crypto.randomUUID(), migration.checksum, migration.name],
  );
  return true;
}
