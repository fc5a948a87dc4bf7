// What an operator sees of a running server: one log line per request, Prometheus metrics at
// /metrics, and a readiness check at /ready (docs/operations.md, "Running in production").
import crypto from 'node:crypto';
import type http from 'node:http';
import { getCounterFromConfig, getHistogramFromConfig, usePrometheus } from '@graphql-yoga/plugin-prometheus';
import { getOperationAST, Kind, parse, type DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { AppContext, Context } from '../context.js';
import { readMigrations } from '../db/migrate.js';
import { written } from '../db/change.js';
import { bearerToken } from '../modules/auth/index.js';

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
  /** The plugins: OperationNames' learning, then the Prometheus plugin. */
  plugin: Plugin[];
  names: OperationNames;
}

/**
 * The metrics: graphql-yoga's Prometheus plugin (requests, errors, durations per operation and
 * phase, `graphql_yoga_http_duration`), Node's process metrics, and makima's own: live subscribers,
 * graphql-ws sockets, history events, lease lapses, slow subscribers closed. A registry per server,
 * so that several servers in one process (tests) keep their own counts.
 */
export function createMetrics(app: AppContext, openSockets: () => number, persistedNames: Iterable<string> = []): Metrics {
  const registry = new Registry();
  const names = new OperationNames(app.config.metricsOperationNames, persistedNames);
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

  const labels = { url: false, method: true, statusCode: true };
  const config = { registry, labels, metrics: {} };
  const byOperation = (p: LabelParams) => ({ operationName: names.label(p.operationName), operationType: p.operationType });
  // The library's metric types are keyed by its phase names; these are built exactly as it builds its own.
  const metric = (name: string, phases: string[], help: string, histogram: boolean): never =>
    (histogram ? getHistogramFromConfig : getCounterFromConfig)({ ...config, metrics: { [name]: true } } as never, name as never, phases as never, { help } as never, byOperation as never) as never;
  const plugin = usePrometheus({
    registry,
    // Served by server.ts (serveMetrics), where MAKIMA_METRICS_TOKEN and MAKIMA_METRICS_LISTEN apply.
    endpoint: false,
    // The URL label would carry GET queries' text and make a series per distinct URL.
    labels,
    metrics: {
      // Each with operationName from the bounded set (OperationNames), never a client's own text.
      graphql_envelop_request: metric('graphql_envelop_request', ['execute', 'subscribe'], 'Counts the amount of GraphQL requests executed through Envelop', false),
      graphql_envelop_request_duration: metric('graphql_envelop_request_duration', ['execute', 'subscribe'], 'Time spent on running the GraphQL operation from parse to execute', true),
      graphql_envelop_error_result: getCounterFromConfig(
        { ...config, metrics: { graphql_envelop_error_result: true } } as never,
        'graphql_envelop_error_result' as never,
        ['parse', 'validate', 'context', 'execute', 'subscribe'] as never,
        { help: 'Counts the amount of errors reported from all phases', labelNames: ['operationType', 'operationName', 'path', 'phase'] } as never,
        ((p: LabelParams) => ({
          ...byOperation(p),
          phase: p.errorPhase,
          // List indices would make a series per position: `tasks.edges.node`, not `tasks.edges.3.node`.
          ...(p.error?.path ? { path: p.error.path.filter((k) => typeof k === 'string').join('.') } : {}),
        })) as never,
      ),
      graphql_envelop_phase_execute: metric('graphql_envelop_phase_execute', ['execute'], 'Time spent on running the GraphQL "execute" function', true),
      graphql_envelop_phase_subscribe: metric('graphql_envelop_phase_subscribe', ['subscribe'], 'Time spent on running the GraphQL "subscribe" function', true),
      graphql_yoga_http_duration: getHistogramFromConfig(
        { ...config, metrics: { graphql_yoga_http_duration: true } } as never,
        'graphql_yoga_http_duration' as never,
        ['request'] as never,
        { help: 'Time spent on HTTP connection', labelNames: ['operationName', 'operationType', 'method', 'statusCode'] } as never,
        ((p: LabelParams, context: unknown) => {
          const { request, response } = context as { request: Request; response: Response };
          return { method: request.method, statusCode: response.status, operationType: p.operationType || 'unknown', operationName: names.label(p.operationName) };
        }) as never,
      ),
      // Per-operation summaries and phases that duplicate the histograms above.
      graphql_envelop_request_time_summary: false,
      graphql_envelop_phase_parse: false,
      graphql_envelop_phase_validate: false,
      graphql_envelop_phase_context: false,
      graphql_envelop_deprecated_field: false,
      graphql_envelop_schema_change: false,
    },
  }) as Plugin;
  return { registry, plugin: [names.plugin, plugin], names };
}

interface LabelParams {
  operationName?: string;
  operationType?: string;
  errorPhase?: string;
  error?: { path?: readonly (string | number)[] };
}

/**
 * The operation names /metrics labels: a bounded set, so that no client can grow it with names of
 * its own (each distinct label is a series kept for good). It holds the persisted operations'
 * names and those of operations that ran for an authenticated viewer (a result with `data`, field
 * errors or not), up to `cap`; any other name — every name of a request without a valid token, or
 * refused before it ran — is labelled `other`.
 */
export class OperationNames {
  static readonly OTHER = 'other';
  private readonly known = new Set<string>(['Anonymous']);

  constructor(
    private readonly cap: number,
    persisted: Iterable<string> = [],
  ) {
    for (const name of persisted) this.known.add(name);
  }

  label(name: string | undefined): string {
    if (!name) return 'Anonymous';
    return this.known.has(name) ? name : OperationNames.OTHER;
  }

  learn(name: string | undefined): void {
    if (name && this.known.size < this.cap + 1 && name.length <= 100) this.known.add(name);
  }

  /** Learns the name of every operation that ran for a viewer (before the metrics see it). */
  get plugin(): Plugin {
    const learnFrom = (args: { contextValue: unknown; document: DocumentNode; operationName?: string | null }) => {
      if (!(args.contextValue as Context).viewer) return undefined;
      const name = args.operationName || getOperationAST(args.document, args.operationName)?.name?.value;
      return ({ result }: { result: unknown }) => {
        // A subscription's event stream has no `data` of its own: it started, so it ran.
        const ran = result !== null && typeof result === 'object' && (Symbol.asyncIterator in result || (result as { data?: unknown }).data != null);
        if (ran) this.learn(name);
      };
    };
    return {
      onExecute: ({ args }) => {
        const done = learnFrom(args);
        return done ? { onExecuteDone: done } : undefined;
      },
      onSubscribe: ({ args }) => {
        const done = learnFrom(args);
        return done ? { onSubscribeResult: done } : undefined;
      },
    };
  }
}

/** The names of the operations in persisted documents (labels /metrics may use from the start). */
export function operationNamesOf(documents: Iterable<string>): string[] {
  const names: string[] = [];
  for (const text of documents) {
    for (const definition of parse(text).definitions) if (definition.kind === Kind.OPERATION_DEFINITION && definition.name) names.push(definition.name.value);
  }
  return names;
}

/**
 * /metrics (docs/operations.md, "/metrics: access"): on the API's port unless MAKIMA_METRICS_LISTEN gives it
 * its own; with MAKIMA_METRICS_TOKEN, only for `Authorization: Bearer <token>` (what Prometheus's
 * `authorization` scrape setting sends), else 401.
 */
export async function serveMetrics(metrics: Metrics, token: string | undefined, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  if (token !== undefined && !sameSecret(bearerToken(req.headers.authorization) ?? '', token)) {
    res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer realm="makima metrics"' });
    return void res.end('a valid metrics token is required (MAKIMA_METRICS_TOKEN): send "Authorization: Bearer <token>"\n');
  }
  const body = await metrics.registry.metrics();
  res.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' });
  res.end(body);
}

function sameSecret(given: string, expected: string): boolean {
  const a = crypto.createHash('sha256').update(given).digest();
  const b = crypto.createHash('sha256').update(expected).digest();
  return crypto.timingSafeEqual(a, b);
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
