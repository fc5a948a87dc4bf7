// A graceful stop ends every live connection and returns within seconds, whatever is connected:
// SSE streams complete, graphql-ws sockets close with 1001, and a client that stopped reading is cut
// after the grace period instead of holding the stop (and the database lock) open.
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { historyCursor } from '../src/modules/history/schema.js';
import { createUser } from '../src/modules/auth/service.js';
import { STOP_GRACE_MS } from '../src/server.js';
import { CloseCode } from '../src/http/ws.js';
import { spawnMakima, type Spawned } from './cli/run.js';
import { createTestDatabase, makeGitRepo, startTestServer, tempDir, TEST_DATABASE_URL, type TestDatabase } from './harness.js';
import { collect, RawGraphqlWs, wsClient } from './ws-client.js';

const TIMELINE = `subscription($after: String) { timeline(after: $after) { seq eventType } }`;
const CREATE_CONTRACT = `mutation($r: String!) { createContract(input: { name: "stop", repositoryPath: $r }) { contract { id } } }`;

/** An SSE subscription over fetch: resolves `next(n)` once n events arrived; `rest()` reads to the end. */
async function sse(url: string, token: string) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: TIMELINE, variables: { after: historyCursor(0n) } }),
  });
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const blocks: string[] = [];
  let buffered = '';
  let done = false;
  const read = async () => {
    const chunk = await reader.read();
    if (chunk.done) return void (done = true);
    buffered += chunk.value;
    const parts = buffered.split('\n\n');
    buffered = parts.pop() ?? '';
    blocks.push(...parts.filter((b) => b.startsWith('event: ')));
  };
  return {
    blocks,
    async next(count: number) {
      while (blocks.filter((b) => b.startsWith('event: next')).length < count) {
        if (done) throw new Error(`the stream ended after ${blocks.length} events`);
        await read();
      }
    },
    async rest() {
      while (!done) await read();
      return blocks;
    },
  };
}

async function post(url: string, token: string, query: string, variables: Record<string, unknown>) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data?: unknown; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

describe('stop()', () => {
  it('completes the SSE stream and closes the socket with 1001, without waiting for the grace period', async () => {
    const t = await startTestServer();
    try {
      const user = await t.createUser();
      await post(t.url, user.token, CREATE_CONTRACT, { r: await t.makeRepo() });
      const stream = await sse(t.url, user.token);
      await stream.next(2);
      const client = wsClient(t.wsUrl, user.token);
      const live = collect(client, TIMELINE, { after: historyCursor(0n) }, 'timeline');
      await live.count(2);

      const started = Date.now();
      await t.server.stop();
      expect(Date.now() - started).toBeLessThan(STOP_GRACE_MS);
      const blocks = await stream.rest();
      expect(blocks[blocks.length - 1]).toBe('event: complete\ndata:');
      expect(((await live.ended) as { error: { code: number } }).error.code).toBe(CloseCode.GoingAway);
      await client.dispose();
    } finally {
      await t.stop();
    }
  });

  it('cuts a socket and an SSE stream whose clients stopped reading, and returns within the grace period', async () => {
    const t = await startTestServer();
    try {
      const user = await t.createUser();
      await post(t.url, user.token, CREATE_CONTRACT, { r: await t.makeRepo() });
      const stalled = await RawGraphqlWs.connect(t.wsUrl, user.token);
      const first = stalled.nextMessage();
      stalled.subscribe('1', TIMELINE, { after: historyCursor(0n) });
      expect((await first).type).toBe('next');
      stalled.socket.pause();

      const url = new URL(t.url);
      const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${user.token}` } });
      req.end(JSON.stringify({ query: TIMELINE, variables: { after: historyCursor(0n) } }));
      const [res] = (await once(req, 'response')) as [http.IncomingMessage];
      await once(res, 'data');
      res.pause();

      const started = Date.now();
      await t.server.stop();
      expect(Date.now() - started).toBeLessThan(STOP_GRACE_MS + 2000);
      stalled.socket.resume();
      await stalled.closed;
      res.resume();
      if (!res.complete) await Promise.race([once(res, 'end'), once(res, 'close'), once(res, 'aborted')]);
    } finally {
      await t.stop();
    }
  });
});

describe('makima serve', () => {
  const dirs: string[] = [];
  const running: Spawned[] = [];
  let db: TestDatabase | undefined;
  afterAll(async () => {
    for (const s of running) await s.stop('SIGKILL');
    await db?.drop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('exits 0 within 5 s of SIGTERM while an SSE stream and a graphql-ws subscription are open', async () => {
    const root = tempDir();
    dirs.push(root);
    const reposRoot = path.join(root, 'repos');
    const repo = path.join(reposRoot, 'app');
    await makeGitRepo(repo, { 'README.md': '# app\n' });
    const env: Record<string, string> = { MAKIMA_DATA_DIR: path.join(root, 'data'), MAKIMA_REPOS_ROOT: reposRoot, PORT: '0' };
    let token: string | undefined;
    if (TEST_DATABASE_URL) {
      db = await createTestDatabase();
      env.DATABASE_URL = db.url!;
      token = (await createUser(db.db.prisma, 'stop')).token;
    }
    const server = spawnMakima(['serve', '--json'], env);
    running.push(server);
    const [line] = await server.waitFor(/^\{.*\}$/m);
    const info = JSON.parse(line) as { url: string; wsUrl: string; localToken: string | null };
    token ??= info.localToken!;

    await post(info.url, token, CREATE_CONTRACT, { r: repo });
    const stream = await sse(info.url, token);
    await stream.next(2);
    const client = wsClient(info.wsUrl, token);
    const live = collect(client, TIMELINE, { after: historyCursor(0n) }, 'timeline');
    await live.count(2);

    const exited = new Promise<number | null>((resolve) => server.child.once('exit', (code) => resolve(code)));
    const started = Date.now();
    server.child.kill('SIGTERM');
    const code = await exited;
    expect(Date.now() - started).toBeLessThan(5000);
    expect(code).toBe(0);
    expect((await stream.rest()).at(-1)).toBe('event: complete\ndata:');
    expect(((await live.ended) as { error: { code: number } }).error.code).toBe(CloseCode.GoingAway);
    await client.dispose();
  });
});
