// Notifications are sent after commit and are only wake-ups (docs/design.md §6): an event whose
// notification is lost (its writer died between the commit and the send), late (after the event
// was delivered) or early (read before its row is visible) is still delivered exactly once, in seq
// order, by the hub's re-check of the streams it follows. The writers here commit rows without any
// notification, as a writer killed right after its commit leaves them.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { HISTORY_CHANNEL, historyLockSql, TASK_EVENTS_CHANNEL } from '../src/db/change.js';
import { Notifier, NOTIFY_BATCH_SQL } from '../src/db/notifier.js';
import { graphql } from '../src/generated/gql/index.js';
import { rawId, startTestServer, type TestServer, type TestUser } from './harness.js';
import { appendMessages, createContract, FROM_THE_START, LiveTimeline } from './fixtures.js';
import { collect, wsClient } from './ws-client.js';

const LiveTaskEvents = graphql(`
  subscription LiveTaskEventsAfterLoss($taskId: ID!) {
    taskEvents(taskId: $taskId) { seq type }
  }
`);

const RECHECK_MS = 150;

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ MAKIMA_LIVE_RECHECK_MS: String(RECHECK_MS) });
});
afterAll(async () => t?.stop());

const hub = () => t.server.app.live;

async function newTask(user: TestUser): Promise<string> {
  const contract = await createContract(user, await t.makeRepo(), 'notify');
  return contract.supervisor.id;
}

/** Commits one history event of `ownerId` as change() does (under the owner's lock), but sends no notification. */
async function commitWithoutNotification(ownerId: string, subtype: string): Promise<void> {
  await t.db.prisma.$transaction(async (tx) => {
    await tx.$queryRawUnsafe(historyLockSql(`ARRAY['${ownerId}']::uuid[]`));
    await tx.historyEvent.create({ data: { ownerId, eventType: 'TASK', eventSubtype: subtype } });
  });
}

async function notify(channel: string, payload: string): Promise<void> {
  await t.db.query(NOTIFY_BATCH_SQL, [[channel], [payload]]);
}

async function ownerSeqs(ownerId: string): Promise<string[]> {
  const rows = await t.db.prisma.historyEvent.findMany({ where: { ownerId }, orderBy: { seq: 'asc' }, select: { seq: true } });
  return rows.map((r) => r.seq.toString());
}

describe('live delivery when a notification is lost, early or late', () => {
  it('delivers a committed event whose notification never came, then goes on in order', async () => {
    const user = await t.createUser();
    const client = wsClient(t.wsUrl, user.token);
    const stream = collect(client, LiveTimeline, { after: FROM_THE_START }, 'timeline');
    const taskId = await newTask(user);
    await stream.count(2); // the contract's two events, caught up and then live
    const recovered = hub().recovered.history;

    await commitWithoutNotification(user.id, 'lost-notification');
    await stream.until((items) => items.some((e) => e.eventSubtype === 'lost-notification'), 'the event whose notification was lost');
    expect(hub().recovered.history).toBeGreaterThan(recovered);

    await appendMessages(user, taskId, [{ role: 'USER', content: 'after the loss' }]);
    await stream.count(4);
    expect(stream.items.map((e) => e.seq)).toEqual(await ownerSeqs(user.id));
    await client.dispose();
  });

  it('delivers an event whose notification was read before its row was visible', async () => {
    const user = await t.createUser();
    const client = wsClient(t.wsUrl, user.token);
    const stream = collect(client, LiveTimeline, { after: FROM_THE_START }, 'timeline');
    await newTask(user);
    await stream.count(2);

    // The wake-up comes first: the hub reads, and finds nothing yet.
    const reads = hub().reads.history;
    await notify(HISTORY_CHANNEL, `${user.id} 999999999999`);
    await vi.waitFor(() => expect(hub().reads.history).toBeGreaterThan(reads), { timeout: 10_000, interval: 10 });
    expect(stream.items).toHaveLength(2);

    await commitWithoutNotification(user.id, 'early-notification');
    await stream.until((items) => items.some((e) => e.eventSubtype === 'early-notification'), 'the event whose notification came early');
    expect(stream.items.map((e) => e.seq)).toEqual(await ownerSeqs(user.id));
    await client.dispose();
  });

  it('repeats nothing for a notification that arrives after its events were delivered', async () => {
    const user = await t.createUser();
    const client = wsClient(t.wsUrl, user.token);
    const stream = collect(client, LiveTimeline, { after: FROM_THE_START }, 'timeline');
    const taskId = await newTask(user);
    await stream.count(2);
    const [first, second] = stream.items.map((e) => e.seq);

    // Late and repeated wake-ups for seqs already delivered, and one with no seq at all.
    await notify(HISTORY_CHANNEL, `${user.id} ${first}`);
    await notify(HISTORY_CHANNEL, `${user.id} ${second}`);
    await notify(HISTORY_CHANNEL, user.id);
    await appendMessages(user, taskId, [{ role: 'USER', content: 'one more' }]);
    await stream.count(3);
    // A full re-check cycle later, still exactly the database's events, each once.
    const cycles = hub().rechecks;
    await vi.waitFor(() => expect(hub().rechecks).toBeGreaterThan(cycles + 1), { timeout: 10_000, interval: 10 });
    expect(stream.items.map((e) => e.seq)).toEqual(await ownerSeqs(user.id));
    await client.dispose();
  });

  it("delivers a task's event whose notification never came", async () => {
    const user = await t.createUser();
    const taskId = await newTask(user);
    const client = wsClient(t.wsUrl, user.token);
    const stream = collect(client, LiveTaskEvents, { taskId }, 'taskEvents');
    // Live only (no cursor): wait until the hub follows the task's stream before writing.
    const rawTask = rawId(taskId);
    await vi.waitFor(() => expect(hub().subscriberCounts().taskEvents).toBeGreaterThan(0), { timeout: 10_000, interval: 10 });
    await t.db.query(`INSERT INTO task_events (id, task_id, seq, type, data) VALUES (gen_random_uuid(), $1, 1, 'output', '{"text":"lost"}')`, [rawTask]);
    const [event] = await stream.count(1);
    expect(event).toEqual({ seq: 1, type: 'OUTPUT' });
    // And a notification for it afterwards (late) repeats nothing.
    await notify(TASK_EVENTS_CHANNEL, rawTask);
    await t.db.query(`INSERT INTO task_events (id, task_id, seq, type, data) VALUES (gen_random_uuid(), $1, 2, 'output', '{"text":"next"}')`, [rawTask]);
    await notify(TASK_EVENTS_CHANNEL, rawTask);
    await stream.count(2);
    const cycles = hub().rechecks;
    await vi.waitFor(() => expect(hub().rechecks).toBeGreaterThan(cycles + 1), { timeout: 10_000, interval: 10 });
    expect(stream.items.map((e) => e.seq)).toEqual([1, 2]);
    await client.dispose();
  });
});

describe('the notifier', () => {
  it('sends what arrives during a send as one statement, with the largest seq of each key', async () => {
    const channel = 'makima_test_notifier';
    const heard: string[] = [];
    const unlisten = await t.db.listen(channel, (payload) => heard.push(payload));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const statements: string[][] = [];
    const notifier = new Notifier(async (channels, payloads) => {
      statements.push(payloads);
      if (statements.length === 1) await gate; // the first send is slow: the rest gather behind it
      await t.db.query(NOTIFY_BATCH_SQL, [channels, payloads]);
    });
    notifier.notify(channel, 'a', 1n);
    for (const seq of [5n, 3n, 9n, 7n]) notifier.notify(channel, 'a', seq);
    notifier.notify(channel, 'b', 2n);
    notifier.notify(channel, 'c');
    notifier.notify(channel, 'c');
    release();
    await notifier.flush();
    expect(statements).toEqual([['a 1'], ['a 9', 'b 2', 'c']]);
    await vi.waitFor(() => expect(heard).toEqual(['a 1', 'a 9', 'b 2', 'c']), { timeout: 10_000, interval: 10 });
    await notifier.close();
    notifier.notify(channel, 'after-close', 1n);
    await notifier.flush();
    expect(statements).toHaveLength(2);
    await unlisten();
  });
});
