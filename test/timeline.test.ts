// The unified timeline: keyset pagination under concurrent writes, every filter against SQL, and a
// constant number of SQL queries per page whatever its size (no N+1).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResultOf, TypedDocumentNode } from '@graphql-typed-document-node/core';
import { graphql } from '../src/generated/gql/index.js';
import { codes, createTestDatabase, rawId, startTestServer, type TestDatabase, type TestServer, type TestUser } from './harness.js';
import { advancePhase, appendMessages, createContract, createTask, recordTaskEvents, snapshot, Viewer, type ContractPhase, type HistoryFilter, type MessageInput } from './fixtures.js';

interface Query {
  sql: string;
  params: string;
}

let t: TestServer;
let tdb: TestDatabase;
let counting = false;
const queries: Query[] = [];

beforeAll(async () => {
  tdb = await createTestDatabase({ onQuery: (sql, params) => void (counting && queries.push({ sql, params })) });
  // History pages are read by raw SQL (modules/history/sql.ts): those statements count as well.
  // (Not the token lookup, also raw SQL: it is cached between requests, so it would count only once.)
  const raw = tdb.db.query.bind(tdb.db);
  tdb.db.query = (sql, params) => {
    if (counting && sql.includes('FROM history_events')) queries.push({ sql, params: JSON.stringify(params ?? []) });
    return raw(sql, params);
  };
  // No background sweeps: every query counted below is one the request made.
  t = await startTestServer({ MAKIMA_LEASE_SWEEP_MS: '3600000' }, tdb);
});
afterAll(async () => {
  await t?.stop();
  await tdb?.drop();
});

const TaskHistoryAfter = graphql(`
  query TaskHistoryAfter($id: ID!, $after: String) { task(id: $id) { history(first: 100, after: $after) { edges { node { seq } } } } }
`);
const ContractHistoryPage = graphql(`
  query ContractHistoryPage($id: ID!, $f: HistoryFilter, $after: String) {
    contract(id: $id) { history(first: 100, after: $after, filter: $f) { edges { node { seq } } pageInfo { hasNextPage endCursor } } }
  }
`);
const FilteredTaskHistory = graphql(`
  query FilteredTaskHistory($id: ID!, $f: HistoryFilter) { task(id: $id) { history(first: 100, filter: $f) { edges { node { seq } } } } }
`);
const TimelineWithTasksAndContracts = graphql(`
  query TimelineWithTasksAndContracts($first: Int, $after: String) {
    timeline(first: $first, after: $after) {
      edges { node { eventType phase data task { id name status contract { id phase } } contract { id name phase } } }
      pageInfo { endCursor }
    }
  }
`);
const ContractHistoryWithNames = graphql(`
  query ContractHistoryWithNames($id: ID!, $first: Int) { contract(id: $id) { history(first: $first) { edges { node { eventType task { name } contract { name } } } } } }
`);
const ConversationWithParents = graphql(`
  query ConversationWithParents($id: ID!, $first: Int) { task(id: $id) { conversation(first: $first) { edges { node { index content parent { id } task { id name } } } } } }
`);
const SupervisorConversation = graphql(`
  query SupervisorConversation($id: ID!, $first: Int) { contract(id: $id) { supervisorConversation(first: $first) { edges { node { index task { name } } } } } }
`);
const TaskEventsWithTasks = graphql(`
  query TaskEventsWithTasks($id: ID!, $first: Int) { task(id: $id) { events(first: $first) { edges { node { seq type data task { id name } } } } } }
`);

interface World {
  contractA: string;
  contractB: string;
  tasks: string[];
}

/** Two contracts, four tasks and `writes` + 8 history events spread over tasks, kinds and contract A's five phases. */
async function buildWorld(user: TestUser, writes = 112): Promise<World> {
  const a = await createContract(user, await t.makeRepo(), 'A');
  const b = await createContract(user, await t.makeRepo(), 'B');
  const a1 = (await createTask(user, a.id, 'a1')).id;
  const a2 = (await createTask(user, a.id, 'a2', { continueFromTaskId: a1 })).id;
  const tasks = [a.supervisor.id, a1, a2, b.supervisor.id];
  const phases: ContractPhase[] = ['SPECIFY', 'PLAN', 'EXECUTE', 'REVIEW'];
  const every = Math.floor(writes / 4);
  for (let i = 0; i < writes; i++) {
    if (i % every === every - 1) await advancePhase(user, a.id, phases[(i - every + 1) / every]);
    const task = tasks[i % tasks.length];
    if (i % 3 === 0) await appendMessages(user, task, [{ role: 'USER', content: { i } }]);
    else if (i % 3 === 1) await recordTaskEvents(user, task, [{ type: 'OUTPUT', data: { i } }]);
    else await snapshot(user, task);
  }
  return { contractA: a.id, contractB: b.id, tasks };
}

const timelineQuery = graphql(`
  query TimelinePage($first: Int, $after: String, $last: Int, $before: String, $filter: HistoryFilter) {
    timeline(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
      edges { cursor node { seq cursor eventType phase } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
`);

/** Walks the timeline forward from the newest event; returns the seqs in the order received. */
async function walkForward(user: TestUser, filter: HistoryFilter | null, first = 100, onPage?: () => Promise<void>): Promise<number[]> {
  const seqs: number[] = [];
  let after: string | null = null;
  for (;;) {
    const data: ResultOf<typeof timelineQuery> = await user.ok(timelineQuery, { first, after, filter });
    const page = data.timeline;
    seqs.push(...page.edges.map((e) => Number(e.node.seq)));
    await onPage?.();
    if (!page.pageInfo.hasNextPage) return seqs;
    after = page.pageInfo.endCursor;
  }
}

async function sqlSeqs(where: string, params: unknown[]): Promise<number[]> {
  const rows = await t.db.query<{ seq: string | number | bigint }>(`SELECT seq FROM history_events WHERE ${where} ORDER BY seq DESC`, params);
  return rows.map((r) => Number(r.seq));
}

describe('Query.timeline pagination', () => {
  it('returns every event exactly once, newest first, while new events are written concurrently', async () => {
    const user = await t.createUser();
    const { tasks } = await buildWorld(user, 40);
    // A write lands between every two pages (and one more is in flight while each page is read), so
    // the walk always meets new events, however fast or slow the machine is.
    let written = 0;
    let inFlight: Promise<unknown> = Promise.resolve();
    const write = () => appendMessages(user, tasks[written % tasks.length], [{ role: 'ASSISTANT', content: `concurrent ${written}` }]).then(() => void written++);
    const seqs = await walkForward(user, null, 7, async () => {
      await inFlight;
      await write();
      inFlight = write();
    });
    await inFlight;
    const writtenDuringWalk = written;

    expect(writtenDuringWalk).toBeGreaterThan(0);
    expect(new Set(seqs).size).toBe(seqs.length);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeLessThan(seqs[i - 1]);
    // Exactly the events that existed when the walk began: none skipped, none repeated.
    expect(seqs).toEqual(await sqlSeqs('owner_id = $1 AND seq <= $2', [user.id, seqs[0]]));
    // The events written meanwhile are all there on a fresh walk.
    const again = await walkForward(user, null);
    expect(again).toEqual(await sqlSeqs('owner_id = $1', [user.id]));
    expect(again.length).toBeGreaterThanOrEqual(seqs.length + writtenDuringWalk);
  });

  it('walks backward with last and before through the same events', async () => {
    const user = await t.createUser();
    await buildWorld(user, 40);
    const forward = await walkForward(user, null, 100);
    const backward: number[] = [];
    let before: string | null = null;
    for (;;) {
      const data: ResultOf<typeof timelineQuery> = await user.ok(timelineQuery, { last: 9, before });
      const page = data.timeline;
      backward.unshift(...page.edges.map((e) => Number(e.node.seq)));
      if (!page.pageInfo.hasPreviousPage) break;
      before = page.pageInfo.startCursor;
    }
    expect(backward).toEqual(forward);
  });

  it("accepts an event's cursor from one list as a position in another", async () => {
    const user = await t.createUser();
    const { tasks } = await buildWorld(user, 40);
    const all = (await user.ok(timelineQuery, { first: 100 })).timeline.edges;
    const chat = all.find((e) => e.node.eventType === 'CHAT')!;
    expect(chat.node.cursor).toBe(chat.cursor);
    // Continue a TASK-only list from a CHAT event: the next TASK events, with none skipped.
    const page = await user.ok(timelineQuery, { first: 100, after: chat.cursor, filter: { eventTypes: ['TASK'] } });
    const expected = await sqlSeqs(`owner_id = $1 AND event_type = 'task' AND seq < $2`, [user.id, Number(chat.node.seq)]);
    expect(page.timeline.edges.map((e) => Number(e.node.seq))).toEqual(expected.slice(0, 100));
    const history = await user.ok(TaskHistoryAfter, { id: tasks[1], after: chat.cursor });
    const taskExpected = await sqlSeqs('task_id = $1 AND seq < $2', [rawId(tasks[1]), Number(chat.node.seq)]);
    expect(history.task!.history.edges.map((e) => Number(e.node.seq))).toEqual(taskExpected);
  });

  it('refuses first above 100, a malformed cursor and since after until with BAD_USER_INPUT', async () => {
    const user = await t.createUser();
    expect(codes(await user.gql(timelineQuery, { first: 101 }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await user.gql(timelineQuery, { first: 10, after: 'not-a-cursor' }))).toEqual(['BAD_USER_INPUT']);
    const inverted = { since: '2030-01-02T00:00:00Z', until: '2030-01-01T00:00:00Z' };
    expect(codes(await user.gql(timelineQuery, { first: 10, filter: inverted }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await user.gql(timelineQuery, { first: 10, filter: { since: 'last tuesday' } }))).toEqual(['BAD_USER_INPUT']);
    // Not an event type: sent as it is, for the server to refuse.
    expect(codes(await user.gql(timelineQuery, { first: 10, filter: { eventTypes: ['LUNCH'] } as unknown as HistoryFilter }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await user.gql(timelineQuery, { first: 10, filter: { contractId: 'garbage' } }))).toEqual(['BAD_USER_INPUT']);
  });
});

describe('history filters', () => {
  let user: TestUser;
  let world: World;
  beforeAll(async () => {
    user = await t.createUser();
    world = await buildWorld(user);
    // Another user's events must never be counted.
    await buildWorld(await t.createUser(), 12);
  });

  it('returns exactly the events each filter matches, as a direct SQL query does', async () => {
    const times = await t.db.query<{ created_at: Date }>(`SELECT created_at FROM history_events WHERE owner_id = $1 ORDER BY seq`, [user.id]);
    const since = new Date(times[30].created_at);
    const until = new Date(times[90].created_at);
    const a = rawId(world.contractA);
    const cases: [string, HistoryFilter, string, unknown[]][] = [
      ['no filter', {}, 'true', []],
      ['eventTypes CHAT', { eventTypes: ['CHAT'] }, `event_type = 'chat'`, []],
      ['eventTypes TASK, PHASE', { eventTypes: ['TASK', 'PHASE'] }, `event_type IN ('task', 'phase')`, []],
      ['phases RESEARCH', { phases: ['RESEARCH'] }, `phase = 'research'`, []],
      ['phases PLAN, EXECUTE', { phases: ['PLAN', 'EXECUTE'] }, `phase IN ('plan', 'execute')`, []],
      ['contractId (global ID)', { contractId: world.contractA }, 'contract_id = $2', [a]],
      ['contractId (raw UUID)', { contractId: rawId(world.contractB) }, 'contract_id = $2', [rawId(world.contractB)]],
      ['taskId', { taskId: world.tasks[1] }, 'task_id = $2', [rawId(world.tasks[1])]],
      ['since', { since: since.toISOString() }, 'created_at >= $2', [since]],
      ['until', { until: until.toISOString() }, 'created_at <= $2', [until]],
      ['since and until', { since: since.toISOString(), until: until.toISOString() }, 'created_at >= $2 AND created_at <= $3', [since, until]],
      [
        'types, phases and contract together',
        { eventTypes: ['CHAT', 'TASK'], phases: ['SPECIFY', 'PLAN'], contractId: world.contractA },
        `event_type IN ('chat', 'task') AND phase IN ('specify', 'plan') AND contract_id = $2`,
        [a],
      ],
    ];
    for (const [label, filter, where, params] of cases) {
      const expected = await sqlSeqs(`owner_id = $1 AND ${where}`, [user.id, ...params]);
      const [{ count }] = await t.db.query<{ count: string | number }>(`SELECT count(*) AS count FROM history_events WHERE owner_id = $1 AND ${where}`, [user.id, ...params]);
      expect(Number(count), label).toBeGreaterThan(0);
      const seqs = await walkForward(user, filter, 50);
      expect(seqs.length, label).toBe(Number(count));
      expect(seqs, label).toEqual(expected);
    }
  });

  it('applies the same filters inside Contract.history and Task.history', async () => {
    const contractHistory = ContractHistoryPage;
    const taskHistory = FilteredTaskHistory;
    const seqsOf = (edges: { node: { seq: string } }[]) => edges.map((e) => Number(e.node.seq));
    const a = rawId(world.contractA);
    const contractAll: number[] = [];
    let after: string | null = null;
    do {
      const data: ResultOf<typeof contractHistory> = await user.ok(contractHistory, { id: world.contractA, after });
      const page = data.contract!.history;
      contractAll.push(...seqsOf(page.edges));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after);
    expect(contractAll).toEqual(await sqlSeqs('contract_id = $1', [a]));
    const phased = await user.ok(contractHistory, { id: world.contractA, f: { phases: ['EXECUTE'] } });
    expect(seqsOf(phased.contract!.history.edges)).toEqual(await sqlSeqs(`contract_id = $1 AND phase = 'execute'`, [a]));
    const chat = await user.ok(taskHistory, { id: world.tasks[2], f: { eventTypes: ['CHAT'] } });
    expect(seqsOf(chat.task!.history.edges)).toEqual(await sqlSeqs(`task_id = $1 AND event_type = 'chat'`, [rawId(world.tasks[2])]));
    // A filter naming another task or contract narrows to nothing rather than widening the list.
    const other = await user.ok(taskHistory, { id: world.tasks[2], f: { taskId: world.tasks[1] } });
    expect(other.task!.history.edges).toEqual([]);
    const otherContract = await user.ok(contractHistory, { id: world.contractA, f: { contractId: world.contractB } });
    expect(otherContract.contract!.history.edges).toEqual([]);
  });
});

describe('SQL queries per page', () => {
  let user: TestUser;
  let world: World;
  beforeAll(async () => {
    user = await t.createUser();
    world = await buildWorld(user);
    const supervisor = world.tasks[0];
    await appendMessages(user, supervisor, Array.from({ length: 120 }, (_, i): MessageInput => ({ role: i % 2 ? 'ASSISTANT' : 'USER', content: { i } })));
    await recordTaskEvents(user, supervisor, Array.from({ length: 120 }, (_, i) => ({ type: 'OUTPUT', data: { i } })));
    await user.ok(Viewer); // the token's last-used time is refreshed on the first request only
  });

  async function measure<R, V>(doc: TypedDocumentNode<R, V>, variables: V): Promise<{ data: R; queries: Query[] }> {
    queries.length = 0;
    counting = true;
    try {
      const data = await user.ok(doc, variables);
      // Authentication's own reads and its last-used write (at most once a minute, by whichever
      // request comes then; a loaded machine passes a minute inside this file) are not the page's.
      return { data, queries: queries.filter((q) => !q.sql.includes('api_tokens')) };
    } finally {
      counting = false;
    }
  }

  it('reads a timeline page with nested task and contract in the same few queries at 10 or 100 events', async () => {
    const doc = TimelineWithTasksAndContracts;
    const small = await measure(doc, { first: 10 });
    const large = await measure(doc, { first: 100 });
    const nodes = large.data.timeline.edges.map((e) => e.node);
    expect(nodes).toHaveLength(100);
    expect(new Set(nodes.map((n) => n.task?.id)).size).toBeGreaterThanOrEqual(4);
    expect(new Set(nodes.map((n) => n.contract?.id)).size).toBe(2);
    expect(large.queries.length).toBe(small.queries.length);
    expect(large.queries.length).toBeLessThanOrEqual(6);
    // The next page is a keyset read: a seq condition, and no rows skipped by OFFSET.
    const next = await measure(doc, { first: 100, after: large.data.timeline.pageInfo.endCursor });
    expect(next.queries.length).toBe(large.queries.length);
    const read = next.queries.find((q) => q.sql.includes('FROM history_events'))!;
    expect(read.sql).toMatch(/h\.seq < \$\d+/);
    expect(read.sql).not.toMatch(/OFFSET/);
  });

  it('reads Contract.history, a conversation page and a task events page in constant queries', async () => {
    const pages: [string, TypedDocumentNode<unknown, { id: string; first?: number | null }>, string][] = [
      ['contract history', ContractHistoryWithNames, world.contractA],
      ['conversation', ConversationWithParents, world.tasks[0]],
      ['supervisor conversation', SupervisorConversation, world.contractA],
      ['task events', TaskEventsWithTasks, world.tasks[0]],
    ];
    for (const [label, doc, id] of pages) {
      const small = await measure(doc, { id, first: 10 });
      const large = await measure(doc, { id, first: 100 });
      expect(JSON.stringify(large.data).length, label).toBeGreaterThan(JSON.stringify(small.data).length);
      expect(large.queries.length, label).toBe(small.queries.length);
      expect(large.queries.length, label).toBeLessThanOrEqual(8);
    }
  });
});
