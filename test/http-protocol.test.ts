// GraphQL over HTTP as real clients speak it (docs/api.md, "HTTP status codes"): status codes per media
// type, Apollo's automatic persisted queries and persisted documents, bounded /metrics labels and
// who may read them, live subscriptions released when their socket or stream closes, and slow
// clients cut within the configured timeouts — on a real server over real sockets.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../src/http/persisted.js';
import { codes, eventually, startTestServer, tempDir, type TestServer, type TestUser } from './harness.js';
import { newContract } from './fixtures.js';
import { collect, wsClient } from './ws-client.js';

type Body = { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };

async function post(url: string, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<{ status: number; type: string | null; body: Body }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const type = res.headers.get('content-type');
  return { status: res.status, type, body: type?.includes('json') ? ((await res.json()) as Body) : { data: await res.text() } };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const GRAPHQL_RESPONSE = 'application/graphql-response+json';
const JSON_TYPE = 'application/json';

describe('GraphQL over HTTP status codes', () => {
  let t: TestServer;
  let user: TestUser;
  beforeAll(async () => {
    t = await startTestServer();
    user = await t.createUser();
  });
  afterAll(async () => t?.stop());

  const refusals: [string, string, Record<string, unknown>?][] = [
    ['first: 101', '{ contracts(first: 101) { edges { cursor } } }'],
    ['first with last', '{ contracts(first: 1, last: 1) { edges { cursor } } }'],
    ['a malformed cursor', '{ contracts(first: 1, after: "nope") { edges { cursor } } }'],
    ['a depth limit', `{ ${'viewer { contracts(first: 1) { edges { node { tasks(first: 1) { edges { node { contract { '.repeat(3)}id${' } } } } } } } }'.repeat(3)} }`],
    ['101 ids', 'query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: Array.from({ length: 101 }, () => '00000000-0000-0000-0000-000000000000') }],
    ['a NUL in an input', 'query($n: String) { contracts(first: 1, after: $n) { edges { cursor } } }', { n: 'a\u0000b' }],
  ];

  it('answers a request refused before it ran 400 under application/graphql-response+json, and 200 under application/json', async () => {
    for (const [what, query, variables] of refusals) {
      const strict = await post(t.url, { query, variables }, { ...bearer(user.token), accept: GRAPHQL_RESPONSE });
      expect(codes(strict.body), what).toEqual(['BAD_USER_INPUT']);
      expect(strict.body.data, what).toBeUndefined();
      expect(strict.status, what).toBe(400);
      expect(strict.type, what).toContain(GRAPHQL_RESPONSE);
      expect(strict.body.errors?.[0].extensions?.http, what).toBeUndefined();
      const legacy = await post(t.url, { query, variables }, { ...bearer(user.token), accept: JSON_TYPE });
      expect(codes(legacy.body), what).toEqual(['BAD_USER_INPUT']);
      expect(legacy.status, what).toBe(200);
    }
  });

  it('keeps 200 for a result with data, even with field errors', async () => {
    const missing = Buffer.from('Task:00000000-0000-0000-0000-000000000000').toString('base64');
    const res = await post(t.url, { query: 'query($id: ID!) { viewer { id } task(id: $id) { id } }', variables: { id: missing } }, { ...bearer(user.token), accept: GRAPHQL_RESPONSE });
    expect(res.status).toBe(200);
    expect(codes(res.body)).toEqual(['NOT_FOUND']);
  });

  it('answers a server-sent events request without a token 401 before any stream starts', async () => {
    for (const headers of [{}, bearer('mk_not-a-real-token')]) {
      const res = await post(t.url, { query: 'subscription { timeline { cursor } }' }, { accept: 'text/event-stream', ...headers });
      expect(res.status).toBe(401);
      expect(res.type).toContain(JSON_TYPE);
      expect(codes(res.body)).toEqual(['UNAUTHENTICATED']);
    }
  });
});

describe("Apollo's automatic persisted queries and persisted documents", () => {
  const known = 'query Known { viewer { name } }';
  const other = 'query Other { viewer { id } }';
  const hashOf = (query: string) => ({ extensions: { persistedQuery: { version: 1, sha256Hash: sha256Hex(query) } } });
  let file: string;
  beforeAll(() => {
    file = path.join(tempDir(), 'operations.json');
    fs.writeFileSync(file, JSON.stringify({ [sha256Hex(known)]: known }));
  });

  /** One subscribe over graphql-ws: its first result, or its error. */
  async function overWs(t: TestServer, token: string, payload: Record<string, unknown>): Promise<unknown> {
    const client = wsClient(t.wsUrl, token);
    try {
      return await new Promise((resolve) => client.subscribe({ query: '', ...payload }, { next: resolve, error: resolve, complete: () => undefined }));
    } finally {
      await client.dispose();
    }
  }

  it('without a file: a hash alone is PERSISTED_QUERY_NOT_SUPPORTED (HTTP 200), and the document with its hash runs', async () => {
    const t = await startTestServer();
    try {
      const user = await t.createUser('apq');
      for (const accept of [JSON_TYPE, GRAPHQL_RESPONSE]) {
        const refused = await post(t.url, hashOf(known), { ...bearer(user.token), accept });
        expect(refused.status, accept).toBe(200);
        expect(refused.body).toEqual({ errors: [{ message: 'PersistedQueryNotSupported', extensions: { code: 'PERSISTED_QUERY_NOT_SUPPORTED' } }] });
      }
      expect((await post(t.url, { query: known, ...hashOf(known) }, bearer(user.token))).body).toEqual({ data: { viewer: { name: 'apq' } } });
      expect(await overWs(t, user.token, hashOf(known))).toMatchObject([{ message: 'PersistedQueryNotSupported', extensions: { code: 'PERSISTED_QUERY_NOT_SUPPORTED' } }]);
      const mismatch = await post(t.url, { query: other, ...hashOf(known) }, bearer(user.token));
      expect(codes(mismatch.body)).toEqual(['BAD_USER_INPUT']);
    } finally {
      await t.stop();
    }
  });

  it('with a file: an unknown hash is PERSISTED_QUERY_NOT_FOUND (HTTP 200), then the document with its hash runs', async () => {
    const t = await startTestServer({ MAKIMA_PERSISTED_OPERATIONS: file });
    try {
      const user = await t.createUser('apq');
      expect((await post(t.url, hashOf(known), bearer(user.token))).body).toEqual({ data: { viewer: { name: 'apq' } } });
      for (const accept of [JSON_TYPE, GRAPHQL_RESPONSE]) {
        const refused = await post(t.url, hashOf(other), { ...bearer(user.token), accept });
        expect(refused.status, accept).toBe(200);
        expect(refused.body).toEqual({ errors: [{ message: 'PersistedQueryNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } }] });
      }
      expect((await post(t.url, { query: other, ...hashOf(other) }, bearer(user.token))).body).toMatchObject({ data: { viewer: { id: expect.any(String) } } });
      expect(await overWs(t, user.token, hashOf(other))).toMatchObject([{ message: 'PersistedQueryNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } }]);
      expect(await overWs(t, user.token, hashOf(known))).toEqual({ data: { viewer: { name: 'apq' } } });
    } finally {
      await t.stop();
    }
  });

  it('takes a persisted document by documentId, in the body, the query string and over graphql-ws', async () => {
    const t = await startTestServer({ MAKIMA_PERSISTED_OPERATIONS: file, MAKIMA_PERSISTED_ONLY: 'true' });
    try {
      const user = await t.createUser('doc');
      const documentId = `sha256:${sha256Hex(known)}`;
      expect((await post(t.url, { documentId }, bearer(user.token))).body).toEqual({ data: { viewer: { name: 'doc' } } });
      const url = new URL(t.url);
      url.searchParams.set('documentId', documentId);
      const get = await fetch(url, { headers: { ...bearer(user.token), accept: JSON_TYPE } });
      expect(await get.json()).toEqual({ data: { viewer: { name: 'doc' } } });
      expect(await overWs(t, user.token, { documentId })).toEqual({ data: { viewer: { name: 'doc' } } });
      const unknown = await post(t.url, { documentId: `sha256:${sha256Hex(other)}` }, bearer(user.token));
      expect(codes(unknown.body)).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
      // Persisted-only: Apollo's retry with the document is refused unless the document is on the list.
      expect(codes((await post(t.url, { query: other, ...hashOf(other) }, bearer(user.token))).body)).toEqual(['BAD_USER_INPUT']);
    } finally {
      await t.stop();
    }
  });
});

describe('live subscriptions', () => {
  let t: TestServer;
  let user: TestUser;
  let taskId: string;
  beforeAll(async () => {
    t = await startTestServer();
    user = await t.createUser('live');
    taskId = (await newContract(t, user)).supervisorId;
  });
  afterAll(async () => t?.stop());

  const live = () => t.server.app.live.subscriberCounts();
  const total = () => live().history + live().taskEvents;
  // A filter that never matches: this user never creates another contract, and the task never records events.
  const NEVER = `subscription { timeline(filter: { eventTypes: [PHASE] }) { cursor } }`;
  const NEVER_TASK = () => `subscription { taskEvents(taskId: "${taskId}") { seq } }`;

  async function gauge(): Promise<number> {
    const text = await (await fetch(new URL('/metrics', t.url))).text();
    return text
      .split('\n')
      .filter((l) => l.startsWith('makima_live_subscribers{'))
      .reduce((sum, l) => sum + Number(l.split(' ')[1]), 0);
  }

  it('are released when their graphql-ws socket closes, even with a filter that never matches', async () => {
    const baseline = total();
    const sockets = Array.from({ length: 40 }, () => wsClient(t.wsUrl, user.token));
    sockets.forEach((client, i) => collect(client, i % 2 ? NEVER : NEVER_TASK(), {}, i % 2 ? 'timeline' : 'taskEvents'));
    // The hub counts a feed once its subscription started; no message tells the client so.
    await eventually(async () => total() === baseline + 40, 'every subscription to start');
    expect(await gauge()).toBe(baseline + 40);
    await Promise.all(sockets.map((client) => client.dispose()));
    await eventually(async () => total() === baseline, 'every subscription to be released', 5000);
    expect(await gauge()).toBe(baseline);
  });

  it('are released when their server-sent events stream is closed by the client', async () => {
    const baseline = total();
    const streams = Array.from({ length: 10 }, () => new AbortController());
    const responses = await Promise.all(
      streams.map((aborted, i) =>
        fetch(t.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...bearer(user.token) },
          body: JSON.stringify({ query: i % 2 ? NEVER : NEVER_TASK() }),
          signal: aborted.signal,
        }),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(streams.map(() => 200));
    await eventually(async () => total() === baseline + 10, 'every stream to start');
    for (const aborted of streams) aborted.abort();
    await eventually(async () => total() === baseline, 'every stream to be released', 5000);
    expect(await gauge()).toBe(baseline);
  });
});

describe('slow clients and many connections', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ MAKIMA_HEADERS_TIMEOUT_MS: '400', MAKIMA_REQUEST_TIMEOUT_MS: '800', MAKIMA_MAX_CONNECTIONS_PER_CLIENT: '6' });
  });
  afterAll(async () => t?.stop());

  /**
   * A raw client that sends `head` and then one byte of `trickle` every 50 ms, forever; resolves
   * with what the server answered and how long after the start the server closed the connection.
   */
  function slowClient(head: string, trickle: string): Promise<{ answer: string; closedAfterMs: number }> {
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const socket = net.connect(t.server.port, '127.0.0.1');
      let answer = '';
      let i = 0;
      let drip: NodeJS.Timeout | undefined;
      socket.on('connect', () => {
        socket.write(head);
        drip = setInterval(() => socket.writable && socket.write(trickle[i++ % trickle.length]), 50);
      });
      socket.on('data', (chunk) => (answer += String(chunk)));
      socket.on('error', () => undefined); // a reset after the server's answer is the cut itself
      socket.on('close', () => {
        clearInterval(drip);
        resolve({ answer, closedAfterMs: Date.now() - started });
      });
      setTimeout(() => {
        clearInterval(drip);
        socket.destroy();
        reject(new Error('the server kept a slow client for 10 s'));
      }, 10_000).unref();
    });
  }

  it('cuts a client that sends its headers slowly within the headers timeout', async () => {
    const { answer, closedAfterMs } = await slowClient('POST /graphql HTTP/1.1\r\nhost: x\r\n', 'x-slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(closedAfterMs).toBeLessThan(400 + 2000);
  });

  it('cuts a client that sends its body slowly within the request timeout', async () => {
    const head = 'POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n';
    const { answer, closedAfterMs } = await slowClient(head, '{"query":"{ viewer { id } }" ');
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(closedAfterMs).toBeLessThan(800 + 2000);
  });

  it('answers 429 to a client address over its connection cap, and takes it again once it closes some', async () => {
    /** A keep-alive connection that has had one answer (so the server counts it). */
    const held = async () => {
      const socket = net.connect(t.server.port, '127.0.0.1');
      const answer = await new Promise<string>((resolve) => {
        socket.once('data', (chunk) => resolve(String(chunk)));
        socket.write('GET /health HTTP/1.1\r\nhost: x\r\n\r\n');
      });
      return { socket, answer };
    };
    const open: { socket: net.Socket; answer: string }[] = [];
    for (let i = 0; i < 6; i++) open.push(await held());
    expect(open.map((c) => c.answer.slice(0, 12))).toEqual(open.map(() => 'HTTP/1.1 200'));
    const refused = await held();
    expect(refused.answer).toMatch(/^HTTP\/1\.1 429/);
    const closed = new Promise((resolve) => open[0].socket.once('close', resolve));
    open[0].socket.destroy();
    await closed;
    // The server sees the close a moment after the client: retry until it has (no event reaches the client).
    const again = await eventually(async () => {
      const c = await held();
      c.socket.destroy();
      return c.answer.startsWith('HTTP/1.1 200') && c;
    }, 'the closed connection to be uncounted');
    expect(again.answer).toMatch(/^HTTP\/1\.1 200/);
    for (const c of open) c.socket.destroy();
  });
});

describe('/metrics', () => {
  it('labels operations from a bounded set: 500 anonymous unique names do not grow it', async () => {
    const t = await startTestServer();
    try {
      const user = await t.createUser('metrics');
      await user.ok('query Known { viewer { id } }');
      const scrape = async () => (await fetch(new URL('/metrics', t.url))).text();
      const before = await scrape();
      expect(before).toContain('operationName="Known"');
      for (let batch = 0; batch < 25; batch++) {
        await Promise.all(
          Array.from({ length: 20 }, async (_, i) => {
            const res = await post(t.url, { query: `query Unique${batch}x${i} { viewer { id } }`, operationName: `Unique${batch}x${i}` });
            expect(res.status).toBe(401);
          }),
        );
      }
      // A name the server has seen succeed is itself; one that only failed stays `other`, even authenticated.
      expect(codes(await user.gql('query Failing { contracts(first: 101) { edges { cursor } } }'))).toEqual(['BAD_USER_INPUT']);
      const after = await scrape();
      expect(after).not.toMatch(/Unique\d+x\d+/);
      expect(after).not.toContain('Failing');
      expect(after).toContain('operationName="other"');
      // Only counts moved: no new series beyond `other`'s.
      expect(after.length).toBeLessThan(before.length + 20_000);
    } finally {
      await t.stop();
    }
  }, 300_000);

  it('answers only the metrics token when MAKIMA_METRICS_TOKEN is set, and moves to MAKIMA_METRICS_LISTEN', async () => {
    const token = 'metrics-secret-0123456789';
    const t = await startTestServer({ MAKIMA_METRICS_TOKEN: token, MAKIMA_METRICS_LISTEN: '127.0.0.1:0' });
    try {
      const metricsUrl = t.server.metricsUrl!;
      expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      expect((await fetch(new URL('/metrics', t.url))).status).not.toBe(200);
      const refused = await fetch(metricsUrl);
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await fetch(metricsUrl, { headers: bearer('wrong-token-0123456789') })).status).toBe(401);
      const served = await fetch(metricsUrl, { headers: bearer(token) });
      expect(served.status).toBe(200);
      expect(await served.text()).toContain('makima_live_subscribers');
    } finally {
      await t.stop();
    }
  });
});
