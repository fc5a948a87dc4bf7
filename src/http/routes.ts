// The routes of makima's one port (docs/design.md §8): health and readiness, /metrics, GraphiQL's
// and the browser view's files, git over HTTP for remote workers, and everything else to GraphQL
// (graphql-yoga: HTTP and server-sent events; graphql-ws takes the same path's upgrades). The server
// (src/server.ts) only wires them; what each serves lives beside this file.
import http from 'node:http';
import type { AppContext } from '../context.js';
import { bearerToken } from '../modules/auth/index.js';
import { GRAPHIQL_STATIC_PATH, serveGraphiqlAsset } from './graphiql.js';
import { isGitRequest, serveGit } from './git.js';
import { METRICS_PATH, READY_PATH, serveMetrics, serveReadiness, type Metrics, type readinessCheck } from './observability.js';
import { isWebRequest, serveWeb } from './web.js';
import type { Yoga } from './yoga.js';

export interface Routes {
  app: AppContext;
  yoga: Yoga;
  metrics: Metrics;
  ready: ReturnType<typeof readinessCheck>;
  /** Whether the server is stopping: a request then finishes, but its connection is not kept alive. */
  draining: () => boolean;
}

/** The request handler of the API's port. */
export function routeRequest({ app, yoga, metrics, ready, draining }: Routes): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const { config, logger } = app;
  return (req, res) => {
    if (draining()) res.setHeader('connection', 'close');
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
  };
}

/** /metrics on its own address (MAKIMA_METRICS_LISTEN), for a Prometheus that scrapes a private port; nothing else is served there. */
export async function listenForMetrics(address: { host: string; port: number }, metrics: Metrics, token: string | undefined): Promise<http.Server> {
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

