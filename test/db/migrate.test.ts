// The migration runner records migrations exactly as `prisma migrate deploy` does, is idempotent,
// and refuses to run when an applied migration's file has changed.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/db/database.js';
import { MigrationError, migrate, readMigrations } from '../../src/db/migrate.js';
import { createTestDatabase, tempDir, type TestDatabase } from '../harness.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function emptyDatabase(): Promise<Database> {
  // A migrated test database, emptied, so both engines are exercised from scratch.
  const t: TestDatabase = await createTestDatabase();
  cleanups.push(() => t.drop());
  await t.db.rawTransaction(async (tx) => {
    await tx.exec(`DROP SCHEMA public CASCADE; CREATE SCHEMA public;`);
  });
  return t.db;
}

describe('migrate', () => {
  it('applies every migration once and records it like Prisma (checksum, timestamps, steps)', async () => {
    const db = await emptyDatabase();
    const all = readMigrations();
    expect(await migrate(db)).toEqual(all.map((m) => m.name));
    const rows = await db.query<{ migration_name: string; checksum: string; finished_at: Date | null; applied_steps_count: number; rolled_back_at: Date | null }>(
      `SELECT migration_name, checksum, finished_at, applied_steps_count, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at`,
    );
    expect(rows.map((r) => r.migration_name)).toEqual(all.map((m) => m.name));
    for (const [i, r] of rows.entries()) {
      const sql = fs.readFileSync(path.join('prisma/migrations', r.migration_name, 'migration.sql'));
      expect(r.checksum).toBe(crypto.createHash('sha256').update(sql).digest('hex'));
      expect(r.checksum).toBe(all[i].checksum);
      expect(r.finished_at).not.toBeNull();
      expect(r.rolled_back_at).toBeNull();
      expect(r.applied_steps_count).toBe(1);
    }
  });

  it('is idempotent: a second run applies nothing and changes nothing', async () => {
    const db = await emptyDatabase();
    await migrate(db);
    expect(await migrate(db)).toEqual([]);
    const [{ n }] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "_prisma_migrations"`);
    expect(n).toBe(readMigrations().length);
  });

  it('refuses to run when an applied migration file was changed', async () => {
    const db = await emptyDatabase();
    await migrate(db);
    const edited = readMigrations().map((m, i) => (i === 0 ? { ...m, sql: `${m.sql}\n-- edited`, checksum: 'f'.repeat(64) } : m));
    await expect(migrate(db, edited)).rejects.toThrow(MigrationError);
    await expect(migrate(db, edited)).rejects.toThrow(/was changed after it was applied/);
  });

  it('applies a new migration in its own transaction and rolls back a failing one completely', async () => {
    const db = await emptyDatabase();
    await migrate(db);
    const broken = { name: '29990101000000_broken', sql: 'CREATE TABLE "half_done" (id int); SELECT * FROM "no_such_table";', checksum: 'a'.repeat(64) };
    await expect(migrate(db, [...readMigrations(), broken])).rejects.toThrow();
    const [{ exists }] = await db.query<{ exists: boolean }>(`SELECT to_regclass('half_done') IS NOT NULL AS exists`);
    expect(exists).toBe(false);
    const [{ n }] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "_prisma_migrations" WHERE migration_name = $1`, [broken.name]);
    expect(n).toBe(0);
  });
});

describe('the embedded database', () => {
  it('persists under the data directory and is refused to a second opener while in use', async () => {
    const dir = tempDir();
    const first = await openDatabase({ dataDir: dir });
    await migrate(first);
    await expect(openDatabase({ dataDir: dir })).rejects.toThrow(/in use by another makima process/);
    await first.close();
    const again = await openDatabase({ dataDir: dir });
    expect(await migrate(again)).toEqual([]);
    await again.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('is a real PGlite database on disk', async () => {
    const dir = tempDir();
    const db = await openDatabase({ dataDir: dir });
    await db.close();
    expect(fs.existsSync(path.join(dir, 'pgdata', 'PG_VERSION'))).toBe(true);
    const direct = await PGlite.create(path.join(dir, 'pgdata'));
    await direct.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
