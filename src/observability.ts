// What an operator sees of a running server: one log line per request, Prometheus metrics at
// /metrics, and a readiness check at /ready (README, "Running in production").
import type http from 'node:http';
import { usePrometheus } from '@graphql-yoga/plugin-prometheus';
import { getOperationAST, type DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { AppContext, Context } from './context.js';
import { readMigrations } from './db/migrate.js';
import { written } from './db/change.js';

export const METRICS_PATH = '/metrics';
export const READY_PATH = '/ready';

interface Operation {
  name: string | undefined;
  type: string | undefined;
  viewer: Context['viewer'];
}

/** The operation a document runs: its name and type (query, mutation, subscription), never its text. */
export function describeOperation(document: DocumentNode, operationName: string | undefined | null): Pick<Operation, 'name' | 'type'> {
  const operation = getOperationAST(document, operationName);
  return { name: operation?.name?.value ?? operationName ?? undefined, type: operation?.operation };
}

/**
 * One `info` line per GraphQL request over HTTP, when its response is ready: method, path, operation
 * name and type, status, duration and user. Never the token, the query text, variables or results.
 * Operations over graphql-ws are logged by the server where it runs them (server.ts).
 */
export function requestLogging(app: AppContext): Plugin<Context> {
  const started = new WeakMap<Request, number>();
  const operations = new WeakMap<Request, Operation>();
  return {
    onRequest({ request, url }) {
      // A Prometheus scrape every few seconds is not news.
      if (url.pathname !== METRICS_PATH) started.set(request, performance.now());
    },
    onParams({ request, params }) {
      // Refused before it runs (a syntax error, persisted-only mode), an operation still has the name it was sent with.
      operations.set(request, { name: params.operationName ?? undefined, type: undefined, viewer: null });
    },
    onExecute({ args }) {
      remember(args.contextValue, args.document, args.operationName);
    },
    onSubscribe({ args }) {
      remember(args.contextValue, args.document, args.operationName);
    },
    onResponse({ request, response }) {
      const start = started.get(request);
      if (start === undefined) return;
      const operation = operations.get(request);
      app.logger.info(
        {
          method: request.method,
          path: new URL(request.url).pathname,
          operationName: operation?.name,
          operationType: operation?.type,
          status: response.status,
          durationMs: Math.round((performance.now() - start) * 10) / 10,
          user: operation?.viewer ? { id: operation.viewer.id, name: operation.viewer.name } : undefined,
        },
        'request',
      );
    },
  };

  function remember(context: Context & { request?: Request }, document: DocumentNode, operationName: string | null | undefined) {
    if (!context.request) return; // graphql-ws
    operations.set(context.request, { ...describeOperation(document, operationName), viewer: context.viewer });
  }
}

/** This server's Prometheus registry, and the plugin that serves it and times every operation. */
export interface Metrics {
  registry: Registry;
  plugin: Plugin;
}

/**
 * The metrics: graphql-yoga's Prometheus plugin (requests, errors, durations per operation and
 * phase, `graphql_yoga_http_duration`), Node's process metrics, and makima's own: live subscribers,
 * graphql-ws sockets, history events, lease lapses, slow subscribers closed. A registry per server,
 * so that several servers in one process (tests) keep their own counts.
 */
export function createMetrics(app: AppContext, openSockets: () => number): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const { live } = app;
  new Gauge({
    name: 'makima_live_subscribers',
    help: 'Live subscriptions open on this instance, by feed (history: timeline and history subscriptions; task_events: taskEvents).',
    labelNames: ['feed'],
    registers: [registry],
    collect() {
      const counts = live.subscriberCounts();
      this.set({ feed: 'history' }, counts.history);
      this.set({ feed: 'task_events' }, counts.taskEvents);
    },
  });
  new Gauge({
    name: 'makima_graphql_ws_sockets',
    help: 'graphql-ws sockets open on this instance.',
    registers: [registry],
    collect() {
      this.set(openSockets());
    },
  });
  new Counter({
    name: 'makima_history_events_total',
    help: 'History events this instance has committed (every state change writes at least one).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(written.historyEvents);
    },
  });
  const lapses = new Counter({
    name: 'makima_lease_lapses_total',
    help: "Running tasks this instance's lease sweep interrupted because their worker's lease lapsed.",
    registers: [registry],
  });
  live.on('lease-lapsed', (ids: string[]) => lapses.inc(ids.length));
  const slow = new Counter({
    name: 'makima_slow_subscribers_total',
    help: 'Subscriptions closed because they fell more than MAKIMA_SUBSCRIBER_BUFFER events behind.',
    registers: [registry],
  });
  live.on('slow-subscriber', () => slow.inc());

  const plugin = usePrometheus({
    registry,
    endpoint: app.config.metrics ? METRICS_PATH : false,
    // The URL label would carry GET queries' text and make a series per distinct URL.
    labels: { url: false, method: true, statusCode: true },
    metrics: {
      graphql_envelop_request: true,
      graphql_envelop_request_duration: true,
      graphql_envelop_error_result: true,
      graphql_envelop_phase_execute: true,
      graphql_envelop_phase_subscribe: true,
      graphql_yoga_http_duration: true,
      // Per-operation summaries and phases that duplicate the histograms above.
      graphql_envelop_request_time_summary: false,
      graphql_envelop_phase_parse: false,
      graphql_envelop_phase_validate: false,
      graphql_envelop_phase_context: false,
      graphql_envelop_deprecated_field: false,
      graphql_envelop_schema_change: false,
    },
  }) as Plugin;
  return { registry, plugin };
}

export interface Readiness {
  ready: boolean;
  checks: { database: boolean; migrations: boolean; liveHub: boolean; accepting: boolean };
}

/**
 * Whether this instance should be sent traffic: the database answers, every migration this version
 * knows is applied, the live hub listens for events, and the server is not stopping. /health only
 * says the process and its database are up.
 */
export function readinessCheck(app: AppContext, isStopping: () => boolean): () => Promise<Readiness> {
  const known = readMigrations().map((m) => m.name);
  return async () => {
    let database = false;
    let migrations = false;
    try {
      const rows = await app.db.query<{ migration_name: string }>(
        'SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
      );
      database = true;
      const applied = new Set(rows.map((r) => r.migration_name));
      migrations = known.every((name) => applied.has(name));
    } catch (err) {
      app.logger.warn({ err }, 'readiness: the database did not answer');
    }
    const checks = { database, migrations, liveHub: app.live.listening, accepting: !isStopping() };
    return { ready: Object.values(checks).every(Boolean), checks };
  };
}

export async function serveReadiness(check: () => Promise<Readiness>, res: http.ServerResponse): Promise<void> {
  const readiness = await check();
  res.writeHead(readiness.ready ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify({ status: readiness.ready ? 'ready' : 'unavailable', ...readiness.checks }));
}
