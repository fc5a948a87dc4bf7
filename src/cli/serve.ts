// `makima serve` (and `npm start`): runs the API until Ctrl-C; on the first start with the embedded
// database it creates a local user and says how to use its token.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig, type Config } from '../config.js';
import type { Database } from '../db/database.js';
import { migrateDatabase, openConfiguredDatabase } from './database.js';
import { CliError, color, println } from './output.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the GraphQL API, GraphiQL and graphql-ws subscriptions')
    .option('--port <port>', 'port to listen on (default: PORT or 4000)')
    .option('--host <host>', 'address to listen on (default: HOST or 127.0.0.1)')
    .option('--json', 'once serving, print { "url", "wsUrl", "database", "localToken" } as one JSON line')
    .action(async (opts: { port?: string; host?: string; json?: boolean }) => {
      const config = loadConfig({ ...process.env, ...(opts.port ? { PORT: opts.port } : {}), ...(opts.host ? { HOST: opts.host } : {}) });
      const db = await openConfiguredDatabase(config);
      await migrateDatabase(db);
      const localToken = config.databaseUrl ? undefined : await ensureLocalUser(config, db);
      const { startServer } = await import('../server.js');
      const server = await startServer({ config, db });
      // Ctrl-C / SIGTERM stop the server (exit 0); so does losing the embedded database's data
      // directory to another process (exit 1, with the reason on stderr), rather than writing on.
      // The signal handlers are in place before the URL is printed: whoever reads it may signal at once.
      let stopping = false;
      let stopped!: (reason: string | undefined) => void;
      const done = new Promise<string | undefined>((resolve) => (stopped = resolve));
      const stop = (reason?: string) => {
        if (stopping) return;
        stopping = true;
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        if (!opts.json) println('\nstopping: finishing requests and closing the database…');
        void server.stop().then(() => stopped(reason));
      };
      const onSignal = () => stop();
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      if (opts.json) {
        const database = config.databaseUrl ? 'postgres' : 'pglite';
        println(JSON.stringify({ url: server.url, wsUrl: server.wsUrl, database, localToken: localToken?.token ?? null }));
      } else greet(server.url, localToken, config);
      db.onLockLost((message) => stop(message));
      const lost = await done;
      if (lost) throw new CliError(`${lost}; the server stopped so that two processes never write the same database.`);
    });
}

/** The first start of an embedded database creates a local user; its token is kept in the data dir. */
async function ensureLocalUser(config: Config, db: Database): Promise<{ token: string; file: string; created: boolean } | undefined> {
  const file = path.join(config.dataDir, 'local-token');
  if ((await db.prisma.user.count()) > 0) {
    return fs.existsSync(file) ? { token: fs.readFileSync(file, 'utf8').trim(), file, created: false } : undefined;
  }
  const { createUser } = await import('../modules/auth/service.js');
  const user = await createUser(db.prisma, 'local');
  fs.writeFileSync(file, `${user.token}\n`, { mode: 0o600 });
  return { token: user.token, file, created: true };
}

function greet(url: string, local: { token: string; file: string; created: boolean } | undefined, config: Config): void {
  println(`${color.bold('makima')} is serving GraphiQL and the API on ${color.cyan(url)}`);
  println(color.dim(`database: ${config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : `embedded PGlite in ${config.dataDir}`}`));
  if (!local) return;
  println(local.created ? `created the local user; its token is saved in ${local.file}` : `local user token: ${local.file}`);
  println(`  GraphiQL → Headers: {"Authorization": "Bearer ${local.token}"}`);
  println(`  CLI      → export MAKIMA_URL=${url} MAKIMA_TOKEN=${local.token}`);
  println(color.dim('Ctrl-C stops the server cleanly.'));
}
