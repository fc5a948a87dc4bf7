// Wires the API (docs/design.md §8): node:http + graphql-yoga (HTTP, GraphiQL, SSE; src/http/yoga.ts)
// + graphql-ws (src/http/graphql-ws.ts) on the same port and path, git over HTTP, the browser view,
// health and metrics endpoints, start-up recovery and a graceful stop. It only wires: the routes
// are src/http/routes.ts, and what each serves lives beside them in src/http/.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { WebSocketServer } from 'ws';
import type { Config } from './config.js';
import type { AppContext } from './context.js';
import { openDatabase, type Database } from './db/database.js';
import { migrate } from './db/migrate.js';
import { Authenticator } from './modules/auth/index.js';
import { localGit, recoverInterruptedPushes } from './git/index.js';
import { LiveHub } from './live/hub.js';
import { recoverGitChanges } from './change/with-git.js';
import { startWorkers } from './modules/workers/index.js';
import { startArchiveRetention } from './modules/control/index.js';
import { CloseCode } from './http/ws.js';
import { limitConnectionsPerClient, requestTimeouts } from './http/connections.js';
import { attachGraphqlWs } from './http/graphql-ws.js';
import { loadPersistedOperations } from './http/persisted.js';
import { createApp, GRAPHQL_PATH, productionPlugins } from './http/yoga.js';
import { createMetrics, METRICS_PATH, operationNamesOf, readinessCheck } from './http/observability.js';
import { listenForMetrics, routeRequest } from './http/routes.js';

export { GRAPHQL_PATH };
/** graphql-ws close code for a socket whose connection_init carried no valid token. */
export const CLOSE_FORBIDDEN = CloseCode.Forbidden;
/** How long stop() lets requests, streams and sockets end on their own before it cuts them. */
export const STOP_GRACE_MS = 3000;
/** How often a graphql-ws socket is pinged; one that has not answered by the next ping is closed (4410). */
export const WS_KEEP_ALIVE_MS = 12_000;

export interface RunningServer {
  url: string;
  wsUrl: string;
  port: number;
  app: AppContext;
  httpServer: http.Server;
  /** /metrics on its own address, when MAKIMA_METRICS_LISTEN is set. */
  metricsUrl?: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  config: Config;
  logger?: Logger;
  /** An already-open database (tests); it is closed by stop() unless keepDatabase is set. */
  db?: Database;
  keepDatabase?: boolean;
  /** graphql-ws keep-alive interval (default WS_KEEP_ALIVE_MS; tests make it short). */
  wsKeepAliveMs?: number;
}

/** Bytes of log lines gathered before one write to stderr (docs/operations.md, "Request logs"). */
export const LOG_BUFFER_BYTES = 4096;
/** The longest a line waits in that buffer when few are written. */
export const LOG_FLUSH_MS = 1000;

/**
 * The server's logger. Logs go to stderr so that stdout stays for what a command prints for people
 * and scripts; asynchronously, gathered in buffers of LOG_BUFFER_BYTES (pino's sonic-boom), so that
 * a request's line costs a copy rather than a write(2). pino writes what is left synchronously when
 * the process exits — a clean stop or an uncaught error — and `makima serve` on a fatal signal
 * (flushLogsOnFatalSignals). A silent logger writes nothing and needs no buffer.
 */
export function createLogger(config: Config): Logger {
  if (config.logLevel === 'silent') return pino({ level: 'silent' }, pino.destination(2));
  return pino({ level: config.logLevel, base: undefined }, pino.destination({ dest: 2, sync: false, minLength: LOG_BUFFER_BYTES, periodicFlush: LOG_FLUSH_MS }));
}

/** Signals that end the process without an `exit` event, so without pino's last flush. */
const FATAL_SIGNALS = ['SIGHUP', 'SIGQUIT'] as const;

/**
 * On a signal that would kill the process at once, writes the buffered log lines first, then dies
 * of that same signal (its exit status says so). A flush that cannot finish (stderr's reader gone)
 * is given up after LOG_FLUSH_MS. SIGKILL cannot be caught: up to LOG_BUFFER_BYTES may then be lost.
 */
export function flushLogsOnFatalSignals(logger: Logger): void {
  for (const signal of FATAL_SIGNALS) {
    const onSignal = () => {
      let dying = false;
      const die = () => {
        if (dying) return;
        dying = true;
        process.off(signal, onSignal);
        process.kill(process.pid, signal);
      };
      setTimeout(die, LOG_FLUSH_MS).unref();
      logger.flush(die);
    };
    process.on(signal, onSignal);
  }
}

export async function startServer(options: StartOptions): Promise<RunningServer> {
  const { config } = options;
  const logger = options.logger ?? createLogger(config);
  // Read before anything opens: a bad file stops the start with a ConfigError.
  const persisted = config.persistedOperationsFile ? loadPersistedOperations(config.persistedOperationsFile, config.persistedOnly) : undefined;
  const db = options.db ?? (await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.pgPoolSize, connectTimeoutMs: config.pgConnectTimeoutMs, transactionMaxWaitMs: config.transactionMaxWaitMs }));
  try {
    const applied = await migrate(db);
    if (applied.length) logger.info({ applied }, 'applied database migrations');
  } catch (err) {
    if (!options.db) await db.close();
    throw err;
  }
  db.notifier.onFailure((err) => logger.warn({ err }, 'could not send live notifications: the live hubs find those events on their next re-check'));
  const live = new LiveHub({ db, prisma: db.prisma, logger, subscriberBuffer: config.subscriberBuffer, recheckMs: config.liveRecheckMs });
  try {
    await live.start();
  } catch (err) {
    if (!options.db) await db.close();
    throw err;
  }
  const auth = new Authenticator(db.prisma, logger);
  const app: AppContext = { config, db, prisma: db.prisma, logger, live, git: localGit, auth };
  try {
    await auth.start(db);
    // Before serving: a change that moved git and died mid-way is settled first (docs/design.md §9).
    const rolledBack = await recoverGitChanges(app);
    if (rolledBack) logger.warn({ rolledBack }, 'rolled back changes that moved git and did not commit before the last stop');
    // And a push over HTTP that died with the server: git's quarantine and ref locks (docs/mesh.md).
    for (const { record, removed } of await recoverInterruptedPushes(config.gitPushesDir)) {
      if (removed.length) logger.warn({ repository: record.repositoryPath, workerId: record.workerId, startedAt: record.startedAt, removed }, 'removed what a push the last stop interrupted left in the repository');
    }
  } catch (err) {
    await auth.stop();
    await live.stop();
    if (!options.db) await db.close();
    throw err;
  }
  let wss: WebSocketServer | undefined;
  const metrics = createMetrics(app, () => wss?.clients.size ?? 0, persisted ? operationNamesOf(persisted.byId.values()) : []);
  const yoga = createApp(app, productionPlugins(app, metrics, persisted));

  let draining = false;
  const ready = readinessCheck(app, () => draining);
  const route = routeRequest({ app, yoga, metrics, ready, draining: () => draining });
  const server = http.createServer(requestTimeouts(config), (req, res) => {
    // A request that began before the stop leaves an idle keep-alive connection when it ends.
    res.on('finish', () => draining && server.closeIdleConnections());
    route(req, res);
  });
  limitConnectionsPerClient(server, config.maxConnectionsPerClient, logger);
  wss = new WebSocketServer({ server, path: GRAPHQL_PATH, maxPayload: config.maxBodyBytes });
  const ws = attachGraphqlWs(app, yoga, wss, options.wsKeepAliveMs ?? WS_KEEP_ALIVE_MS, persisted);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const metricsServer = config.metrics && config.metricsListen ? await listenForMetrics(config.metricsListen, metrics, config.metricsToken) : undefined;
  const stopWorkers = await startWorkers(app);
  const stopRetention = startArchiveRetention(app);
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}${GRAPHQL_PATH}`;
  logger.debug({ url, engine: db.engine }, 'makima is serving');

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      // Stop accepting and let in-flight requests finish; end every live subscription (sockets with
      // 1001, SSE streams with their `complete`); after STOP_GRACE_MS cut whatever is still open, so
      // that a stop never waits on a client. Then the database.
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const cutOff = setTimeout(
        () =>
          server.getConnections((_err, connections) => {
            logger.warn({ graceMs: STOP_GRACE_MS, connections }, 'stopping: cutting the connections still open after the grace period');
            server.closeAllConnections();
          }),
        STOP_GRACE_MS,
      );
      try {
        // The mesh first: it ends the lease sweep and releases long-polling claimTask requests.
        await stopWorkers();
        await stopRetention();
        // Sockets are closed, not drained: a client reconnects with its cursor and misses nothing.
        const socketsClosed = ws.closeAll('server is shutting down', STOP_GRACE_MS);
        // Closing the hub ends every subscription's live feed: each SSE stream then completes, and
        // its response ends, which closes its connection (see `draining` above).
        await live.stop();
        await auth.stop();
        await socketsClosed;
        await closed;
        if (metricsServer) await new Promise<void>((resolve) => metricsServer.close(() => resolve()).closeAllConnections());
      } finally {
        clearTimeout(cutOff);
      }
      if (!options.keepDatabase) await db.close();
      logger.info('makima stopped');
    })());
  const metricsUrl = metricsServer ? `http://${hostOf(config.metricsListen!.host)}:${(metricsServer.address() as AddressInfo).port}${METRICS_PATH}` : undefined;
  return { url, wsUrl: url.replace(/^http/, 'ws'), port, app, httpServer: server, metricsUrl, stop };
}

const hostOf = (host: string) => (host.includes(':') ? `[${host}]` : host);
