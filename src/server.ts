// Wires the API: node:http + graphql-yoga (HTTP, GraphiQL, SSE) + graphql-ws on the same port and
// path, a health endpoint, and a graceful stop.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { getOperationAST, getVariableValues, GraphQLError, type DocumentNode, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { SubscribePayload } from 'graphql-ws';
import { pino, type Logger } from 'pino';
import { WebSocketServer } from 'ws';
import type { Config } from './config.js';
import type { AppContext, Context } from './context.js';
import { GRAPHIQL_STATIC_PATH, graphiqlPage, serveGraphiqlAsset } from './graphiql.js';
import { openDatabase, type Database } from './db/database.js';
import { migrate } from './db/migrate.js';
import { Authenticator } from './modules/auth/authenticator.js';
import { bearerToken } from './modules/auth/service.js';
import { actorPlugin } from './schema/actor.js';
import { localGit, recoverInterruptedPushes } from './git/index.js';
import { LiveHub } from './live/hub.js';
import { recoverGitChanges } from './modules/tasks/change-with-git.js';
import { startWorkers } from './modules/workers/service.js';
import { startArchiveRetention } from './modules/control/archive.js';
import { BadInputError, ERROR_CODES } from './errors.js';
import { connectionArgumentsPlugin, emptyCursorPlugin } from './schema/connection-args.js';
import { getSchema } from './schema/index.js';
import { jitPlugin } from './schema/jit.js';
import { isRequestRefusal, limitPlugins } from './schema/limits.js';
import { CloseCode, serveGraphqlWs, type GraphqlWsTransport, type WsExtra } from './ws.js';
import { limitConnectionsPerClient, requestTimeouts } from './http/connections.js';
import { corsOptions } from './http/cors.js';
import { loadPersistedOperations, persistedOperationsPlugin, resolvePersisted, type PersistedOperations } from './http/persisted.js';
import { rateLimitPlugin } from './http/rate-limit.js';
import { refusalStatusPlugin } from './http/status.js';
import {
  createMetrics,
  describeOperation,
  METRICS_PATH,
  operationNamesOf,
  readinessCheck,
  READY_PATH,
  requestLogging,
  serveMetrics,
  serveReadiness,
  type Metrics,
} from './observability.js';
import { isWebRequest, serveWeb } from './web.js';
import { isGitRequest, serveGit } from './http/git.js';

export const GRAPHQL_PATH = '/graphql';
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

export function createLogger(config: Config): Logger {
  // Logs go to stderr so that stdout stays for what a command prints for people and scripts.
  return pino({ level: config.logLevel, base: undefined }, pino.destination(2));
}

export async function startServer(options: StartOptions): Promise<RunningServer> {
  const { config } = options;
  const logger = options.logger ?? createLogger(config);
  // Read before anything opens: a bad file stops the start with a ConfigError.
  const persisted = config.persistedOperationsFile ? loadPersistedOperations(config.persistedOperationsFile, config.persistedOnly) : undefined;
  const db = options.db ?? (await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.pgPoolSize, connectTimeoutMs: config.pgConnectTimeoutMs }));
  try {
    const applied = await migrate(db);
    if (applied.length) logger.info({ applied }, 'applied database migrations');
  } catch (err) {
    if (!options.db) await db.close();
    throw err;
  }
  const live = new LiveHub({ db, prisma: db.prisma, logger, subscriberBuffer: config.subscriberBuffer });
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
  const server = http.createServer(requestTimeouts(config), (req, res) => {
    // While stopping, finish this request but do not keep its connection alive.
    if (draining) res.setHeader('connection', 'close');
    // A request that began before the stop leaves an idle keep-alive connection when it ends.
    res.on('finish', () => draining && server.closeIdleConnections());
    if (req.url === '/health') return void health(app, res);
    if (req.url === READY_PATH) return void serveReadiness(ready, res);
    if (req.url === METRICS_PATH && config.metrics && !config.metricsListen) return void serveMetrics(metrics, config.metricsToken, req, res);
    if (req.url?.startsWith(GRAPHIQL_STATIC_PATH)) return void serveGraphiqlAsset(req, res, logger);
    if (isWebRequest(req)) return void serveWeb(req, res, logger);
    // Git's smart HTTP protocol for remote workers (docs/design.md §11): its own body limits.
    if (isGitRequest(req)) return void serveGit(app, req, res);
    const length = Number(req.headers['content-length'] ?? 0);
    if (length > config.maxBodyBytes) {
      res.writeHead(413, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ errors: [{ message: `request body is larger than ${config.maxBodyBytes} bytes`, extensions: { code: 'BAD_USER_INPUT' } }] }));
    }
    if (String(req.headers.accept ?? '').includes('text/event-stream')) void endWithToken(app, req, res);
    void yoga.handle(req, res);
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

/** /metrics on its own address (MAKIMA_METRICS_LISTEN), for a Prometheus that scrapes a private port; nothing else is served there. */
async function listenForMetrics(address: { host: string; port: number }, metrics: Metrics, token: string | undefined): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.url === METRICS_PATH) return void serveMetrics(metrics, token, req, res);
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end(`only ${METRICS_PATH} is served here\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => resolve());
  });
  return server;
}

/** A server-sent event stream lives as long as its token: a revocation (on any instance) or the expiry cuts it. */
async function endWithToken(app: AppContext, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  try {
    const { viewer } = await app.auth.authenticate(bearerToken(req.headers.authorization));
    if (!viewer || res.writableEnded) return;
    res.once('close', app.auth.trackSocket(viewer, () => res.destroy()));
  } catch (err) {
    app.logger.error({ err }, 'could not check the token of an event stream'); // the request itself answers the failure
  }
}

async function health(app: AppContext, res: http.ServerResponse): Promise<void> {
  try {
    await app.db.query('SELECT 1');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'ok', database: app.db.engine }));
  } catch {
    res.writeHead(503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'unavailable', database: app.db.engine }));
  }
}

// The API's error codes, plus the end of a subscription that fell too far behind (live/hub.ts).
const EXPECTED_CODES = new Set<string>(ERROR_CODES);
/** Codes graphql-yoga gives malformed requests; the API has one code for every kind of bad input. */
const REQUEST_ERROR_CODES = new Set(['BAD_REQUEST', 'GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'OPERATION_RESOLUTION_FAILURE']);

type ErrorLike = { name?: string; path?: unknown; originalError?: unknown; extensions?: Record<string, unknown> };

/**
 * Whether an error is the client's request being wrong rather than the server failing: yoga's
 * request errors, and graphql-js's variable coercion errors ("Variable "$x" got invalid value …"),
 * which have no path and wrap only the scalar's or enum's own GraphQLError.
 */
function isRequestError(error: ErrorLike): boolean {
  const code = error.extensions?.code;
  if (typeof code === 'string') return REQUEST_ERROR_CODES.has(code);
  if (error.name !== 'GraphQLError' || error.path !== undefined) return false;
  const original = error.originalError as ErrorLike | undefined;
  return original === undefined || original.name === 'GraphQLError';
}

function asBadUserInput<E extends ErrorLike>(error: E): E {
  (error.extensions as Record<string, unknown>).code = 'BAD_USER_INPUT';
  return error;
}

/** Parse and validation errors (an unknown enum value, a literal the JSON scalar refuses, a depth limit) are bad input. */
function badUserInputCodes(): Plugin {
  return {
    onParse: () => ({ result }) => {
      if (result instanceof Error && isRequestError(result as ErrorLike)) asBadUserInput(result as ErrorLike);
    },
    onValidate: () => ({ result }) => {
      for (const error of result) asBadUserInput(error as ErrorLike);
    },
  };
}

type InitialContext = { request?: Request; connectionParams?: Record<string, unknown>; closeSocket?: WsExtra['close'] };

/**
 * What a client receives for an error (yoga's maskError, and graphql-ws refusals): an error with
 * one of the API's codes as it is; a client's malformed request as BAD_USER_INPUT; anything else
 * logged and replaced by a generic INTERNAL_SERVER_ERROR.
 */
function errorMasker(app: AppContext): (error: unknown, message?: string) => GraphQLError {
  return (error, message = 'Unexpected error.') => {
    // Duck-typed on purpose: graphql can be loaded twice (ESM and CJS builds), so instanceof
    // GraphQLError is not reliable across packages.
    const err = error as { originalError?: unknown; extensions?: { code?: unknown }; message?: string };
    const original = (err.originalError ?? error) as { name?: string; message?: string; extensions?: { code?: unknown } };
    if (typeof original.extensions?.code === 'string' && EXPECTED_CODES.has(original.extensions.code)) return original as GraphQLError;
    if ((original as { code?: unknown }).code === 'P2025') {
      // Prisma's "record required but not found": a node lookup of a missing or another user's object.
      return new GraphQLError('not found', { extensions: { code: 'NOT_FOUND' } });
    }
    if (isRequestError(err as ErrorLike)) return asBadUserInput(error as ErrorLike) as GraphQLError;
    if (original.name === 'PothosValidationError') {
      return new GraphQLError(original.message ?? 'invalid argument', { extensions: { code: 'BAD_USER_INPUT' } });
    }
    if (!err.originalError && typeof err.extensions?.code === 'string') return error as GraphQLError;
    app.logger.error({ err: original }, 'unexpected error');
    return new GraphQLError(message, { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  };
}

/**
 * Running in production (docs/operations.md): 401/429 and GraphQL-over-HTTP status codes, request logs and
 * Prometheus metrics always; persisted operations (Apollo's link is answered even without a file)
 * and rate limiting per token when configured. The status plugin comes first so that the logs and
 * the metrics see the status the client gets.
 */
function productionPlugins(app: AppContext, metrics: Metrics, persisted: PersistedOperations | undefined): Plugin[] {
  const { config } = app;
  return [
    refusalStatusPlugin(),
    requestLogging(app) as Plugin,
    ...metrics.plugin,
    persistedOperationsPlugin(persisted),
    ...(config.rateLimit > 0 ? [rateLimitPlugin(config.rateLimit, config.rateLimitWindowSeconds) as Plugin] : []),
  ];
}

function createApp(app: AppContext, production: Plugin[]): YogaServerInstance<InitialContext, Context> {
  const maskError = errorMasker(app);
  return createYoga<InitialContext, Context>({
    schema: getSchema(),
    graphqlEndpoint: GRAPHQL_PATH,
    landingPage: false,
    // GraphiQL comes from this server, not a CDN (see graphiql.ts); subscriptions use graphql-ws.
    graphiql: true,
    renderGraphiQL: () => graphiqlPage(GRAPHQL_PATH),
    logging: false,
    // GraphQL over HTTP's persisted documents (http/persisted.ts).
    extraParamNames: ['documentId'],
    cors: corsOptions(app.config.corsOrigins),
    plugins: [...production, emptyCursorPlugin(), ...limitPlugins(), connectionArgumentsPlugin(), badUserInputCodes(), actorPlugin(), jitPlugin()],
    maskedErrors: { maskError: (error, message) => maskError(error, message) },
    context: async ({ request, connectionParams, closeSocket }) => {
      const header = request?.headers.get('authorization') ?? connectionParams?.authorization ?? connectionParams?.Authorization;
      const authentication = await app.auth.authenticate(bearerToken(header));
      const refusal = authentication.viewer ? {} : { authRefusal: authentication.refusal };
      return { ...app, viewer: authentication.viewer, ...refusal, ...(closeSocket ? { closeSocket } : {}) };
    },
  });
}

type Yoga = YogaServerInstance<InitialContext, Context>;
type OperationResult = ExecutionResult | AsyncIterable<ExecutionResult>;
/** What onSubscribe prepared: the operation's result, or its event stream, for graphql-ws to send. */
type Prepared = { prepared: OperationResult };

/**
 * graphql-ws on the WebSocket server. An operation runs through yoga's enveloped parse, validate,
 * execute and subscribe, so every plugin applies as over HTTP. It is run in onSubscribe: an
 * operation refused before it starts (a syntax error, a depth, alias, cost or page limit, a
 * variable of the wrong type, any plugin that throws) is then an `error` message for its id, with
 * the code HTTP gives it, and the socket's other operations go on. Thrown out of a graphql-ws hook,
 * the same refusal would close the whole socket with 4500, which clients treat as fatal.
 */
function attachGraphqlWs(app: AppContext, yoga: Yoga, wss: WebSocketServer, keepAliveMs: number, persisted: PersistedOperations | undefined): GraphqlWsTransport {
  const maskError = errorMasker(app);
  return serveGraphqlWs(
    wss,
    {
      execute: (args) => (args.rootValue as Prepared).prepared,
      subscribe: (args) => (args.rootValue as Prepared).prepared,
      onConnect: async (ctx) => {
        const params = (ctx.connectionParams ?? {}) as Record<string, unknown>;
        const { viewer } = await app.auth.authenticate(bearerToken(params.authorization ?? params.Authorization));
        if (!viewer) return false; // closes the socket with 4403 Forbidden
        // The socket lives as long as its token: a revocation (on any instance) or the expiry closes it.
        const untrack = app.auth.trackSocket(viewer, (why) =>
          ctx.extra.close(
            why === 'revoked' ? CloseCode.TokenRevoked : CloseCode.TokenExpired,
            why === 'revoked' ? `API token "${viewer.tokenName}" was revoked` : `API token "${viewer.tokenName}" expired`,
          ),
        );
        ctx.extra.socket.once('close', untrack);
        return true;
      },
      onSubscribe: async (ctx, _id, payload) => {
        const start = performance.now();
        let prepared: Awaited<ReturnType<typeof prepareOperation>>;
        try {
          const query = resolvePersisted(persisted, payload as SubscribePayload & { documentId?: unknown }) ?? payload.query;
          if (typeof query === 'object') prepared = [query];
          else prepared = await prepareOperation(yoga, maskError, ctx.connectionParams, ctx.extra, { ...payload, query });
        } catch (err) {
          // A server fault (the context could not be built, say): this operation fails, not the socket.
          prepared = [maskError(err)];
        }
        logWsOperation(app, payload, prepared, performance.now() - start);
        return prepared;
      },
    },
    { logger: app.logger, keepAliveMs },
  );
}

/** The graphql-ws counterpart of the HTTP request log (observability.ts): one line per operation started or refused. */
function logWsOperation(app: AppContext, payload: SubscribePayload, prepared: (ExecutionArgs & { rootValue: Prepared }) | readonly GraphQLError[], ms: number): void {
  const refused = Array.isArray(prepared) ? (prepared as readonly GraphQLError[]) : undefined;
  const args = refused ? undefined : (prepared as ExecutionArgs);
  const viewer = (args?.contextValue as Context | undefined)?.viewer;
  const operation = args ? describeOperation(args.document, payload.operationName) : { name: payload.operationName ?? undefined, type: undefined };
  app.logger.info(
    {
      transport: 'graphql-ws',
      operationName: operation.name,
      operationType: operation.type,
      status: refused ? 'refused' : 'started',
      codes: refused?.map((e) => e.extensions?.code),
      durationMs: Math.round(ms * 10) / 10,
      user: viewer ? { id: viewer.id, name: viewer.name } : undefined,
    },
    'graphql-ws operation',
  );
}

async function prepareOperation(
  yoga: Yoga,
  maskError: (error: unknown) => GraphQLError,
  connectionParams: Record<string, unknown> | undefined,
  extra: WsExtra,
  payload: SubscribePayload,
): Promise<(ExecutionArgs & { rootValue: Prepared }) | readonly GraphQLError[]> {
  const { schema, parse, validate, execute, subscribe, contextFactory } = yoga.getEnveloped({ connectionParams, closeSocket: extra.close });
  let document: DocumentNode;
  let errors: readonly GraphQLError[];
  try {
    document = parse(payload.query);
    errors = validate(schema, document);
  } catch (err) {
    return [maskError(err)]; // a syntax error, or a graphql-armor limit (they throw from validation)
  }
  if (errors.length) return errors.map((e) => maskError(e));
  const operation = getOperationAST(document, payload.operationName);
  if (!operation) {
    const message = payload.operationName ? `the document has no operation named "${payload.operationName}"` : 'the document must hold exactly one operation, or name one with operationName';
    return [new BadInputError(message, 'operationName')];
  }
  // Variables that do not coerce: graphql-js would answer with a result; nothing would have run.
  const variables = getVariableValues(schema, operation.variableDefinitions ?? [], payload.variables ?? {});
  if (variables.errors) return variables.errors.map((e) => maskError(e));
  const args = { schema, document, operationName: payload.operationName, variableValues: payload.variables, contextValue: await contextFactory() };
  let prepared: OperationResult;
  try {
    prepared = (await (operation.operation === 'subscription' ? subscribe(args) : execute(args))) as OperationResult;
  } catch (err) {
    return [maskError(err)]; // a plugin refused it before execution: first with last
  }
  // The request checks (schema/limits.ts: page sizes, list sizes, text, IDs, cursors) answer a
  // refusal as a result, so that nothing throws out of a hook; over graphql-ws that too is an
  // `error` message for the operation, as a refusal thrown above is.
  const { errors: refusal } = prepared as { errors?: readonly GraphQLError[] };
  if (refusal?.length && refusal.every((e) => isRequestRefusal(e))) return refusal.map((e) => maskError(e));
  // Field errors (a subscription's NOT_FOUND, a malformed cursor) are the operation's result, sent
  // with `next` before `complete`, as over HTTP and SSE.
  return { ...args, rootValue: { prepared } };
}
