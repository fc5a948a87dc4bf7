// API tokens (docs/design.md §7): create (the secret once), list (never the secret), revoke — at once on
// every server instance, closing the token's graphql-ws sockets — scopes (FULL, READ, WORKER),
// expiry, the administrator's createUser, and the actor on every history event.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/database.js';
import { AUTH_CACHE_MS } from '../src/modules/auth/authenticator.js';
import { CloseCode } from '../src/http/ws.js';
import { claim, createContract, createTask, FROM_THE_START, LiveTimeline, taskOnRepo } from './fixtures.js';
import { codes, createTestDatabase, eventually, postGraphql, startTestServer, type TestDatabase, type TestServer, type TestUser } from './harness.js';
import { collect, wsClient } from './ws-client.js';

const CreateApiToken = `
  mutation CreateApiToken($input: CreateApiTokenInput!) {
    createApiToken(input: $input) { token apiToken { id name scope createdAt lastUsedAt expiresAt revokedAt } }
  }`;
const RevokeApiToken = `mutation RevokeApiToken($id: ID!) { revokeApiToken(input: { id: $id }) { apiToken { id name revokedAt } } }`;
const ApiTokens = `query ApiTokens { apiTokens(first: 100) { edges { node { id name scope revokedAt expiresAt lastUsedAt } } } }`;
const ViewerName = `query { viewer { name isAdmin } }`;

let database: TestDatabase;
let a: TestServer;
let b: TestServer;
let dropSecond: () => Promise<void>;
let admin: TestUser;

beforeAll(async () => {
  database = await createTestDatabase();
  a = await startTestServer({}, database);
  // The second instance has its own connections (its own pool and LISTEN connection on PostgreSQL).
  const second = database.url ? await openDatabase({ databaseUrl: database.url, dataDir: '' }) : database.db;
  dropSecond = async () => {
    if (second !== database.db) await second.close();
  };
  b = await startTestServer({}, { db: second, url: database.url, drop: async () => undefined });
  admin = await a.createUser('admin'); // the database's first user
}, 60_000);

afterAll(async () => {
  await b?.stop();
  await a?.stop();
  await dropSecond?.();
  await database?.drop();
});

async function newToken(user: TestUser, input: Record<string, unknown>): Promise<{ token: string; id: string }> {
  const { createApiToken } = await user.ok(CreateApiToken, { input });
  return { token: createApiToken.token, id: createApiToken.apiToken.id };
}

function as(t: TestServer, token: string) {
  return <R = any>(query: string, variables?: Record<string, unknown>) => postGraphql<R>(t.url, query, variables, token);
}

describe('createApiToken and apiTokens', () => {
  it('shows the secret once and lists tokens without it', async () => {
    const user = await a.createUser('lister');
    const result = await user.ok(CreateApiToken, { input: { name: 'dashboard', scope: 'READ' } });
    expect(result.createApiToken.token).toMatch(/^mk_/);
    expect(result.createApiToken.apiToken).toMatchObject({ name: 'dashboard', scope: 'READ', revokedAt: null, expiresAt: null });
    const listed = await user.ok(ApiTokens);
    const names = listed.apiTokens.edges.map((e: { node: { name: string } }) => e.node.name);
    expect(names).toEqual(['dashboard', 'default']);
    expect(JSON.stringify(listed)).not.toContain(result.createApiToken.token);
    // The new token works, as its own scope allows.
    expect((await as(a, result.createApiToken.token)(ViewerName)).data).toEqual({ viewer: { name: 'lister', isAdmin: expect.any(Boolean) } });
  });

  it('refuses an empty name and an expiry in the past', async () => {
    const user = await a.createUser();
    expect(codes(await user.gql(CreateApiToken, { input: { name: '  ' } }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await user.gql(CreateApiToken, { input: { name: 'x', expiresAt: new Date(Date.now() - 1000).toISOString() } }))).toEqual(['BAD_USER_INPUT']);
  });

  it("never lists or revokes another user's token", async () => {
    const alice = await a.createUser('alice');
    const bob = await a.createUser('bob');
    const { id } = await newToken(alice, { name: 'alice-ci' });
    expect(JSON.stringify(await bob.ok(ApiTokens))).not.toContain('alice-ci');
    expect(codes(await bob.gql(RevokeApiToken, { id }))).toEqual(['NOT_FOUND']);
  });

  it('names a token it cannot find by the global ID the API gave it, never the raw UUID', async () => {
    const alice = await a.createUser();
    const bob = await a.createUser();
    const { id } = await newToken(alice, { name: 'not-bobs' });
    const uuid = Buffer.from(id, 'base64').toString('utf8').split(':')[1];
    for (const asked of [id, uuid]) {
      const refused = await bob.gql(RevokeApiToken, { id: asked });
      expect(codes(refused)).toEqual(['NOT_FOUND']);
      expect(refused.errors![0].message).toContain(id);
      expect(refused.errors![0].message).not.toContain(uuid);
    }
  });
});

describe('revokeApiToken', () => {
  it('is refused at once by the other instance, and closes the sockets of the token there with 4419', async () => {
    const user = await a.createUser('revoker');
    const { token, id } = await newToken(user, { name: 'to-revoke' });
    // Instance b has checked the token (and caches the check) and holds a subscription of it.
    expect((await as(b, token)(ViewerName)).errors).toBeUndefined();
    const client = wsClient(b.wsUrl, token);
    const closes: { code: number; reason: string }[] = [];
    client.on('closed', (e) => closes.push(e as { code: number; reason: string }));
    const connected = new Promise<void>((resolve) => client.on('connected', () => resolve()));
    const stream = collect(client, LiveTimeline, {}, 'timeline');
    await connected;

    const revokedAt = Date.now();
    const revoked = await user.ok(RevokeApiToken, { id });
    expect(revoked.revokeApiToken.apiToken.revokedAt).not.toBeNull();
    // On the instance that revoked it: refused on the very next request.
    const here = await as(a, token)(ViewerName);
    expect(codes(here)).toEqual(['UNAUTHENTICATED']);
    expect(here.errors![0].message).toContain('revoked');
    // On the other: the NOTIFY arrives within milliseconds, far sooner than the cache would expire.
    await eventually(async () => codes(await as(b, token)(ViewerName))[0] === 'UNAUTHENTICATED', 'instance b to refuse the token', AUTH_CACHE_MS / 2, 10);
    expect(Date.now() - revokedAt).toBeLessThan(AUTH_CACHE_MS);
    const ending = await stream.ended;
    expect(ending.kind).toBe('error');
    expect(closes[0]).toMatchObject({ code: CloseCode.TokenRevoked });
    expect(String(closes[0].reason)).toContain('to-revoke');
    await client.dispose();
    // The user's other tokens are untouched; a second revoke is a CONFLICT.
    expect((await user.gql(ViewerName)).errors).toBeUndefined();
    expect(codes(await user.gql(RevokeApiToken, { id }))).toEqual(['CONFLICT']);
  });
});

describe('revokeApiToken and server-sent events', () => {
  it('cuts an SSE subscription of the token on the other instance', async () => {
    const user = await a.createUser('sse');
    const { token, id } = await newToken(user, { name: 'sse-dashboard', scope: 'READ' });
    const res = await fetch(b.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: `subscription { timeline { seq eventType } }` }),
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let received = '';
    /** Reads until `until` holds for what arrived ('seen'), the stream ends ('ended') or is cut ('cut'). */
    const readUntil = async (until: (text: string) => boolean): Promise<'seen' | 'ended' | 'cut'> => {
      for (;;) {
        const chunk = await reader.read().catch(() => undefined);
        if (!chunk) return 'cut';
        if (chunk.done) return 'ended';
        received += decoder.decode(chunk.value, { stream: true });
        if (until(received)) return 'seen';
      }
    };
    // The stream is live before the revocation: the user's own event reaches it.
    await createContract(user, await a.makeRepo(), 'sse-live');
    expect(await readUntil((text) => text.includes('"PHASE"')), received).toBe('seen');
    const revokedAt = Date.now();
    await user.ok(RevokeApiToken, { id });
    // Then the server cuts it (the response destroyed, not completed), well before a cached check
    // of the token would expire — and nothing arrives on it after the revocation.
    const before = received.length;
    const deadline = new Promise<'still open'>((resolve) => setTimeout(() => resolve('still open'), AUTH_CACHE_MS).unref());
    expect(await Promise.race([readUntil(() => false), deadline])).toBe('cut');
    expect(Date.now() - revokedAt).toBeLessThan(AUTH_CACHE_MS);
    expect(received.slice(before)).not.toContain('event: next');
    expect(codes(await as(b, token)(ViewerName))).toEqual(['UNAUTHENTICATED']);
  });
});

describe('token scopes', () => {
  it('READ: queries and subscriptions, every mutation FORBIDDEN naming the scope it needs', async () => {
    const user = await a.createUser();
    const { token } = await newToken(user, { name: 'dash', scope: 'READ' });
    const read = as(a, token);
    expect((await read(`{ contracts(first: 5) { edges { node { id } } } }`)).errors).toBeUndefined();
    const refused = await read(`mutation { createContract(input: { name: "x", repositoryPath: "/nope" }) { contract { id } } }`);
    expect(codes(refused)).toEqual(['FORBIDDEN']);
    expect(refused.errors![0].message).toContain('needs a FULL token');
    expect(refused.errors![0].message).toContain('is READ');
    expect(codes(await read(`mutation { claimTask(input: { workerId: "w" }) { assignment { reason } } }`))).toEqual(['FORBIDDEN']);
    expect(codes(await read(ApiTokens))).toEqual(['FORBIDDEN']);
    // A subscription is allowed (from the start: the user is new, and it cannot miss the contract).
    const client = wsClient(a.wsUrl, token);
    const repo = await a.makeRepo();
    const stream = collect(client, LiveTimeline, { after: FROM_THE_START }, 'timeline');
    await createContract(user, repo);
    await stream.count(1);
    await client.dispose();
  });

  it('WORKER: the worker protocol and reports on a task it holds; no contracts, rewinds, forks or tokens', async () => {
    const user = await a.createUser();
    const { token } = await newToken(user, { name: 'machine-1', scope: 'WORKER' });
    const worker = as(a, token);
    const fixture = await taskOnRepo(a, user);
    const refused = await worker(`mutation($id: ID!) { createTask(input: { contractId: $id, name: "t" }) { task { id } } }`, { id: fixture.contractId });
    expect(codes(refused)).toEqual(['FORBIDDEN']);
    expect(refused.errors![0].message).toContain('createTask needs a FULL token');
    expect(codes(await worker(CreateApiToken, { input: { name: 'more' } }))).toEqual(['FORBIDDEN']);
    expect(codes(await worker(`mutation($id: ID!) { forkTask(input: { taskId: $id }) { task { id } } }`, { id: fixture.taskId }))).toEqual(['FORBIDDEN']);

    // Claim the supervisor and the task; report on the one held.
    const claimed: string[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await worker(`mutation { claimTask(input: { workerId: "w1" }) { assignment { task { id } } } }`);
      expect(r.errors).toBeUndefined();
      claimed.push(r.data.claimTask.assignment.task.id);
    }
    expect(claimed).toContain(fixture.taskId);
    const append = `mutation($input: AppendMessagesInput!) { appendMessages(input: $input) { messages { id } } }`;
    const message = { role: 'ASSISTANT', content: 'working' };
    const withoutWorker = await worker(append, { input: { taskId: fixture.taskId, messages: [message] } });
    expect(codes(withoutWorker)).toEqual(['FORBIDDEN']);
    expect(withoutWorker.errors![0].message).toContain('appendMessages needs a FULL token');
    expect((await worker(append, { input: { taskId: fixture.taskId, workerId: 'w1', messages: [message] } })).errors).toBeUndefined();
    // With the id of a worker that does not hold it: the service's own CONFLICT.
    expect(codes(await worker(append, { input: { taskId: fixture.taskId, workerId: 'w2', messages: [message] } }))).toEqual(['CONFLICT']);
    expect((await worker(`mutation($id: ID!) { completeTask(input: { taskId: $id, workerId: "w1" }) { task { status } } }`, { id: fixture.taskId })).data.completeTask.task.status).toBe('COMPLETED');
  });
});

describe('expiry', () => {
  it('an expired token is UNAUTHENTICATED, and its sockets are closed with 4420', async () => {
    const user = await a.createUser();
    const expiresAt = new Date(Date.now() + 1500);
    const { token } = await newToken(user, { name: 'short', expiresAt: expiresAt.toISOString() });
    expect((await as(a, token)(ViewerName)).errors).toBeUndefined();
    const client = wsClient(a.wsUrl, token);
    const closed = new Promise<{ code: number }>((resolve) => client.on('closed', (e) => resolve(e as { code: number })));
    collect(client, LiveTimeline, {}, 'timeline');
    // The server closes the socket when the token expires: an event to await, no polling.
    expect((await closed).code).toBe(CloseCode.TokenExpired);
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt.getTime() - 50);
    const refused = await as(a, token)(ViewerName);
    expect(codes(refused)).toEqual(['UNAUTHENTICATED']);
    expect(refused.errors![0].message).toContain('expired');
    await client.dispose();
  });
});

const CreateUser = `mutation($name: String!) { createUser(input: { name: $name }) { token user { name isAdmin } } }`;

describe('createUser', () => {
  it('lets the administrator — the first user — add a user whose token works at once', async () => {
    expect((await admin.ok(ViewerName)).viewer.isAdmin).toBe(true);
    const created = (await admin.ok(CreateUser, { name: 'newcomer' })).createUser;
    expect(created.user).toEqual({ name: 'newcomer', isAdmin: false });
    expect((await as(b, created.token)(ViewerName)).data).toEqual({ viewer: { name: 'newcomer', isAdmin: false } });
  });

  it('is FORBIDDEN to any other user, and to a READ token of the administrator', async () => {
    const user = await a.createUser('not-admin');
    const refused = await user.gql(CreateUser, { name: 'x' });
    expect(codes(refused)).toEqual(['FORBIDDEN']);
    expect(refused.errors![0].message).toContain('administrator');
    const { token } = await newToken(admin, { name: 'admin-read', scope: 'READ' });
    expect(codes(await as(a, token)(CreateUser, { name: 'x' }))).toEqual(['FORBIDDEN']);
    expect(await a.db.prisma.user.count({ where: { name: 'x' } })).toBe(0);
  });
});

describe('actors on history events', () => {
  it('names the user and token, or the worker, or the server', async () => {
    const user = await a.createUser('ada');
    const { token } = await newToken(user, { name: 'laptop' });
    const repo = await a.makeRepo();
    const contract = (await as(a, token)(`mutation($r: String!) { createContract(input: { name: "c", repositoryPath: $r }) { contract { id } } }`, { r: repo })).data.createContract.contract;
    const task = await createTask(user, contract.id, 't');
    await claim(user, 'w-7');
    const history = await user.ok(
      `query($id: ID!) { contract(id: $id) { history(first: 20) { edges { node { eventSubtype task { id } actor { kind userName tokenName workerId description } } } } } }`,
      { id: contract.id },
    );
    const actors = history.contract.history.edges.map((e: { node: { eventSubtype: string; actor: unknown } }) => [e.node.eventSubtype, e.node.actor]);
    expect(actors).toContainEqual(['created', { kind: 'USER', userName: 'ada', tokenName: 'laptop', workerId: null, description: 'ada (token "laptop")' }]);
    expect(actors).toContainEqual([
      'status_changed',
      { kind: 'WORKER', userName: 'ada', tokenName: 'default', workerId: 'w-7', description: 'worker w-7 (ada, token "default")' },
    ]);
    // createTask came after the claim's worker mark, in a separate change: it is the user's again.
    const taskEvents = history.contract.history.edges.filter((e: { node: { task: { id: string } | null } }) => e.node.task?.id === task.id);
    expect(taskEvents[0].node.actor.kind).toBe('USER');
  });
});
