// graphql-ws fails one operation at a time: an operation refused before it runs (syntax, limits,
// variables, first with last) gets an `error` message for its id, with the code HTTP gives the
// same request, and the socket's other subscriptions keep receiving. Every close makima initiates
// uses a documented code and is logged with its reason.
import crypto from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Client } from 'graphql-ws';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../src/config.js';
import { historyCursor } from '../src/modules/history/schema.js';
import { startServer, type RunningServer } from '../src/server.js';
import { CloseCode } from '../src/http/ws.js';
import { codes, createTestDatabase, makeGitRepo, postGraphql, startTestServer, tempDir, type TestDatabase, type TestServer, type TestUser } from './harness.js';
import { collect, RawGraphqlWs, wsClient } from './ws-client.js';

const TIMELINE = `subscription($after: String) { timeline(after: $after) { seq eventType eventSubtype } }`;
const CREATE_CONTRACT = `mutation($r: String!) { createContract(input: { name: "ws", repositoryPath: $r }) { contract { id supervisor { id } } } }`;
const APPEND = `mutation($taskId: ID!) { appendMessages(input: { taskId: $taskId, messages: [{ role: USER, content: "hi" }] }) { task { id } } }`;

type Event = { seq: string; eventType: string; eventSubtype: string };

/** Operations refused before they run: what, the request, and what the message must mention. */
const REFUSED: { what: string; query: string; variables?: Record<string, unknown>; operationName?: string; message: RegExp }[] = [
  { what: 'a syntax error', query: `subscription { timeline(after: ) { seq }`, message: /syntax|expected/i },
  { what: 'an unknown field', query: `{ viewer { shoeSize } }`, message: /shoeSize/ },
  { what: 'a query deeper than 12', query: `{ contracts { edges { node { ${'supervisor { contract { '.repeat(8)}id${' } }'.repeat(8)} } } } }`, message: /depth/i },
  { what: 'more than 30 aliases', query: `{ ${Array.from({ length: 40 }, (_, i) => `a${i}: viewer { id }`).join(' ')} }`, message: /alias/i },
  { what: 'a page larger than 100', query: `{ contracts(first: 101) { edges { cursor } } }`, message: /at most 100/ },
  { what: 'a page size variable larger than 100', query: `query($n: Int) { contracts(first: $n) { edges { cursor } } }`, variables: { n: 500 }, message: /at most 100/ },
  { what: 'first together with last', query: `{ contracts(first: 2, last: 2) { edges { cursor } } }`, message: /first and last/ },
  { what: 'a variable of the wrong type', query: `query($n: Int) { contracts(first: $n) { edges { cursor } } }`, variables: { n: 'ten' }, message: /\$n/ },
  { what: 'an enum value that does not exist', query: `subscription { timeline(filter: { eventTypes: [NOPE] }) { seq } }`, message: /NOPE/ },
  { what: 'an operation name not in the document', query: `query A { viewer { id } }`, operationName: 'B', message: /B/ },
];

/** Runs one operation on `client`; resolves with how it ended. */
function run(client: Client, query: string, variables?: Record<string, unknown>, operationName?: string) {
  return new Promise<{ kind: 'error'; errors: { message: string; extensions?: Record<string, unknown> }[] } | { kind: 'complete'; results: unknown[] }>((resolve) => {
    const results: unknown[] = [];
    client.subscribe(
      { query, variables, operationName },
      {
        next: (r) => results.push(r),
        error: (errors) => resolve({ kind: 'error', errors: errors as never }),
        complete: () => resolve({ kind: 'complete', results }),
      },
    );
  });
}

async function overHttp(url: string, token: string, query: string, variables?: Record<string, unknown>, operationName?: string) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables, operationName }),
  });
  return (await res.json()) as { errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

describe('an operation refused over graphql-ws', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => t?.stop());

  it('gets an error message for its id, with the code HTTP gives it, and the socket and its subscription live on', async () => {
    const user = await t.createUser();
    const repo = await t.makeRepo();
    const { createContract } = await user.ok(CREATE_CONTRACT, { r: repo });
    const client = wsClient(t.wsUrl, user.token);
    const closes: unknown[] = [];
    client.on('closed', (e) => closes.push(e));
    const live = collect<Event>(client, TIMELINE, { after: historyCursor(0n) }, 'timeline');
    const caughtUp = (await live.count(2)).length;

    for (const { what, query, variables, operationName, message } of REFUSED) {
      const ended = await run(client, query, variables, operationName);
      expect(ended.kind, what).toBe('error');
      const errors = (ended as { errors: { message: string; extensions?: Record<string, unknown> }[] }).errors;
      expect(errors.map((e) => e.message).join('\n'), what).toMatch(message);
      expect([...new Set(codes({ errors }))], what).toEqual(['BAD_USER_INPUT']);
      const http = await overHttp(t.url, user.token, query, variables, operationName);
      expect([...new Set(codes(http))], `${what} over HTTP`).toEqual(['BAD_USER_INPUT']);
    }

    // The subscription that was running all along still receives new events, on the same socket.
    await user.ok(APPEND, { taskId: createContract.contract.supervisor.id });
    const [appended] = (await live.count(caughtUp + 1)).slice(caughtUp);
    expect(appended).toMatchObject({ eventType: 'CHAT', eventSubtype: 'message' });
    // And the socket takes new operations.
    expect(await run(client, `{ viewer { name } }`)).toEqual({ kind: 'complete', results: [{ data: { viewer: { name: 'tester' } } }] });
    expect(closes).toEqual([]);
    await client.dispose();
  });

  it('sends a field error of a running operation with its result, as HTTP does (the subscription is not refused as a whole)', async () => {
    const user = await t.createUser();
    const client = wsClient(t.wsUrl, user.token);
    const missing = await run(client, `{ contract(id: "00000000-0000-4000-8000-000000000000") { id } }`);
    expect(missing.kind).toBe('complete');
    expect(codes((missing as { results: { errors?: never }[] }).results[0])).toEqual(['NOT_FOUND']);
    await client.dispose();
  });
});

describe('an error raised while a subscription runs', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => t?.stop());

  it('reaches the client with its code, and a server fault without its internals', async () => {
    const user = await t.createUser();
    const client = wsClient(t.wsUrl, user.token);
    // The stream reads the viewer's history on its first pull, after the operation has started: with
    // the table gone, that read fails inside the running stream (the test's files run one at a time).
    await t.db.query('ALTER TABLE history_events RENAME TO history_events_away');
    let ended: Awaited<ReturnType<typeof run>>;
    try {
      ended = await run(client, TIMELINE, { after: historyCursor(0n) });
    } finally {
      await t.db.query('ALTER TABLE history_events_away RENAME TO history_events');
    }
    expect(ended.kind).toBe('error');
    const { errors } = ended as { errors: { message: string; extensions?: Record<string, unknown> }[] };
    expect(codes({ errors })).toEqual(['INTERNAL_SERVER_ERROR']);
    expect(errors[0].message).toBe('Unexpected error.');
    // The socket lives on, and the same subscription works again.
    const live = collect<Event>(client, TIMELINE, { after: historyCursor(0n) }, 'timeline');
    await user.ok(CREATE_CONTRACT, { r: await t.makeRepo() });
    await live.count(1);
    await client.dispose();
  });
});

/** A server with its log captured: each line parsed. */
async function loggedServer(env: Record<string, string> = {}, wsKeepAliveMs?: number) {
  const root = tempDir();
  const reposRoot = path.join(root, 'repos');
  fs.mkdirSync(reposRoot);
  const db: TestDatabase = await createTestDatabase();
  const config = loadConfig({ MAKIMA_DATA_DIR: path.join(root, 'data'), MAKIMA_REPOS_ROOT: reposRoot, PORT: '0', ...(db.url ? { DATABASE_URL: db.url } : {}), ...env }, root);
  const lines: Record<string, unknown>[] = [];
  let waiters: (() => void)[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      waiters.splice(0).forEach((w) => w());
      done();
    },
  });
  const logger = pino({ level: 'debug', base: undefined }, sink);
  const server: RunningServer = await startServer({ config, db: db.db, keepDatabase: true, logger, wsKeepAliveMs });
  const { createUser } = await import('../src/modules/auth/service.js');
  return {
    server,
    lines,
    db,
    reposRoot,
    createUser: () => createUser(db.db.prisma, 'logged'),
    /** Resolves with the first log line matching `match`, waiting for it (never a sleep). */
    logged(match: (line: Record<string, unknown>) => boolean, what: string, timeoutMs = 15_000): Promise<Record<string, unknown>> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no log line for ${what}; log:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`)), timeoutMs);
        const check = () => {
          const line = lines.find(match);
          if (line) {
            clearTimeout(timer);
            resolve(line);
          } else waiters.push(check);
        };
        check();
      });
    },
    async stop() {
      await server.stop();
      await db.drop();
      fs.rmSync(root, { recursive: true, force: true });
      waiters = [];
    },
  };
}

const closing = (code: number) => (l: Record<string, unknown>) => l.msg === 'closing a graphql-ws socket' && l.code === code;

describe('closes makima initiates', () => {
  let s: Awaited<ReturnType<typeof loggedServer>>;
  let user: TestUser | { token: string };
  beforeAll(async () => {
    s = await loggedServer({ MAKIMA_MAX_BODY_BYTES: '65536' }, 300);
    user = await s.createUser();
  });
  afterAll(async () => s?.stop());

  it('have one documented code each, in the one table', () => {
    const codes = Object.values(CloseCode);
    expect(new Set(codes).size).toBe(codes.length);
    const page = fs.readFileSync(new URL('../docs/live.md', import.meta.url), 'utf8');
    const missing = Object.entries(CloseCode).filter(([name, code]) => !page.includes(`| \`${code}\` | ${name} |`));
    expect(missing).toEqual([]);
  });

  it('logs 4403 for a connection_init without a valid token', async () => {
    const client = wsClient(s.server.wsUrl, 'mk_wrong');
    const refused = collect(client, TIMELINE, {}, 'timeline');
    const ending = await refused.ended;
    expect((ending as { error: { code: number } }).error.code).toBe(CloseCode.Forbidden);
    const line = await s.logged(closing(CloseCode.Forbidden), '4403');
    expect(line).toMatchObject({ level: 40, codeName: 'Forbidden', reason: 'Forbidden' });
    await client.dispose();
  });

  it('closes a client that stops answering pings with 4410, and logs it, instead of dropping it silently', async () => {
    const raw = await RawGraphqlWs.connect(s.server.wsUrl, user.token);
    raw.subscribe('1', TIMELINE, {});
    raw.socket.pause(); // reads nothing more, so it answers no ping
    const line = await s.logged(closing(CloseCode.KeepAliveTimeout), '4410');
    expect(line).toMatchObject({ level: 40, codeName: 'KeepAliveTimeout', reason: expect.stringMatching(/no answer to a ping within 300 ms/) });
    raw.socket.resume();
    expect((await raw.closed).code).toBe(CloseCode.KeepAliveTimeout);
  });

  it('keeps a client that answers pings connected', async () => {
    const client = wsClient(s.server.wsUrl, user.token);
    const closes: unknown[] = [];
    client.on('closed', (e) => closes.push(e));
    const stream = collect(client, TIMELINE, {}, 'timeline');
    // Several keep-alive rounds (300 ms each): wait on pings actually answered, not on time.
    const socket = await new Promise<WebSocket>((resolve) => client.on('opened', (ws) => resolve(ws as WebSocket)));
    for (let i = 0; i < 4; i++) await once(socket, 'ping');
    expect(closes).toEqual([]);
    stream.stop();
    await client.dispose();
  });

  it('logs 1009 for a message larger than MAKIMA_MAX_BODY_BYTES', async () => {
    const socket = new WebSocket(s.server.wsUrl, 'graphql-transport-ws');
    await once(socket, 'open');
    const closed = once(socket, 'close');
    socket.send(JSON.stringify({ type: 'connection_init', payload: { pad: 'x'.repeat(70_000) } }));
    const [code] = await closed;
    expect(code).toBe(CloseCode.MessageTooBig);
    expect(await s.logged(closing(CloseCode.MessageTooBig), '1009')).toMatchObject({ level: 40, codeName: 'MessageTooBig', reason: expect.stringMatching(/max/i) });
  });

  it('logs 4400 for a message that is not graphql-transport-ws', async () => {
    const socket = new WebSocket(s.server.wsUrl, 'graphql-transport-ws');
    await once(socket, 'open');
    const closed = once(socket, 'close');
    socket.send('{"type":"hello"}');
    expect((await closed)[0]).toBe(CloseCode.BadRequest);
    expect(await s.logged(closing(CloseCode.BadRequest), '4400')).toMatchObject({ codeName: 'BadRequest' });
  });
});

describe('stopping with graphql-ws clients connected', () => {
  it('closes each socket with 1001 and logs it', async () => {
    const s = await loggedServer({}, 0);
    try {
      const user = await s.createUser();
      const repo = path.join(s.reposRoot, `repo-${crypto.randomUUID()}`);
      await makeGitRepo(repo, { 'a.txt': 'a' });
      await postGraphql(s.server.url, CREATE_CONTRACT, { r: repo }, user.token);
      const client = wsClient(s.server.wsUrl, user.token);
      const stream = collect(client, TIMELINE, { after: historyCursor(0n) }, 'timeline');
      await stream.count(1);
      await s.server.stop();
      const ending = await stream.ended;
      expect((ending as { error: { code: number } }).error.code).toBe(CloseCode.GoingAway);
      expect(await s.logged((l) => l.msg === 'closing every graphql-ws socket', '1001')).toMatchObject({ code: 1001, reason: 'server is shutting down', sockets: 1 });
      await client.dispose();
    } finally {
      await s.stop();
    }
  });
});
