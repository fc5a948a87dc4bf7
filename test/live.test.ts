// The live timeline over real graphql-ws sockets: catch-up then live with no gap and no duplicate
// under concurrent writers, resuming from a cursor, task event streams, auth and isolation, and
// back-pressure on a subscriber that stops reading.
import { once } from 'node:events';
import http from 'node:http';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { change, historyLockSql } from '../src/db/change.js';
import type { Prisma } from '../src/generated/prisma/client.js';
import { SUBSCRIBER_TOO_SLOW_REASON } from '../src/errors.js';
import { CloseCode } from '../src/http/ws.js';
import { subscriptionEventStats } from '../src/schema/subscriptions.js';
import { taskEventCursor } from '../src/modules/events/schema.js';
import { CLOSE_FORBIDDEN } from '../src/server.js';
import { graphql } from '../src/generated/gql/index.js';
import { codes, rawId, startTestServer, type TestServer, type TestUser } from './harness.js';
import { appendMessages, createContract, FROM_THE_START, LiveTimeline, type HistoryFilter } from './fixtures.js';
import { collect, RawGraphqlWs, wsClient } from './ws-client.js';

const LiveContractHistory = graphql(`
  subscription LiveContractHistory($contractId: ID!, $after: String) {
    contractHistory(contractId: $contractId, after: $after) { id seq cursor eventType eventSubtype }
  }
`);
const LiveTimelineWithData = graphql(`
  subscription LiveTimelineWithData($after: String) { timeline(after: $after) { id seq cursor data } }
`);
const LiveTaskEvents = graphql(`
  subscription LiveTaskEvents($taskId: ID!, $after: String) {
    taskEvents(taskId: $taskId, after: $after) { id seq cursor type data }
  }
`);

type Event = { id: string; seq: string; cursor: string };

let t: TestServer;
beforeAll(async () => {
  // These tests are about exactness, not back-pressure (tested below with a buffer of 8): the 20
  // writers share this process with the subscribers, so give the subscribers room to lag.
  t = await startTestServer({ MAKIMA_SUBSCRIBER_BUFFER: '1000000' });
});
afterAll(async () => t?.stop());

async function newContract(user: TestUser, server = t): Promise<{ contractId: string; taskId: string }> {
  const repo = await server.makeRepo();
  const contract = await createContract(user, repo, 'live');
  return { contractId: contract.id, taskId: contract.supervisor.id };
}

async function append(user: TestUser, taskId: string, text = 'hello'): Promise<void> {
  await appendMessages(user, taskId, [{ role: 'USER', content: text }]);
}

/** The seqs of the history events matching `where`, in order, as the API prints them. */
async function dbSeqs(where: Prisma.HistoryEventWhereInput): Promise<string[]> {
  const rows = await t.db.prisma.historyEvent.findMany({ where, orderBy: { seq: 'asc' }, select: { seq: true } });
  return rows.map((r) => r.seq.toString());
}

const seqs = (events: Event[]) => events.map((e) => e.seq);

/** Runs `writers` loops of `write` until `ms` have passed; resolves with how many writes were made. */
/** `writers` concurrent loops of `write` for `ms`, and on until `atLeast` writes are done (a loaded machine writes fewer in the time). */
async function writeConcurrently(writers: number, ms: number, write: (writer: number, i: number) => Promise<void>, atLeast = 0): Promise<number> {
  const deadline = Date.now() + ms;
  let writes = 0;
  await Promise.all(
    Array.from({ length: writers }, async (_, writer) => {
      for (let i = 0; Date.now() < deadline || writes < atLeast; i++) {
        await write(writer, i);
        writes++;
      }
    }),
  );
  return writes;
}

describe('Subscription.timeline', () => {
  it('delivers exactly the matching events, in seq order, while 20 writers commit concurrently', async () => {
    const user = await t.createUser('writer');
    const contracts = [await newContract(user), await newContract(user), await newContract(user), await newContract(user)];
    const client = wsClient(t.wsUrl, user.token);
    const everything = collect(client, LiveTimeline, { after: FROM_THE_START }, 'timeline');
    const chatOfFirst = collect(client, LiveTimeline, { after: FROM_THE_START, filter: { eventTypes: ['CHAT'], contractId: contracts[0].contractId } }, 'timeline');
    const historyOfSecond = collect(client, LiveContractHistory, { contractId: contracts[1].contractId, after: FROM_THE_START }, 'contractHistory');

    // Each writer commits its own kind of event for one of the contracts, through change() as
    // every mutation does; the transactions compete for the history lock.
    const kinds = ['CHAT', 'TASK', 'CHECKPOINT', 'FILE'] as const;
    const writing = writeConcurrently(20, 3000, (writer, i) => {
      const { contractId, taskId } = contracts[writer % 4];
      const eventType = kinds[Math.floor(writer / 4) % 4];
      return change(t.db.prisma, async (_tx, record) => {
        record({ ownerId: user.id, contractId: rawId(contractId), taskId: rawId(taskId), eventType, eventSubtype: 'load', data: { writer, i } });
      });
    }, 160);
    // A subscriber that joins mid-way catches up over several pages while the writers go on.
    await Promise.race([everything.count(120), writing]);
    const lateJoiner = collect(client, LiveTimeline, { after: FROM_THE_START }, 'timeline');
    const writes = await writing;
    expect(writes).toBeGreaterThan(120);

    const expected = {
      everything: await dbSeqs({ ownerId: user.id }),
      chatOfFirst: await dbSeqs({ ownerId: user.id, eventType: 'CHAT', contractId: rawId(contracts[0].contractId) }),
      historyOfSecond: await dbSeqs({ ownerId: user.id, contractId: rawId(contracts[1].contractId) }),
    };
    expect(expected.everything.length).toBe(writes + 4 * 2); // and each contract's PHASE/created + TASK/created
    expect(seqs(await everything.count(expected.everything.length))).toEqual(expected.everything);
    expect(seqs(await lateJoiner.count(expected.everything.length))).toEqual(expected.everything);
    expect(seqs(await chatOfFirst.count(expected.chatOfFirst.length))).toEqual(expected.chatOfFirst);
    expect(seqs(await historyOfSecond.count(expected.historyOfSecond.length))).toEqual(expected.historyOfSecond);
    // Nothing more arrives: one more event is the next and only item of the full stream.
    await append(user, contracts[3].taskId);
    expect(seqs(await everything.count(expected.everything.length + 1))).toEqual(await dbSeqs({ ownerId: user.id }));
    expect(seqs(await lateJoiner.count(expected.everything.length + 1))).toEqual(await dbSeqs({ ownerId: user.id }));
    await client.dispose();
  });

  it('reads each new batch once for all subscribers, however many there are', async () => {
    const user = await t.createUser();
    const { contractId, taskId } = await newContract(user);
    const client = wsClient(t.wsUrl, user.token);
    // How many of the contract's two events (PHASE/created, TASK/created) each filter matches;
    // the CHAT event appended next matches them all.
    const cases: { filter: HistoryFilter; existing: number }[] = [
      { filter: {}, existing: 2 },
      { filter: { eventTypes: ['CHAT'] }, existing: 0 },
      { filter: { contractId }, existing: 2 },
      { filter: { taskId }, existing: 1 },
      { filter: { phases: ['RESEARCH'] }, existing: 2 },
    ];
    const subscribers = [...cases, ...cases].map((c) => ({ ...c, stream: collect(client, LiveTimeline, { after: FROM_THE_START, filter: c.filter }, 'timeline') }));
    for (const s of subscribers) await s.stream.count(s.existing);
    const before = t.server.app.live.reads.history;
    await append(user, taskId);
    await Promise.all(subscribers.map((s) => s.stream.count(s.existing + 1)));
    expect(t.server.app.live.reads.history - before).toBe(1);
    await client.dispose();
  });

  it('executes and serializes a live event once for the subscribers that run the same operation, and once more for another selection', async () => {
    const user = await t.createUser();
    const { taskId } = await newContract(user);
    // Three sockets with the same document and variables, one with another selection: the two
    // documents must each get their own fields, and each be executed once per live event.
    const clients = [0, 1, 2, 3].map(() => wsClient(t.wsUrl, user.token));
    const same = clients.slice(0, 3).map((c) => collect(c, LiveTimelineWithData, { after: FROM_THE_START }, 'timeline'));
    const other = collect(clients[3], LiveTimeline, { after: FROM_THE_START }, 'timeline');
    await Promise.all([...same, other].map((s) => s.count(2)));
    const before = { ...subscriptionEventStats };
    await append(user, taskId, 'shared');
    await Promise.all([...same, other].map((s) => s.count(3)));
    expect(subscriptionEventStats.executed - before.executed).toBe(2);
    expect(subscriptionEventStats.shared - before.shared).toBe(2);
    const live = same.map((s) => s.items[2] as Event & { data: unknown });
    expect(live[0].data).toBeTruthy();
    for (const item of live) expect(item).toEqual(live[0]);
    expect(other.items[2]).not.toHaveProperty('data');
    expect(other.items[2].seq).toBe(live[0].seq);
    await Promise.all(clients.map((c) => c.dispose()));
  });

  it('resumes from the last cursor after a disconnect: the union equals the database, with no duplicate', async () => {
    const user = await t.createUser();
    const { taskId } = await newContract(user);
    let writing = true;
    const writers = Promise.all(
      Array.from({ length: 5 }, async (_, w) => {
        for (let i = 0; writing; i++) await append(user, taskId, `w${w}-${i}`);
      }),
    );

    const first = wsClient(t.wsUrl, user.token);
    const before = collect(first, LiveTimeline, { after: FROM_THE_START }, 'timeline');
    await before.count(15);
    await first.dispose();
    const received = [...before.items];
    // Events are committed while the client is away.
    for (let i = 0; i < 5; i++) await append(user, taskId, `away-${i}`);

    const second = wsClient(t.wsUrl, user.token);
    const after = collect(second, LiveTimeline, { after: received[received.length - 1].cursor }, 'timeline');
    await after.count(20);
    writing = false;
    await writers;
    const expected = await dbSeqs({ ownerId: user.id });
    await after.until((items) => items.length > 0 && items[items.length - 1].seq === expected[expected.length - 1], 'the last event');
    expect([...seqs(received), ...seqs(after.items)]).toEqual(expected);
    await second.dispose();
  });

  it('without a cursor, streams only what happens after it starts, with no gap from then on', async () => {
    const user = await t.createUser();
    const { taskId } = await newContract(user);
    const existing = await dbSeqs({ ownerId: user.id });
    const client = wsClient(t.wsUrl, user.token);
    const live = collect(client, LiveTimeline, {}, 'timeline');
    // The subscription becomes live at some point after it is sent: write until it shows.
    for (let i = 0; live.items.length === 0; i++) {
      expect(i).toBeLessThan(200);
      await append(user, taskId, `probe-${i}`);
    }
    for (let i = 0; i < 10; i++) await append(user, taskId, `after-${i}`);
    const all = await dbSeqs({ ownerId: user.id });
    await live.until((items) => items[items.length - 1]?.seq === all[all.length - 1], 'the last event');
    const first = all.indexOf(live.items[0].seq);
    expect(existing).not.toContain(live.items[0].seq);
    expect(seqs(live.items)).toEqual(all.slice(first));
    await client.dispose();
  });

  it('moves past a seq that was taken by a transaction that rolled back', async () => {
    const user = await t.createUser();
    const client = wsClient(t.wsUrl, user.token);
    const stream = collect(client, LiveTimeline, { after: FROM_THE_START }, 'timeline');
    const { taskId } = await newContract(user);
    await stream.count(2);
    // A writer that takes a seq under the lock and then fails leaves a hole in the sequence.
    await expect(
      t.db.prisma.$transaction(async (tx) => {
        await tx.$queryRawUnsafe(historyLockSql(`ARRAY['${user.id}']::uuid[]`));
        await tx.historyEvent.create({ data: { ownerId: user.id, eventType: 'TASK', eventSubtype: 'doomed' } });
        throw new Error('the writer fails after taking its seq');
      }),
    ).rejects.toThrow('the writer fails');
    await append(user, taskId);
    await stream.count(3);
    expect(seqs(stream.items)).toEqual(await dbSeqs({ ownerId: user.id }));
    await client.dispose();
  });

  it('refuses a malformed cursor or filter with BAD_USER_INPUT', async () => {
    const user = await t.createUser();
    const client = wsClient(t.wsUrl, user.token);
    const badCursor = collect(client, LiveTimeline, { after: 'not-a-cursor' }, 'timeline');
    const badFilter = collect(client, LiveTimeline, { filter: { since: '2030-01-01T00:00:00Z', until: '2020-01-01T00:00:00Z' } }, 'timeline');
    const badId = collect(client, LiveTimeline, { filter: { contractId: 'nope' } }, 'timeline');
    for (const s of [badCursor, badFilter, badId]) {
      // Refused before it starts (a malformed cursor or id): an `error` message for the operation.
      // Refused by the subscription itself (since after until): a result with the error, then complete.
      const ended = (await s.ended) as { kind: string; error?: unknown[] };
      expect(['error', 'complete']).toContain(ended.kind);
      expect(codes({ errors: (ended.kind === 'error' ? ended.error : s.errors) as never })).toEqual(['BAD_USER_INPUT']);
    }
    await client.dispose();
  });
});

describe('Subscription over server-sent events', () => {
  it('streams the same catch-up and live events to an HTTP client that sends its token as a header', async () => {
    const user = await t.createUser();
    const { taskId } = await newContract(user);
    const aborted = new AbortController();
    const res = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${user.token}` },
      body: JSON.stringify({ query: print(LiveTimeline), variables: { after: FROM_THE_START } }),
      signal: aborted.signal,
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    const received: Event[] = [];
    let buffered = '';
    const readUntil = async (count: number) => {
      while (received.length < count) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended after ${received.length} events`);
        buffered += value;
        const blocks = buffered.split('\n\n');
        buffered = blocks.pop() ?? '';
        for (const block of blocks) {
          const data = block.split('\n').find((line) => line.startsWith('data: '));
          if (block.startsWith('event: next') && data) received.push(JSON.parse(data.slice(6)).data.timeline);
        }
      }
    };
    await readUntil(2);
    await append(user, taskId);
    await readUntil(3);
    aborted.abort();
    expect(seqs(received)).toEqual(await dbSeqs({ ownerId: user.id }));
  });
});

describe('Subscription.contractHistory', () => {
  it("is NOT_FOUND for another user's contract, and for a contract that does not exist", async () => {
    const alice = await t.createUser('alice');
    const bob = await t.createUser('bob');
    const { contractId } = await newContract(alice);
    const client = wsClient(t.wsUrl, bob.token);
    const foreign = collect(client, LiveContractHistory, { contractId }, 'contractHistory');
    const missing = collect(client, LiveContractHistory, { contractId: '00000000-0000-4000-8000-000000000000' }, 'contractHistory');
    for (const s of [foreign, missing]) {
      expect(await s.ended).toEqual({ kind: 'complete' });
      expect(codes({ errors: s.errors as never })).toEqual(['NOT_FOUND']);
      expect(s.items).toEqual([]);
    }
    await client.dispose();
  });
});

describe('Subscription.taskEvents', () => {
  /** What recordTaskEvents does: rows with the next per-task seqs, then a notification on commit. */
  async function recordTaskEvents(taskId: string, texts: string[]): Promise<void> {
    const id = rawId(taskId);
    await t.db.prisma.$transaction(async (tx) => {
      const last = await tx.taskEvent.findFirst({ where: { taskId: id }, orderBy: { seq: 'desc' } });
      await tx.taskEvent.createMany({ data: texts.map((text, i) => ({ taskId: id, seq: (last?.seq ?? 0) + i + 1, type: 'OUTPUT' as const, data: { text } })) });
      await tx.$executeRawUnsafe(`SELECT pg_notify('makima_task_events', $1)`, id);
    });
  }

  it("catches up after the cursor, then streams the task's new events live", async () => {
    const user = await t.createUser();
    const { taskId } = await newContract(user);
    await recordTaskEvents(taskId, ['a', 'b', 'c']);
    const client = wsClient(t.wsUrl, user.token);
    const all = collect(client, LiveTaskEvents, { taskId, after: taskEventCursor({ taskId: rawId(taskId), seq: 0 }) }, 'taskEvents');
    const fromB = collect(client, LiveTaskEvents, { taskId, after: taskEventCursor({ taskId: rawId(taskId), seq: 1 }) }, 'taskEvents');
    await all.count(3);
    await recordTaskEvents(taskId, ['d']);
    await recordTaskEvents(taskId, ['e', 'f']);
    expect((await all.count(6)).map((e) => (e.data as { text: string }).text)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect((await fromB.count(5)).map((e) => e.seq)).toEqual([2, 3, 4, 5, 6]);

    // Resuming from a received cursor continues right after it.
    const resumed = collect(client, LiveTaskEvents, { taskId, after: all.items[3].cursor }, 'taskEvents');
    await recordTaskEvents(taskId, ['g']);
    expect((await resumed.count(3)).map((e) => e.seq)).toEqual([5, 6, 7]);
    expect((await all.count(7)).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    await client.dispose();
  });

  it("is NOT_FOUND for another user's task", async () => {
    const alice = await t.createUser('alice');
    const bob = await t.createUser('bob');
    const { taskId } = await newContract(alice);
    const client = wsClient(t.wsUrl, bob.token);
    const foreign = collect(client, LiveTaskEvents, { taskId }, 'taskEvents');
    expect(await foreign.ended).toEqual({ kind: 'complete' });
    expect(codes({ errors: foreign.errors as never })).toEqual(['NOT_FOUND']);
    await client.dispose();
  });
});

describe('graphql-ws authentication and isolation', () => {
  it('closes a socket whose connection_init has no token, or a wrong one, with 4403 Forbidden', async () => {
    for (const token of [undefined, 'mk_not_a_real_token']) {
      const client = wsClient(t.wsUrl, token);
      const refused = collect(client, LiveTimeline, {}, 'timeline');
      const ending = await refused.ended;
      expect(ending.kind).toBe('error');
      expect((ending as { error: { code: number } }).error.code).toBe(CLOSE_FORBIDDEN);
      await client.dispose();
    }
  });

  it("never delivers one user's events to another user", async () => {
    const alice = await t.createUser('alice');
    const bob = await t.createUser('bob');
    const aliceClient = wsClient(t.wsUrl, alice.token);
    const bobClient = wsClient(t.wsUrl, bob.token);
    const aliceStream = collect(aliceClient, LiveTimeline, { after: FROM_THE_START }, 'timeline');
    const bobStream = collect(bobClient, LiveTimeline, { after: FROM_THE_START }, 'timeline');
    const { taskId } = await newContract(alice);
    for (let i = 0; i < 5; i++) await append(alice, taskId);
    const bobs = await newContract(bob); // bob's two events come after all of alice's
    await aliceStream.count(7);
    await bobStream.count(2);
    expect(seqs(bobStream.items)).toEqual(await dbSeqs({ ownerId: bob.id }));
    expect(bobStream.items.map((e) => e.id)).not.toContain(aliceStream.items[0].id);
    await append(bob, bobs.taskId);
    await bobStream.count(3);
    expect(seqs(aliceStream.items)).toEqual(await dbSeqs({ ownerId: alice.id }));
    await aliceClient.dispose();
    await bobClient.dispose();
  });
});

describe('back-pressure', () => {
  let slow: TestServer;
  beforeAll(async () => {
    slow = await startTestServer({ MAKIMA_SUBSCRIBER_BUFFER: '8' });
  });
  afterAll(async () => slow?.stop());

  it('closes a subscriber that stops reading with a clear reason, while a healthy one keeps receiving', async () => {
    const user = await slow.createUser();
    const stalled = await RawGraphqlWs.connect(slow.wsUrl, user.token);
    stalled.subscribe('1', LiveTimelineWithData, { after: FROM_THE_START });
    stalled.socket.pause();
    const healthyClient = wsClient(slow.wsUrl, user.token);
    const healthy = collect(healthyClient, LiveTimeline, { after: FROM_THE_START }, 'timeline');
    const overflowed = once(slow.server.app.live, 'slow-subscriber');

    // Large events fill the socket's buffers quickly; the writers never wait for the stalled reader.
    const big = { paths: Array.from({ length: 4000 }, (_, i) => ({ path: `src/file-${i}.ts`, status: 'modified' })) };
    let written = 0;
    let done = false;
    void overflowed.then(() => (done = true));
    while (!done) {
      expect(written).toBeLessThan(1000);
      await change(slow.db.prisma, async (_tx, record) => record({ ownerId: user.id, eventType: 'FILE', eventSubtype: 'changed', data: big }));
      written++;
      await healthy.count(written);
    }
    expect(await overflowed).toEqual([user.id]);
    // The healthy subscriber keeps receiving after the slow one is dropped.
    await change(slow.db.prisma, async (_tx, record) => record({ ownerId: user.id, eventType: 'FILE', eventSubtype: 'changed', data: { after: true } }));
    const all = (await slow.db.prisma.historyEvent.findMany({ where: { ownerId: user.id }, orderBy: { seq: 'asc' } })).map((r) => r.seq.toString());
    expect(seqs(await healthy.count(written + 1))).toEqual(all);

    // The stalled client, once it reads again, finds the close code and the reason after its data.
    stalled.socket.resume();
    expect(await stalled.closed).toEqual({ code: CloseCode.SubscriberTooSlow, reason: SUBSCRIBER_TOO_SLOW_REASON });
    await healthyClient.dispose();
  });

  it('ends the server-sent event stream of a subscriber that stops reading with the reason as its last result', async () => {
    const user = await slow.createUser();
    const body = JSON.stringify({ query: print(LiveTimelineWithData), variables: { after: FROM_THE_START } });
    const url = new URL(slow.url);
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${user.token}` } });
    req.end(body);
    const [res] = (await once(req, 'response')) as [http.IncomingMessage];
    res.pause();
    const overflowed = once(slow.server.app.live, 'slow-subscriber');
    let done = false;
    void overflowed.then(() => (done = true));
    const big = { paths: Array.from({ length: 4000 }, (_, i) => ({ path: `src/file-${i}.ts`, status: 'modified' })) };
    for (let written = 0; !done; written++) {
      expect(written).toBeLessThan(1000);
      await change(slow.db.prisma, async (_tx, record) => record({ ownerId: user.id, eventType: 'FILE', eventSubtype: 'changed', data: big }));
    }
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk) => (text += chunk));
    res.resume();
    await once(res, 'end');
    // After the events it had room for: the reason as the last result, then the end of the stream.
    const blocks = text.split('\n\n').filter((b) => b.startsWith('event: '));
    expect(blocks[blocks.length - 1]).toBe('event: complete\ndata:');
    const last = JSON.parse(blocks[blocks.length - 2].replace('event: next\ndata: ', ''));
    expect(last.errors).toEqual([expect.objectContaining({ message: SUBSCRIBER_TOO_SLOW_REASON, extensions: { code: 'SUBSCRIBER_TOO_SLOW' } })]);
  });
});
