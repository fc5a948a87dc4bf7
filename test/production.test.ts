// Running in production (docs/operations.md): request logs, /metrics, /ready, CORS, HTTP 401/429, persisted
// operations, rate limiting per token and the PostgreSQL pool size, on a real server over real HTTP
// and real graphql-ws sockets.
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { sha256Hex } from '../src/http/persisted.js';
import { createUser } from '../src/modules/auth/service.js';
import { startServer, type RunningServer } from '../src/server.js';
import {
  codes,
  createPostgresDatabase,
  createTestDatabase,
  ENGINE,
  eventually,
  startTestServer,
  tempDir,
  TEST_DATABASE_URL,
  type TestDatabase,
  type TestServer,
} from './harness.js';
import { claim, createContract, FROM_THE_START, interruptedEvent, LiveTimeline, newContract } from './fixtures.js';
import { collect, wsClient } from './ws-client.js';

const VIEWER = 'query Me { viewer { id name } }';

/** A server on the shared database whose log lines are collected (parsed) in `lines`. */
interface LoggedServer {
  server: RunningServer;
  lines: Record<string, unknown>[];
  stop(): Promise<void>;
}

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => database?.drop());

async function startLogged(env: Record<string, string> = {}): Promise<LoggedServer> {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const root = tempDir();
  const config = loadConfig({ MAKIMA_DATA_DIR: path.join(root, 'data'), PORT: '0', MAKIMA_LOG_LEVEL: 'info', ...(database.url ? { DATABASE_URL: database.url } : {}), ...env }, root);
  const server = await startServer({ config, db: database.db, keepDatabase: true, logger: pino({ level: 'info', base: undefined }, sink) });
  return {
    server,
    lines,
    async stop() {
      await server.stop();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

async function post(url: string, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** The value of one series in a Prometheus exposition (0 when absent). */
async function metric(url: string, series: string): Promise<number> {
  const text = await (await fetch(new URL('/metrics', url))).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe('request logs', () => {
  let s: LoggedServer;
  beforeAll(async () => {
    s = await startLogged();
  });
  afterAll(async () => s?.stop());

  it('log method, operation, status, duration and user at info, never the token or the document', async () => {
    const user = await createUser(database.db.prisma, 'logged');
    const res = await post(s.server.url, { query: VIEWER, operationName: 'Me' }, bearer(user.token));
    expect(res.status).toBe(200);
    await res.json();
    const line = await eventually(async () => s.lines.find((l) => l.msg === 'request' && l.operationName === 'Me'), 'the request log line');
    expect(line).toMatchObject({ level: 30, method: 'POST', path: '/graphql', operationType: 'query', status: 200, user: { id: user.id, name: 'logged' } });
    expect(typeof line.durationMs).toBe('number');

    const anonymous = await post(s.server.url, { query: VIEWER });
    expect(anonymous.status).toBe(401);
    await anonymous.json();
    const refused = await eventually(async () => s.lines.find((l) => l.msg === 'request' && l.status === 401), 'the 401 log line');
    expect(refused.user).toBeUndefined();

    const client = wsClient(s.server.wsUrl, user.token);
    try {
      const result = await new Promise((resolve, reject) => client.subscribe({ query: VIEWER, operationName: 'Me' }, { next: resolve, error: reject, complete: () => undefined }));
      expect(result).toMatchObject({ data: { viewer: { name: 'logged' } } });
    } finally {
      await client.dispose();
    }
    const wsLine = await eventually(async () => s.lines.find((l) => l.msg === 'graphql-ws operation'), 'the graphql-ws log line');
    expect(wsLine).toMatchObject({ level: 30, transport: 'graphql-ws', operationName: 'Me', operationType: 'query', status: 'started', user: { id: user.id } });

    await (await fetch(new URL('/metrics', s.server.url))).text();
    expect(s.lines.some((l) => l.path === '/metrics')).toBe(false);

    const everything = JSON.stringify(s.lines);
    expect(everything).not.toContain(user.token);
    expect(everything).not.toContain('viewer {');
  });
});

describe('/metrics', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ MAKIMA_LEASE_SWEEP_MS: '100' }, { ...database, drop: async () => undefined });
  });
  afterAll(async () => t?.stop());

  it('counts requests and errors, and times them', async () => {
    const user = await t.createUser();
    const requests = await metric(t.url, 'graphql_envelop_request{operationName="Me",operationType="query"}');
    await user.ok(VIEWER);
    expect(await metric(t.url, 'graphql_envelop_request{operationName="Me",operationType="query"}')).toBe(requests + 1);
    const errors = await metric(t.url, 'graphql_envelop_error_result{operationName="Missing",operationType="query",phase="execute",path="task"}');
    await user.gql('query Missing($id: ID!) { task(id: $id) { id } }', { id: Buffer.from('Task:00000000-0000-0000-0000-000000000000').toString('base64') });
    expect(await metric(t.url, 'graphql_envelop_error_result{operationName="Missing",operationType="query",phase="execute",path="task"}')).toBe(errors + 1);
    const text = await (await fetch(new URL('/metrics', t.url))).text();
    expect(text).toMatch(/^graphql_envelop_request_duration_count\{operationName="Me",operationType="query"\} \d+/m);
    expect(text).toMatch(/^graphql_yoga_http_duration_count\{method="POST",statusCode="200",operationType="query",operationName="Me"\} \d+/m);
    expect(text).toMatch(/^process_cpu_seconds_total /m);
  });

  it('labels operations from a bounded set: 1,000 distinct names, with a token or without, do not make 1,000 label values', async () => {
    const cap = 20;
    const capped = await startTestServer({ MAKIMA_METRICS_OPERATION_NAMES: String(cap) }, { ...database, drop: async () => undefined });
    try {
      const user = await capped.createUser();
      for (let i = 0; i < 1000; i++) {
        const query = `query Distinct${i} { __typename }`;
        // Half run for a viewer (their names are learned up to the cap), half are refused without a token.
        const res = await post(capped.url, { query }, i % 2 ? bearer(user.token) : {});
        expect(res.status).toBeLessThan(500);
        await res.arrayBuffer();
      }
      const text = await (await fetch(new URL('/metrics', capped.url))).text();
      const labels = new Set<string>();
      for (const series of ['graphql_envelop_request', 'graphql_envelop_request_duration_count', 'graphql_envelop_error_result', 'graphql_yoga_http_duration_count']) {
        for (const m of text.matchAll(new RegExp(`^${series}\\{[^}]*operationName="([^"]*)"`, 'gm'))) labels.add(m[1]);
      }
      const distinct = [...labels].filter((l) => l.startsWith('Distinct'));
      expect(distinct.length).toBeGreaterThan(0);
      expect(distinct.length).toBeLessThanOrEqual(cap);
      expect(labels).toContain('other');
      expect(labels.size).toBeLessThanOrEqual(cap + 2); // the learned names, Anonymous and other
    } finally {
      await capped.stop();
    }
  });

  it('shows live subscribers and graphql-ws sockets, and history events as they are written', async () => {
    const user = await t.createUser();
    expect(await metric(t.url, 'makima_live_subscribers{feed="history"}')).toBe(0);
    const client = wsClient(t.wsUrl, user.token);
    try {
      const stream = collect(client, LiveTimeline, { after: FROM_THE_START }, 'timeline');
      // The subscription is registered once it delivers: the contract's events prove it is live (from
      // the start, so the new user's contract cannot slip by before it is registered).
      const before = await metric(t.url, 'makima_history_events_total');
      await createContract(user, await t.makeRepo(), 'watched');
      await stream.count(1);
      expect(await metric(t.url, 'makima_live_subscribers{feed="history"}')).toBe(1);
      expect(await metric(t.url, 'makima_graphql_ws_sockets')).toBe(1);
      expect(await metric(t.url, 'makima_history_events_total')).toBeGreaterThanOrEqual(before + stream.items.length);
    } finally {
      await client.dispose();
    }
  });

  it('counts lease lapses found by the sweep', async () => {
    const user = await t.createUser();
    const before = await metric(t.url, 'makima_lease_lapses_total');
    const { supervisorId } = await newContract(t, user);
    await claim(user, 'lapsing', { leaseSeconds: 1 });
    await interruptedEvent(t, user, supervisorId);
    // The counter moves right after the sweep's commit, which the event above follows by a hair.
    await eventually(async () => (await metric(t.url, 'makima_lease_lapses_total')) === before + 1, 'the lapse to be counted');
  });
});

describe('/ready and /health', () => {
  it('are both ok on a serving instance; /ready alone fails when a migration is missing or the live hub stops', async () => {
    const s = await startLogged();
    const ready = () => fetch(new URL('/ready', s.server.url));
    const health = () => fetch(new URL('/health', s.server.url));
    try {
      const ok = await ready();
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ status: 'ready', database: true, migrations: true, liveHub: true, accepting: true });
      const [last] = await database.db.query<{ migration_name: string }>('SELECT migration_name FROM "_prisma_migrations" ORDER BY migration_name DESC LIMIT 1');
      await database.db.query('UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = $1', [last.migration_name]);
      try {
        const missing = await ready();
        expect(missing.status).toBe(503);
        expect(await missing.json()).toMatchObject({ status: 'unavailable', database: true, migrations: false });
        expect((await health()).status).toBe(200);
      } finally {
        await database.db.query('UPDATE "_prisma_migrations" SET rolled_back_at = NULL WHERE migration_name = $1', [last.migration_name]);
      }
      expect((await ready()).status).toBe(200);
      await s.server.app.live.stop();
      const noHub = await ready();
      expect(noHub.status).toBe(503);
      expect(await noHub.json()).toMatchObject({ liveHub: false, database: true });
      expect((await health()).status).toBe(200);
    } finally {
      await s.stop();
    }
  });
});

describe('CORS', () => {
  const preflight = (url: string, origin: string) =>
    fetch(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } });

  it('answers no origin by default, so no other site can call the API from a browser', async () => {
    const s = await startLogged();
    try {
      for (const res of [await preflight(s.server.url, 'https://evil.example'), await post(s.server.url, { query: '{ __typename }' }, { origin: 'https://evil.example' })]) {
        expect(res.headers.get('access-control-allow-origin')).toBeNull();
        expect(res.headers.get('access-control-allow-credentials')).toBeNull();
      }
    } finally {
      await s.stop();
    }
  });

  it('allows the configured origins, without credentials, and no others', async () => {
    const s = await startLogged({ MAKIMA_CORS_ORIGINS: 'https://app.example, https://ops.example:8443' });
    try {
      const allowed = await preflight(s.server.url, 'https://ops.example:8443');
      expect(allowed.status).toBe(204);
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://ops.example:8443');
      expect(allowed.headers.get('access-control-allow-headers')).toContain('authorization');
      expect(allowed.headers.get('access-control-allow-credentials')).toBeNull();
      const simple = await post(s.server.url, { query: '{ __typename }' }, { origin: 'https://app.example' });
      expect(simple.headers.get('access-control-allow-origin')).toBe('https://app.example');
      const other = await preflight(s.server.url, 'https://evil.example');
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await s.stop();
    }
  });

  it('refuses an origin with a path in the configuration', () => {
    expect(() => loadConfig({ MAKIMA_CORS_ORIGINS: 'https://app.example/path' })).toThrow(ConfigError);
  });
});

describe('a missing or bad token', () => {
  let s: LoggedServer;
  beforeAll(async () => {
    s = await startLogged();
  });
  afterAll(async () => s?.stop());

  it('answers HTTP 401 with the GraphQL error on both JSON response types', async () => {
    for (const accept of ['application/json', 'application/graphql-response+json']) {
      for (const headers of [{}, bearer('mk_not-a-real-token')]) {
        const res = await post(s.server.url, { query: VIEWER }, { accept, ...headers });
        expect(res.status).toBe(401);
        expect(res.headers.get('content-type')).toContain(accept);
        expect(res.headers.get('www-authenticate')).toBe('Bearer realm="makima"');
        const body = (await res.json()) as { data?: unknown; errors: { message: string; extensions: Record<string, unknown> }[] };
        expect(codes(body)).toEqual(['UNAUTHENTICATED']);
        expect(body.errors[0].message).toMatch(/Authorization: Bearer/);
        expect(body.errors[0].extensions.http).toBeUndefined();
        expect(body.data).toBeUndefined();
      }
    }
  });

  it('still lets an operation that needs no token through (introspection, GraphiQL)', async () => {
    const res = await post(s.server.url, { query: '{ __schema { queryType { name } } }' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { __schema: { queryType: { name: 'Query' } } } });
  });

  it('answers SSE 401 too, before any event stream starts', async () => {
    const res = await post(s.server.url, { query: VIEWER }, { accept: 'text/event-stream' });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="makima"');
    expect(codes((await res.json()) as { errors: [] })).toEqual(['UNAUTHENTICATED']);
  });

  it('closes a graphql-ws socket with 4403, as before', async () => {
    const client = wsClient(s.server.wsUrl, 'mk_not-a-real-token');
    try {
      const closed = await new Promise<{ code: number }>((resolve) => {
        client.on('closed', (event) => resolve(event as { code: number }));
        client.subscribe({ query: VIEWER }, { next: () => undefined, error: () => undefined, complete: () => undefined });
      });
      expect(closed.code).toBe(4403);
    } finally {
      await client.dispose();
    }
  });
});

describe('persisted operations', () => {
  const known = 'query Known { viewer { name } }';
  let s: LoggedServer;
  let token: string;
  beforeAll(async () => {
    const dir = tempDir();
    const file = path.join(dir, 'operations.json');
    fs.writeFileSync(file, JSON.stringify({ [sha256Hex(known)]: known }));
    s = await startLogged({ MAKIMA_PERSISTED_OPERATIONS: file, MAKIMA_PERSISTED_ONLY: 'true' });
    token = (await createUser(database.db.prisma, 'persisted')).token;
  });
  afterAll(async () => s?.stop());

  type Refused = { data?: unknown; errors: { message: string; extensions: Record<string, unknown> }[] };
  const byId = (id: string) => ({ extensions: { persistedQuery: { version: 1, sha256Hash: id } } });

  it('serves a known operation by its id, and by its exact text', async () => {
    const res = await post(s.server.url, byId(sha256Hex(known)), bearer(token));
    expect(await res.json()).toEqual({ data: { viewer: { name: 'persisted' } } });
    const text = await post(s.server.url, { query: known }, bearer(token));
    expect(await text.json()).toEqual({ data: { viewer: { name: 'persisted' } } });
  });

  it('refuses an unknown id and any other document, over HTTP and graphql-ws', async () => {
    const unknown = (await (await post(s.server.url, byId(sha256Hex('query Other { viewer { id } }')), bearer(token))).json()) as Refused;
    expect(unknown).toMatchObject({ errors: [{ message: 'PersistedQueryNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } }] });
    expect(unknown.data).toBeUndefined();
    const other = (await (await post(s.server.url, { query: VIEWER }, bearer(token))).json()) as Refused;
    expect(other).toMatchObject({ errors: [{ message: expect.stringMatching(/only runs persisted operations/), extensions: { code: 'BAD_USER_INPUT', field: 'query' } }] });
    const client = wsClient(s.server.wsUrl, token);
    try {
      const refused = await new Promise<unknown>((resolve) => client.subscribe({ query: VIEWER }, { next: () => undefined, error: resolve, complete: () => undefined }));
      expect(refused).toMatchObject([{ message: expect.stringMatching(/only runs persisted operations/), extensions: { code: 'BAD_USER_INPUT', field: 'query' } }]);
      const served = await new Promise((resolve, reject) => client.subscribe({ query: '', ...byId(sha256Hex(known)) }, { next: resolve, error: reject, complete: () => undefined }));
      expect(served).toEqual({ data: { viewer: { name: 'persisted' } } });
    } finally {
      await client.dispose();
    }
  });

  it('will not start without the file, or with one that does not parse', async () => {
    expect(() => loadConfig({ MAKIMA_PERSISTED_ONLY: 'true' })).toThrow(/needs MAKIMA_PERSISTED_OPERATIONS/);
    const dir = tempDir();
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ abc: 'query { viewer {' }));
    await expect(startLogged({ MAKIMA_PERSISTED_OPERATIONS: bad })).rejects.toThrow(/the operation "abc" in .* does not parse/);
    fs.writeFileSync(bad, '["query { viewer { id } }"]');
    await expect(startLogged({ MAKIMA_PERSISTED_OPERATIONS: bad })).rejects.toThrow(/must hold one JSON object/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('rate limiting per token', () => {
  let s: LoggedServer;
  beforeAll(async () => {
    s = await startLogged({ MAKIMA_RATE_LIMIT: '3', MAKIMA_RATE_LIMIT_WINDOW_SECONDS: '600' });
  });
  afterAll(async () => s?.stop());

  it('refuses the operation past the limit with RATE_LIMITED and HTTP 429, over HTTP and graphql-ws, for that token only', async () => {
    const busy = await createUser(database.db.prisma, 'busy');
    const calm = await createUser(database.db.prisma, 'calm');
    for (let i = 0; i < 3; i++) expect((await post(s.server.url, { query: VIEWER }, bearer(busy.token))).status).toBe(200);
    const limited = await post(s.server.url, { query: VIEWER }, bearer(busy.token));
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    const body = (await limited.json()) as { errors: { message: string; extensions: Record<string, unknown> }[] };
    expect(codes(body)).toEqual(['RATE_LIMITED']);
    expect(body.errors[0].message).toMatch(/3 operations per 600 s/);
    expect(body.errors[0].extensions.retryAfterSeconds).toBeGreaterThan(0);

    const client = wsClient(s.server.wsUrl, busy.token);
    try {
      const refused = await new Promise<unknown>((resolve) => client.subscribe({ query: VIEWER }, { next: () => undefined, error: resolve, complete: () => undefined }));
      expect((refused as { extensions?: { code?: string } }[]).map((e) => e.extensions?.code)).toEqual(['RATE_LIMITED']);
    } finally {
      await client.dispose();
    }
    expect((await post(s.server.url, { query: VIEWER }, bearer(calm.token))).status).toBe(200);
  });
});

describe.skipIf(ENGINE !== 'postgres')('MAKIMA_PG_POOL_SIZE', () => {
  it('caps the connections one server opens to PostgreSQL (besides its LISTEN connection)', async () => {
    const postgres = await createPostgresDatabase();
    const root = tempDir();
    const config = loadConfig({ MAKIMA_DATA_DIR: path.join(root, 'data'), PORT: '0', MAKIMA_LOG_LEVEL: 'silent', DATABASE_URL: postgres.url, MAKIMA_PG_POOL_SIZE: '3' }, root);
    const server = await startServer({ config });
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    try {
      const name = new URL(postgres.url).pathname.slice(1);
      const connections = async () =>
        Number(
          (await admin.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND application_name <> 'makima-listen'", [name])).rows[0].n,
        );
      // Ten queries at once on a pool of three: three run, seven wait for a connection.
      const sleeping = Array.from({ length: 10 }, () => server.app.db.query('SELECT pg_sleep(0.3)'));
      await eventually(async () => (await connections()) >= 3, 'the pool to fill');
      expect(await connections()).toBe(3);
      await Promise.all(sleeping);
      expect(await connections()).toBeLessThanOrEqual(3);
    } finally {
      await admin.end();
      await server.stop();
      await postgres.drop();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
