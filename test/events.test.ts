// A task's event stream: recordTaskEvents (atomic batches, per-task seq, limits) and Task.events.
import type { ResultOf } from '@graphql-typed-document-node/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TASK_EVENTS_CHANNEL } from '../src/db/change.js';
import { MAX_EVENTS_PER_BATCH } from '../src/modules/events/service.js';
import { graphql } from '../src/generated/gql/index.js';
import { codes, rawId, startTestServer, type TestServer, type TestUser } from './harness.js';
import { createContract, RecordTaskEvents, type RecordTaskEventsInput, type TaskEventInput } from './fixtures.js';

const MAX_BYTES = 2048;

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ MAKIMA_MAX_MESSAGE_BYTES: String(MAX_BYTES) });
});
afterAll(async () => t?.stop());

async function newTask(user: TestUser): Promise<string> {
  const repo = await t.makeRepo();
  return (await createContract(user, repo)).supervisor.id;
}

const TaskEventsPage = graphql(`
  query TaskEventsPage($id: ID!, $first: Int, $after: String, $types: [TaskEventType!]) {
    task(id: $id) { events(first: $first, after: $after, types: $types) { edges { cursor node { seq type data } } pageInfo { hasNextPage endCursor } } }
  }
`);

const TaskHistoryOfType = graphql(`
  query TaskHistoryOfType($id: ID!) { task(id: $id) { history(first: 10, filter: { eventTypes: [TASK] }) { edges { node { eventSubtype phase data } } } } }
`);

const TaskEventNode = graphql(`
  query TaskEventNode($id: ID!) { node(id: $id) { id ... on TaskEvent { data seq task { id } } } }
`);

type EventType = TaskEventInput['type'];
type Edges = NonNullable<ResultOf<typeof TaskEventsPage>['task']>['events']['edges'];

async function readAll(user: TestUser, taskId: string, types?: EventType[], first = 3): Promise<Edges> {
  const edges: Edges = [];
  let after: string | null = null;
  for (;;) {
    const data: ResultOf<typeof TaskEventsPage> = await user.ok(TaskEventsPage, { id: taskId, first, after, types });
    const page = data.task!.events;
    edges.push(...page.edges);
    if (!page.pageInfo.hasNextPage) return edges;
    after = page.pageInfo.endCursor;
  }
}

async function writes(taskId: string) {
  const id = rawId(taskId);
  return {
    events: await t.db.prisma.taskEvent.count({ where: { taskId: id } }),
    history: await t.db.prisma.historyEvent.count({ where: { taskId: id } }),
  };
}

describe('recordTaskEvents', () => {
  it('numbers events 1, 2, … per task, continuing across batches, and returns them in order', async () => {
    const user = await t.createUser();
    const taskId = await newTask(user);
    const first = await user.ok(RecordTaskEvents, {
      input: { taskId, events: [{ type: 'OUTPUT', data: { text: 'building' } }, { type: 'TOOL_CALL', data: { tool: 'bash', args: ['ls'] } }, { type: 'TOOL_RESULT', data: 'a\nb' }] },
    });
    const second = await user.ok(RecordTaskEvents, { input: { taskId, events: [{ type: 'ERROR', data: { message: 'boom' } }, { type: 'STATUS', data: 42 }] } });
    const events = [...first.recordTaskEvents.events, ...second.recordTaskEvents.events];
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(events.map((e) => e.type)).toEqual(['OUTPUT', 'TOOL_CALL', 'TOOL_RESULT', 'ERROR', 'STATUS']);
    expect(events[1].data).toEqual({ tool: 'bash', args: ['ls'] });
    expect(events[4].data).toBe(42);
    expect(events.every((e) => e.task.id === taskId)).toBe(true);
    expect(Date.parse(events[0].createdAt)).toBeGreaterThan(Date.now() - 60_000);
    const stored = await readAll(user, taskId);
    expect(stored.map((e) => e.node.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(stored.map((e) => e.cursor)).toEqual(events.map((e) => e.cursor));
  });

  it('writes one TASK/output history event per batch with the count, the types and the seq range', async () => {
    const user = await t.createUser();
    const taskId = await newTask(user);
    await user.ok(RecordTaskEvents, { input: { taskId, events: [{ type: 'OUTPUT', data: 1 }, { type: 'OUTPUT', data: 2 }, { type: 'TOOL_CALL', data: 3 }] } });
    await user.ok(RecordTaskEvents, { input: { taskId, events: [{ type: 'ERROR', data: 4 }] } });
    const history = await user.ok(TaskHistoryOfType, { id: taskId });
    const outputs = history.task!.history.edges.map((e) => e.node).filter((n) => n.eventSubtype === 'output');
    expect(outputs).toEqual([
      { eventSubtype: 'output', phase: 'RESEARCH', data: { count: 1, types: ['ERROR'], firstSeq: 4, lastSeq: 4 } },
      { eventSubtype: 'output', phase: 'RESEARCH', data: { count: 3, types: ['OUTPUT', 'TOOL_CALL'], firstSeq: 1, lastSeq: 3 } },
    ]);
  });

  it(`notifies ${TASK_EVENTS_CHANNEL} with the task id when the batch commits`, async () => {
    const user = await t.createUser();
    const taskId = await newTask(user);
    let notify!: (payload: string) => void;
    const notified = new Promise<string>((resolve) => (notify = resolve));
    // LISTEN is registered (listen() has resolved) before the write, so the notification cannot be missed.
    const unlisten = await t.db.listen(TASK_EVENTS_CHANNEL, (payload) => payload === rawId(taskId) && notify(payload));
    await user.ok(RecordTaskEvents, { input: { taskId, events: [{ type: 'OUTPUT', data: 'hello' }] } });
    expect(await notified).toBe(rawId(taskId));
    await unlisten();
  });

  it('gives concurrent batches on one task contiguous, distinct seqs', async () => {
    const user = await t.createUser();
    const taskId = await newTask(user);
    const batches = await Promise.all(
      Array.from({ length: 6 }, (_, b) => user.ok(RecordTaskEvents, { input: { taskId, events: Array.from({ length: 4 }, (_, i): TaskEventInput => ({ type: 'OUTPUT', data: { b, i } })) } })),
    );
    const seqs = batches.map((r) => r.recordTaskEvents.events.map((e) => e.seq));
    for (const s of seqs) expect(s).toEqual([s[0], s[0] + 1, s[0] + 2, s[0] + 3]);
    expect(seqs.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    // Within a batch, seq order is the order the events were sent in.
    for (const r of batches) expect(r.recordTaskEvents.events.map((e) => (e.data as { i: number }).i)).toEqual([0, 1, 2, 3]);
  });

  it('is all or nothing: one oversized event refuses the whole batch', async () => {
    const user = await t.createUser();
    const taskId = await newTask(user);
    const before = await writes(taskId);
    const result = await user.gql(RecordTaskEvents, { input: { taskId, events: [{ type: 'OUTPUT', data: 'fine' }, { type: 'OUTPUT', data: 'x'.repeat(MAX_BYTES) }] } });
    expect(codes(result)).toEqual(['BAD_USER_INPUT']);
    expect(result.errors![0].message).toContain('events[1].data');
    expect(await writes(taskId)).toEqual(before);
  });

  it('refuses bad input with BAD_USER_INPUT and writes nothing', async () => {
    const user = await t.createUser();
    const taskId = await newTask(user);
    const before = await writes(taskId);
    // Deliberately invalid inputs, sent as they are: the server must refuse each one.
    const cases: [string, unknown][] = [
      ['unknown event type', { taskId, events: [{ type: 'THOUGHT', data: 1 }] }],
      ['null data', { taskId, events: [{ type: 'OUTPUT', data: null }] }],
      ['no events', { taskId, events: [] }],
      ['too many events', { taskId, events: Array.from({ length: MAX_EVENTS_PER_BATCH + 1 }, () => ({ type: 'OUTPUT', data: 1 })) }],
      ['NUL character', { taskId, events: [{ type: 'OUTPUT', data: { text: 'a\u0000b' } }] }],
      ['unpaired surrogate', { taskId, events: [{ type: 'OUTPUT', data: { ['\ud800']: 'key' } }] }],
      ['malformed task id', { taskId: 'not-an-id', events: [{ type: 'OUTPUT', data: 1 }] }],
    ];
    for (const [label, input] of cases) {
      expect(codes(await user.gql(RecordTaskEvents, { input: input as RecordTaskEventsInput })), label).toEqual(['BAD_USER_INPUT']);
    }
    const literal = await user.gql(`mutation { recordTaskEvents(input: { taskId: "${taskId}", events: [{ type: THOUGHT, data: 1 }] }) { events { id } } }`);
    expect(codes(literal)).toEqual(['BAD_USER_INPUT']);
    expect(await writes(taskId)).toEqual(before);
  });

  it("refuses another user's task as NOT_FOUND", async () => {
    const owner = await t.createUser();
    const other = await t.createUser();
    const taskId = await newTask(owner);
    const result = await other.gql(RecordTaskEvents, { input: { taskId, events: [{ type: 'OUTPUT', data: 'intrusion' }] } });
    expect(codes(result)).toEqual(['NOT_FOUND']);
    expect(await writes(taskId)).toEqual({ events: 0, history: 1 });
  });
});

describe('Task.events', () => {
  it('pages oldest first by seq, filters by type, and accepts a cursor from an unfiltered page', async () => {
    const user = await t.createUser();
    const taskId = await newTask(user);
    const types: EventType[] = ['OUTPUT', 'TOOL_CALL', 'TOOL_RESULT', 'OUTPUT', 'ERROR', 'OUTPUT', 'TOOL_CALL', 'TOOL_RESULT', 'OUTPUT', 'STATUS'];
    await user.ok(RecordTaskEvents, { input: { taskId, events: types.map((type, i) => ({ type, data: { i } })) } });
    const all = await readAll(user, taskId);
    expect(all.map((e) => e.node.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const tools = await readAll(user, taskId, ['TOOL_CALL', 'TOOL_RESULT'], 1);
    expect(tools.map((e) => e.node.seq)).toEqual([2, 3, 7, 8]);
    // The cursor of event 4 (an OUTPUT) in the filtered list of tools: the next one is 7, nothing is skipped.
    const afterFour = await user.ok(TaskEventsPage, { id: taskId, first: 10, after: all[3].cursor, types: ['TOOL_CALL', 'TOOL_RESULT'] });
    expect(afterFour.task!.events.edges.map((e) => e.node.seq)).toEqual([7, 8]);
  });

  it("refuses a cursor of another task's stream, a malformed cursor and first above 100", async () => {
    const user = await t.createUser();
    const a = await newTask(user);
    const b = await newTask(user);
    const recorded = await user.ok(RecordTaskEvents, { input: { taskId: a, events: [{ type: 'OUTPUT', data: 1 }] } });
    expect(codes(await user.gql(TaskEventsPage, { id: b, first: 10, after: recorded.recordTaskEvents.events[0].cursor }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await user.gql(TaskEventsPage, { id: a, first: 10, after: 'garbage' }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await user.gql(TaskEventsPage, { id: a, first: 101 }))).toEqual(['BAD_USER_INPUT']);
  });

  it('finds an event by node(id) for its owner only', async () => {
    const owner = await t.createUser();
    const other = await t.createUser();
    const taskId = await newTask(owner);
    const recorded = await owner.ok(RecordTaskEvents, { input: { taskId, events: [{ type: 'OUTPUT', data: 'mine' }] } });
    const id = recorded.recordTaskEvents.events[0].id;
    expect((await owner.ok(TaskEventNode, { id })).node).toEqual({ id, data: 'mine', seq: 1, task: { id: taskId } });
    const seen = await other.gql(TaskEventNode, { id });
    expect(seen.data?.node ?? null).toBeNull();
    expect(JSON.stringify(seen)).not.toContain('mine');
  });
});
