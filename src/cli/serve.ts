// `makima serve` (and `npm start`): runs the API until Ctrl-C or SIGTERM; on the first start with the
// embedded database it creates a local user and says how to use its token.
//
// Failing to start is one line and a non-zero exit, with nothing left open or half-created: a busy
// port is found before the database is opened (so no data dir, token or migration is made), a
// database that cannot be reached is named with what to check, and anything that fails once the
// database is open closes it (its pool and LISTEN connection) before the error is reported.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { RunningServer } from '../server.js';
import type { CliCommand } from './command.js';
import { describeError, migrateDatabase, openConfiguredDatabase } from './database.js';
import { CliError, color, println } from './output.js';

export const serve: CliCommand = { name: 'serve', define: defineServe };

function defineServe(cmd: Command): void {
  cmd
    .description('serve the GraphQL API, GraphiQL and graphql-ws subscriptions')
    .option('--port <port>', 'port to listen on (default: PORT or 4000)')
    .option('--host <host>', 'address to listen on (default: HOST or 127.0.0.1)')
    .option('--json', 'once serving, print { "url", "wsUrl", "database", "localToken" } as one JSON line')
    .action(async (opts: { port?: string; host?: string; json?: boolean }) => {
      const { loadConfig } = await import('../config.js'); // lazily: zod is slow to load, and client commands never need it
      const config = loadConfig({ ...process.env, ...(opts.port ? { PORT: opts.port } : {}), ...(opts.host ? { HOST: opts.host } : {}) });
      await assertPortFree(config.host, config.port);
      const db = await openConfiguredDatabase(config);
      let server: RunningServer | undefined;
      let localToken: LocalToken | undefined;
      try {
        await migrateDatabase(db);
        const { createLogger, flushLogsOnFatalSignals, startServer } = await import('../server.js');
        const logger = createLogger(config);
        flushLogsOnFatalSignals(logger);
        server = await listening(config, () => startServer({ config, db, logger }));
        // After listening, so that a port taken since the check above leaves no new user behind.
        if (!config.databaseUrl) {
          localToken = await ensureLocalUser(config, db);
          // Where this server listens, for `makima user create` while it holds the embedded database.
          fs.writeFileSync(serverUrlFile(config), `${server.url}\n`);
        }
      } catch (err) {
        // Nothing may keep the process alive after a failed start: the pool, the LISTEN connection,
        // the embedded database and its lock all go with the database.
        if (server) await server.stop().catch(() => undefined);
        else await db.close().catch(() => undefined);
        throw err;
      }
      const running = server;
      // Ctrl-C / SIGTERM stop the server (exit 0); so does losing the embedded database's data
      // directory to another process (exit 1, with the reason on stderr), rather than writing on.
      // The handlers are in place before the URL is printed: whoever reads it may signal at once.
      // They stay until the server has stopped: a second SIGINT or SIGTERM while stopping is
      // ignored rather than killing the process half-way. Ctrl-C under `npm start` delivers two
      // (one from the terminal, one forwarded by npm), and a supervisor may repeat its SIGTERM.
      let stopping = false;
      let stopped!: (outcome: { lost?: string; error?: unknown }) => void;
      const done = new Promise<{ lost?: string; error?: unknown }>((resolve) => (stopped = resolve));
      const stop = (lost?: string) => {
        if (stopping) return;
        stopping = true;
        if (!opts.json) println('\nstopping: finishing requests and closing the database…');
        running
          .stop()
          .finally(() => {
            process.off('SIGINT', onSignal);
            process.off('SIGTERM', onSignal);
          })
          .then(
            () => stopped({ lost }),
            (error: unknown) => stopped({ error }),
          );
      };
      const onSignal = () => stop();
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      db.onLockLost((message) => stop(message));
      if (opts.json) {
        const database = config.databaseUrl ? 'postgres' : 'pglite';
        println(JSON.stringify({ url: server.url, wsUrl: server.wsUrl, database, localToken: localToken?.token ?? null }));
      } else greet(server.url, localToken, config);
      const outcome = await done;
      if (!config.databaseUrl) fs.rmSync(serverUrlFile(config), { force: true });
      if (outcome.error) throw outcome.error;
      if (outcome.lost) throw new CliError(`${outcome.lost}; the server stopped so that two processes never write the same database.`);
    });
}

/**
 * Fails with one line when `host:port` cannot be listened on, before anything is opened or created.
 * It binds a throwaway server there and closes it at once, so another process could still take the
 * port before the real server listens a few seconds later. That race is acceptable: it needs two
 * servers started on one port at the same moment, and its loser still fails cleanly — listening()
 * reports the same line and the database is closed — only after having opened it.
 */
async function assertPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return; // the system picks a free port
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  }).catch((err: unknown) => {
    throw new CliError(listenFailure(err, host, port) ?? `cannot listen on ${host}:${port}: ${describe(err)}`);
  });
}

/** Starts the server; a listen error becomes the same one line as assertPortFree's. */
async function listening(config: Config, start: () => Promise<RunningServer>): Promise<RunningServer> {
  try {
    return await start();
  } catch (err) {
    const failure = listenFailure(err, config.host, config.port);
    throw failure ? new CliError(failure) : err;
  }
}

/** The line for an error of listening on host:port, or undefined when it is not one. */
function listenFailure(err: unknown, host: string, port: number): string | undefined {
  const e = err as NodeJS.ErrnoException | undefined;
  if (e?.syscall !== 'listen' && e?.syscall !== 'getaddrinfo') return undefined;
  switch (e.code) {
    case 'EADDRINUSE':
      return `port ${port} on ${host} is in use; set PORT or --port`;
    case 'EACCES':
      return `port ${port} on ${host} is not allowed for this user (ports below 1024 usually need privileges); set PORT or --port`;
    case 'EADDRNOTAVAIL':
      return `${host} is not an address of this machine; set HOST or --host`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `the host ${host} cannot be resolved; set HOST or --host`;
    default:
      return `cannot listen on port ${port} on ${host}: ${describe(err)}`;
  }
}

/** An error's message on one line. */
const describe = describeError;

type LocalToken = { token: string; file: string; created: boolean };

/** The first start of an embedded database creates a local user; its token is kept in the data dir. */
/** The file in the data directory naming the URL of the server that holds the embedded database. */
export function serverUrlFile(config: Config): string {
  return path.join(config.dataDir, 'server-url');
}

async function ensureLocalUser(config: Config, db: Database): Promise<LocalToken | undefined> {
  const file = path.join(config.dataDir, 'local-token');
  if ((await db.prisma.user.count()) > 0) {
    return fs.existsSync(file) ? { token: fs.readFileSync(file, 'utf8').trim(), file, created: false } : undefined;
  }
  const { createUser } = await import('../modules/auth/index.js');
  const user = await createUser(db.prisma, 'local');
  fs.writeFileSync(file, `${user.token}\n`, { mode: 0o600 });
  return { token: user.token, file, created: true };
}

function greet(url: string, local: LocalToken | undefined, config: Config): void {
  println(`${color.bold('makima')} is serving GraphiQL and the API on ${color.cyan(url)}`);
  println(`  the timeline view, in a browser: ${color.cyan(new URL('/', url).href)}`);
  println(color.dim(`database: ${config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : `embedded PGlite in ${config.dataDir}`}`));
  const root = config.reposRootIsDefault ? ' (MAKIMA_REPOS_ROOT to change)' : ' (MAKIMA_REPOS_ROOT)';
  println(color.dim(`repositories: contracts may use any git repository under ${config.reposRoot}${root}`));
  if (!local) return;
  println(local.created ? `created the local user; its token is saved in ${local.file}` : `local user token: ${local.file}`);
  println(`  CLI      → from this directory, makima commands find this server and token by themselves;`);
  println(`             from anywhere: \`makima login\` here once, or export MAKIMA_URL=${url} MAKIMA_TOKEN=${local.token}`);
  println(`  GraphiQL → Headers: {"Authorization": "Bearer ${local.token}"}`);
  println(color.dim('Ctrl-C stops the server cleanly.'));
}
