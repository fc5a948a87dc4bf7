// Every environment variable makima reads, parsed once, validated and typed (docs/operations.md, "Configuration").
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

/** A yes/no variable: true/false, 1/0, yes/no. */
const flag = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');

/** Origins as a browser sends them: scheme://host[:port], no path; or `*` (any origin, never with credentials). */
const corsOrigins = z
  .string()
  .transform((v) => v.split(',').map((o) => o.trim()).filter(Boolean))
  .pipe(z.array(z.union([z.literal('*'), z.string().regex(/^https?:\/\/[^/\s]+$/, 'an origin is scheme://host[:port] without a path, or *')])));

const envSchema = z.object({
  DATABASE_URL: z.string().url().optional(),
  MAKIMA_DATA_DIR: z.string().min(1).optional(),
  MAKIMA_REPOS_ROOT: z.string().min(1).optional(),
  MAKIMA_WORKTREES_DIR: z.string().min(1).optional(),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  MAKIMA_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MAKIMA_SNAPSHOT_EVERY: z.coerce.number().int().min(1).default(20),
  MAKIMA_LEASE_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  MAKIMA_LEASE_SWEEP_MS: z.coerce.number().int().min(50).default(1000),
  MAKIMA_MAX_MESSAGE_BYTES: z.coerce.number().int().min(1024).default(1024 * 1024),
  MAKIMA_MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(8 * 1024 * 1024),
  MAKIMA_SUBSCRIBER_BUFFER: z.coerce.number().int().min(1).default(1000),
  MAKIMA_LIVE_RECHECK_MS: z.coerce.number().int().min(10).default(1000),
  MAKIMA_ARCHIVE_AFTER_DAYS: z.coerce.number().min(0).default(0),
  MAKIMA_ARCHIVE_SWEEP_MS: z.coerce.number().int().min(50).default(3_600_000),
  MAKIMA_URL: z.string().url().optional(),
  MAKIMA_TOKEN: z.string().min(1).optional(),
  MAKIMA_TEST_CRASH_FILE: z.string().min(1).optional(),
  // Running in production (docs/operations.md, "Running in production").
  MAKIMA_PG_POOL_SIZE: z.coerce.number().int().min(2).max(1000).default(10),
  MAKIMA_TRANSACTION_MAX_WAIT_MS: z.coerce.number().int().min(10).max(600_000).default(30_000),
  MAKIMA_CORS_ORIGINS: z.string().optional(),
  MAKIMA_METRICS: flag.default(true),
  MAKIMA_PERSISTED_OPERATIONS: z.string().min(1).optional(),
  MAKIMA_PERSISTED_ONLY: flag.default(false),
  MAKIMA_RATE_LIMIT: z.coerce.number().int().min(0).default(0),
  MAKIMA_RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  // The mesh (docs/design.md §11): git over HTTP.
  MAKIMA_PUBLIC_URL: z.string().url().optional(),
  MAKIMA_MAX_PUSH_BYTES: z.coerce.number().int().min(1024).default(512 * 1024 * 1024),
  // The HTTP protocol's bounds and /metrics access (docs/operations.md, "Timeouts and connections per client").
  MAKIMA_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  MAKIMA_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
  MAKIMA_MAX_CONNECTIONS_PER_CLIENT: z.coerce.number().int().min(0).default(256),
  MAKIMA_METRICS_LISTEN: z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:]+):\d{1,5}$/, 'host:port, e.g. 0.0.0.0:9464 or [::1]:9464').optional(),
  MAKIMA_METRICS_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  MAKIMA_METRICS_OPERATION_NAMES: z.coerce.number().int().min(0).max(10_000).default(200),
  MAKIMA_PG_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
});

export interface Config {
  databaseUrl: string | undefined;
  dataDir: string;
  /**
   * Contracts may use only repositories under this directory. Default (docs/design.md §18): the
   * home directory of whoever runs an embedded server (one person's own machine), the working
   * directory with PostgreSQL (a shared server, where the operator must choose it).
   */
  reposRoot: string;
  /** Whether reposRoot is that default rather than MAKIMA_REPOS_ROOT's. */
  reposRootIsDefault: boolean;
  worktreesDir: string;
  /** The write-ahead journal of changes that move git (change/with-git.ts). */
  gitJournalDir: string;
  host: string;
  port: number;
  logLevel: z.infer<typeof envSchema>['MAKIMA_LOG_LEVEL'];
  /** An AUTO conversation snapshot is taken every this many messages. */
  snapshotEvery: number;
  defaultLeaseSeconds: number;
  leaseSweepMs: number;
  maxMessageBytes: number;
  maxBodyBytes: number;
  /** Events a subscriber may have queued before it is closed as too slow. */
  subscriberBuffer: number;
  /** How often the live hub compares what it follows with the tables, for a lost notification (live/hub.ts). */
  liveRecheckMs: number;
  /** Finished tasks (COMPLETED, FAILED, CANCELLED) unchanged this many days are archived; 0: never (modules/control/archive.ts). */
  archiveAfterDays: number;
  /** How often the server looks for tasks to archive. */
  archiveSweepMs: number;
  /** Where the CLI finds the server, and with which token. */
  clientUrl: string | undefined;
  clientToken: string | undefined;
  /** Tests only: a file naming a crash point; the server SIGKILLs itself there (change/with-git.ts, crashPoint). */
  testCrashFile: string | undefined;
  /** Connections in the PostgreSQL pool (besides the one LISTEN connection); ignored for PGlite. */
  pgPoolSize: number;
  /** How long a transaction waits for a database connection before the operation is SERVER_BUSY (db/transaction.ts). */
  transactionMaxWaitMs: number;
  /** Origins a browser may call the API from (CORS); empty: none but the server's own. `*`: any, without credentials. */
  corsOrigins: string[];
  /** Whether /metrics serves Prometheus metrics. */
  metrics: boolean;
  /** A JSON file of persisted operations: `{ "<sha256 of the document>": "<document>" }`. */
  persistedOperationsFile: string | undefined;
  /** Only persisted operations run (over HTTP and graphql-ws); needs persistedOperationsFile. */
  persistedOnly: boolean;
  /** Operations per token per rateLimitWindowSeconds on one instance; 0: no limit. */
  rateLimit: number;
  rateLimitWindowSeconds: number;
  /** The server's address as clients reach it (scheme://host[:port], maybe a path prefix): the base of Contract.gitUrl. */
  publicUrl: string | undefined;
  /** A git push whose pack is larger than this is refused (git's receive.maxInputSize, and the request is cut). */
  maxPushBytes: number;
  /** The hooks git's receive-pack runs for a push over HTTP (the push rules, git/push-hook.ts). */
  gitHooksDir: string;
  /** The records of pushes under way, so that a restart clears what a killed one left (git/push-record.ts). */
  gitPushesDir: string;
  // The HTTP protocol's bounds and /metrics access (docs/operations.md, "Timeouts and connections per client").
  /** A client must have sent a request's headers within this many ms of starting it, else 408 and close. */
  headersTimeoutMs: number;
  /** A client must have sent a whole request (headers and body) within this many ms, else 408 and close. */
  requestTimeoutMs: number;
  /** Open connections one client address may hold; more are answered 429 and closed. 0: no cap. */
  maxConnectionsPerClient: number;
  /** Where /metrics is served instead of the API's port (`host:port`); undefined: on the API's port. */
  metricsListen: { host: string; port: number } | undefined;
  /** When set, /metrics answers only `Authorization: Bearer <this>`. */
  metricsToken: string | undefined;
  /** How many distinct operation names /metrics labels (the rest are `other`). */
  metricsOperationNames: number;
  /** How long opening a PostgreSQL connection may take before it fails. */
  pgConnectTimeoutMs: number;
}

export class ConfigError extends Error {}

/** Reads the configuration from an environment (process.env by default); throws ConfigError listing every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const origins = corsOrigins.safeParse(e.MAKIMA_CORS_ORIGINS ?? '');
  if (!origins.success) throw new ConfigError(`invalid configuration:\n  MAKIMA_CORS_ORIGINS: ${origins.error.issues.map((i) => i.message).join('; ')}`);
  if (e.MAKIMA_PERSISTED_ONLY && !e.MAKIMA_PERSISTED_OPERATIONS) {
    throw new ConfigError('invalid configuration:\n  MAKIMA_PERSISTED_ONLY: needs MAKIMA_PERSISTED_OPERATIONS (the file of operations that may run)');
  }
  if (e.MAKIMA_HEADERS_TIMEOUT_MS > e.MAKIMA_REQUEST_TIMEOUT_MS) {
    throw new ConfigError('invalid configuration:\n  MAKIMA_HEADERS_TIMEOUT_MS: must not be larger than MAKIMA_REQUEST_TIMEOUT_MS (the headers are part of the request)');
  }
  const dataDir = path.resolve(cwd, e.MAKIMA_DATA_DIR ?? '.makima');
  return {
    databaseUrl: e.DATABASE_URL,
    dataDir,
    reposRoot: path.resolve(cwd, e.MAKIMA_REPOS_ROOT ?? (e.DATABASE_URL ? '.' : env.HOME || os.homedir())),
    reposRootIsDefault: e.MAKIMA_REPOS_ROOT === undefined,
    worktreesDir: path.resolve(cwd, e.MAKIMA_WORKTREES_DIR ?? path.join(dataDir, 'worktrees')),
    gitJournalDir: path.join(dataDir, 'git-journal'),
    host: e.HOST,
    port: e.PORT,
    logLevel: e.MAKIMA_LOG_LEVEL,
    snapshotEvery: e.MAKIMA_SNAPSHOT_EVERY,
    defaultLeaseSeconds: e.MAKIMA_LEASE_SECONDS,
    leaseSweepMs: e.MAKIMA_LEASE_SWEEP_MS,
    maxMessageBytes: e.MAKIMA_MAX_MESSAGE_BYTES,
    maxBodyBytes: e.MAKIMA_MAX_BODY_BYTES,
    subscriberBuffer: e.MAKIMA_SUBSCRIBER_BUFFER,
    liveRecheckMs: e.MAKIMA_LIVE_RECHECK_MS,
    archiveAfterDays: e.MAKIMA_ARCHIVE_AFTER_DAYS,
    archiveSweepMs: e.MAKIMA_ARCHIVE_SWEEP_MS,
    clientUrl: e.MAKIMA_URL,
    clientToken: e.MAKIMA_TOKEN,
    testCrashFile: e.MAKIMA_TEST_CRASH_FILE,
    pgPoolSize: e.MAKIMA_PG_POOL_SIZE,
    transactionMaxWaitMs: e.MAKIMA_TRANSACTION_MAX_WAIT_MS,
    corsOrigins: origins.data,
    metrics: e.MAKIMA_METRICS,
    persistedOperationsFile: e.MAKIMA_PERSISTED_OPERATIONS === undefined ? undefined : path.resolve(cwd, e.MAKIMA_PERSISTED_OPERATIONS),
    persistedOnly: e.MAKIMA_PERSISTED_ONLY,
    rateLimit: e.MAKIMA_RATE_LIMIT,
    rateLimitWindowSeconds: e.MAKIMA_RATE_LIMIT_WINDOW_SECONDS,
    publicUrl: e.MAKIMA_PUBLIC_URL?.replace(/\/+$/, ''),
    maxPushBytes: e.MAKIMA_MAX_PUSH_BYTES,
    gitHooksDir: path.join(dataDir, 'git-hooks'),
    gitPushesDir: path.join(dataDir, 'git-pushes'),
    headersTimeoutMs: e.MAKIMA_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: e.MAKIMA_REQUEST_TIMEOUT_MS,
    maxConnectionsPerClient: e.MAKIMA_MAX_CONNECTIONS_PER_CLIENT,
    metricsListen: e.MAKIMA_METRICS_LISTEN === undefined ? undefined : hostPort(e.MAKIMA_METRICS_LISTEN),
    metricsToken: e.MAKIMA_METRICS_TOKEN,
    metricsOperationNames: e.MAKIMA_METRICS_OPERATION_NAMES,
    pgConnectTimeoutMs: e.MAKIMA_PG_CONNECT_TIMEOUT_MS,
  };
}

function hostPort(value: string): { host: string; port: number } {
  const colon = value.lastIndexOf(':');
  return { host: value.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(value.slice(colon + 1)) };
}
