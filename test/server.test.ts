// The server's edges: health, GraphiQL, request limits, error masking and a graceful stop.
import { once } from 'node:events';
import http from 'node:http';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { graphql } from '../src/generated/gql/index.js';
import { codes, createTestDatabase, postGraphql, startTestServer, type TestServer } from './harness.js';
import { CreateContract } from './fixtures.js';

const ContractsAfterBadCursor = graphql(`
  query ContractsAfterBadCursor { contracts(first: 1, after: "bm9wZQ==") { edges { cursor } } }
`);
const FirstContractName = graphql(`
  query FirstContractName { contracts(first: 1) { edges { node { id name } } } }
`);

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ MAKIMA_MAX_BODY_BYTES: '65536' });
});
afterAll(async () => t?.stop());

describe('the HTTP endpoint', () => {
  it('reports health with the database engine', async () => {
    const res = await fetch(t.url.replace('/graphql', '/health'));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', database: t.db.engine });
  });

  it('serves GraphiQL to a browser on the API path, configured for graphql-ws', async () => {
    const res = await fetch(t.url, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('makima');
    // Its own fetcher: graphql-ws on the same origin and path (ws:// for http://), from the server's copy of graphql-ws.
    expect(html).toContain("location.origin.replace(/^http/, 'ws') + graphqlPath");
    expect(html).toContain('("/graphql");');
    const client = html.match(/<script src="(\/graphiql-static\/[^"]+)"><\/script>/)?.[1];
    expect(client).toBeDefined();
    const asset = await fetch(new URL(client!, t.url));
    expect(asset.status).toBe(200);
    expect(await asset.text()).toContain('graphqlWs');
    // Every asset is served by the server itself: no CDN is reachable from these machines.
    expect(html).not.toMatch(/https?:\/\/(?!127\.0\.0\.1|localhost)[a-z0-9.-]+\.[a-z]{2,}\/[^"']*\.(js|css)/i);
  });

  it("serves GraphiQL's own files from the build (web/dist/graphiql), brotli when the browser takes it, plain otherwise", async () => {
    const html = await (await fetch(t.url, { headers: { accept: 'text/html' } })).text();
    // The page's config, filled in at the placeholders the build left: the API path and the default query.
    expect(html).toContain('"endpoint": "/graphql"');
    expect(html).toContain('"defaultQuery": "# Add your token under Headers');
    expect(html).not.toContain('__MAKIMA_');
    const base = new URL('/graphiql-static/', t.url);
    const brotli = await fetch(new URL('ruru.js', base), { headers: { 'accept-encoding': 'br' } });
    expect(brotli.status).toBe(200);
    expect(brotli.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(brotli.headers.get('etag')).toMatch(/^"sha256-/);
    const plain = await new Promise<{ status: number; encoding: string | undefined; body: string }>((resolve, reject) => {
      // node:http, not fetch: fetch always asks for (and undoes) compression.
      http.get(new URL('ruru.js', base), { headers: { 'accept-encoding': 'identity' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, encoding: res.headers['content-encoding'], body: Buffer.concat(chunks).toString('utf8') }));
      }).on('error', reject);
    });
    expect(plain.status).toBe(200);
    expect(plain.encoding).toBeUndefined();
    expect(plain.body).toBe(await brotli.text());
    for (const missing of ['ruru.js.map', 'nothing.js', '..%2Fmanifest.json', '../page.html']) {
      expect((await fetch(new URL(missing, base))).status, missing).toBe(404);
    }
  });

  it('refuses a body larger than MAKIMA_MAX_BODY_BYTES', async () => {
    const res = await fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: `{ viewer { id } }`, pad: 'x'.repeat(70_000) }) });
    expect(res.status).toBe(413);
    expect((await res.json()).errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });

  it('refuses a body sent in chunks, without a length, once it passes MAKIMA_MAX_BODY_BYTES, and reads a smaller one', async () => {
    const chunked = (text: string) => {
      const bytes = new TextEncoder().encode(text);
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < bytes.length; i += 4096) controller.enqueue(bytes.subarray(i, i + 4096));
          controller.close();
        },
      });
      return fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, duplex: 'half' } as RequestInit);
    };
    const large = await chunked(JSON.stringify({ query: `{ __typename }`, pad: 'x'.repeat(70_000) }));
    expect(large.status).toBe(413);
    expect((await large.json()).errors[0].extensions.code).toBe('BAD_USER_INPUT');
    const small = await chunked(JSON.stringify({ query: `{ __typename }${' '.repeat(30_000)}` }));
    expect(await small.json()).toEqual({ data: { __typename: 'Query' } });
  });
});

describe('query limits', () => {
  it('refuses a page larger than 100, whether literal or a variable', async () => {
    const user = await t.createUser();
    expect(codes(await user.gql(`{ contracts(first: 101) { edges { cursor } } }`))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await user.gql(`query($n: Int) { contracts(first: $n) { edges { cursor } } }`, { n: 1000 }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await user.gql(`{ contracts(first: 100) { edges { cursor } } }`))).toEqual([]);
  });

  it('refuses queries that are too deep or use too many aliases', async () => {
    const user = await t.createUser();
    const deep = `{ contracts { edges { node { ${'supervisor { contract { '.repeat(8)}id${' } }'.repeat(8)} } } } }`;
    const deepResult = await user.gql(deep);
    expect(deepResult.errors?.[0].message).toMatch(/depth/i);
    expect(codes(deepResult)).toEqual(['BAD_USER_INPUT']);
    const aliases = `{ ${Array.from({ length: 40 }, (_, i) => `a${i}: viewer { id }`).join(' ')} }`;
    const aliasResult = await user.gql(aliases);
    expect(aliasResult.errors?.[0].message).toMatch(/alias/i);
    expect(codes(aliasResult)).toEqual(['BAD_USER_INPUT']);
  });

  it('refuses an invalid cursor as bad input', async () => {
    const user = await t.createUser();
    expect(codes(await user.gql(ContractsAfterBadCursor))).toEqual(['BAD_USER_INPUT']);
  });
});

describe('errors', () => {
  it('masks unexpected errors: no stack, no SQL, a generic message', async () => {
    const broken = await startTestServer();
    try {
      const user = await broken.createUser();
      await broken.db.query(`ALTER TABLE contracts RENAME COLUMN name TO renamed_name`);
      const result = await user.gql(FirstContractName);
      expect(codes(result)).toEqual(['INTERNAL_SERVER_ERROR']);
      const text = JSON.stringify(result.errors);
      expect(text).not.toMatch(/renamed_name|SELECT|contracts"|at .*\.ts/);
    } finally {
      await broken.stop();
    }
  });
});

describe('stop', () => {
  it('lets an in-flight request finish, closes sockets cleanly and refuses new connections', async () => {
    const db = await createTestDatabase();
    const s = await startTestServer({}, db);
    try {
      const user = await s.createUser();
      const repo = await s.makeRepo();
      const client = createClient({ url: s.wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${user.token}` }, retryAttempts: 0, lazy: false });
      const closed = new Promise<{ code: number }>((resolve) => client.on('closed', (e) => resolve(e as { code: number })));
      await new Promise<void>((resolve) => client.on('connected', () => resolve()));
      const received = once(s.server.httpServer, 'request');
      const inFlight = postGraphql(s.url, CreateContract, { input: { name: 'late', repositoryPath: repo } }, user.token);
      await received;
      await s.server.stop();
      expect((await inFlight).data).toBeTruthy();
      expect((await closed).code).toBe(1001);
      await expect(fetch(s.url.replace('/graphql', '/health'))).rejects.toThrow();
      client.dispose();
    } finally {
      await s.stop();
      await db.drop();
    }
  });
});
