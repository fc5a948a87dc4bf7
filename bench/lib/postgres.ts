// The PostgreSQL a benchmark runs on: checks that it is reachable (and says so clearly when not),
// creates a database of the benchmark's own and drops it afterwards — never touching any other.
import crypto from 'node:crypto';
import pg from 'pg';

export const DEFAULT_BENCH_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export class PostgresUnreachableError extends Error {}

/** The server URL benchmarks use (BENCH_DATABASE_URL, or the local default). */
export function benchServerUrl(): string {
  return process.env.BENCH_DATABASE_URL || DEFAULT_BENCH_DATABASE_URL;
}

function redacted(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw new PostgresUnreachableError(
      `PostgreSQL is not reachable at ${redacted(url)} (${(err as Error).message}).\n` +
        'The benchmarks need a PostgreSQL server: start one, or point BENCH_DATABASE_URL at one ' +
        '(a user allowed to CREATE DATABASE; the benchmark creates and drops its own database).',
    );
  }
  return client;
}

export interface BenchDatabase {
  name: string;
  /** URL of the benchmark's own database. */
  url: string;
  serverVersion: string;
  drop(): Promise<void>;
}

const open = new Set<BenchDatabase>();

/** Creates `makima_bench_<label>_<random>` on the benchmark server. */
export async function createBenchDatabase(label: string): Promise<BenchDatabase> {
  const serverUrl = benchServerUrl();
  const admin = await connect(serverUrl);
  const name = `makima_bench_${label}_${crypto.randomBytes(4).toString('hex')}`;
  let serverVersion: string;
  try {
    serverVersion = (await admin.query<{ server_version: string }>('SHOW server_version')).rows[0].server_version;
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  const db: BenchDatabase = {
    name,
    url: url.toString(),
    serverVersion,
    drop: () =>
      (dropped ??= (async () => {
        open.delete(db);
        const c = await connect(serverUrl);
        try {
          await c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
        } finally {
          await c.end();
        }
      })()),
  };
  open.add(db);
  return db;
}

/** Drops every database this process created (on an error or Ctrl-C). */
export async function dropAllBenchDatabases(): Promise<void> {
  await Promise.all([...open].map((db) => db.drop().catch(() => undefined)));
}
