// History events: one per state change, with the contract's phase at that moment; and no user ever
// sees another user's messages, events, snapshots or history, through any field.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../src/generated/gql/index.js';
import { codes, rawId, startTestServer, type TestServer, type TestUser } from './harness.js';
import {
  AdvancePhase,
  advancePhase,
  AppendMessages,
  appendMessages,
  createContract,
  CreateSnapshot,
  CreateTask,
  createTask,
  RecordTaskEvents,
  recordTaskEvents,
  snapshot,
} from './fixtures.js';

const SNAPSHOT_EVERY = 3;

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ MAKIMA_SNAPSHOT_EVERY: String(SNAPSHOT_EVERY) });
});
afterAll(async () => t?.stop());

const ContractAndTaskHistory = graphql(`
  query ContractAndTaskHistory($c: ID!, $t: ID!) {
    contract(id: $c) { history(first: 10) { edges { cursor node { cursor eventType eventSubtype phase contract { id } task { id } } } } }
    task(id: $t) { history(first: 10) { edges { node { eventType eventSubtype } } } }
  }
`);
const NewestEventId = graphql(`
  query NewestEventId { timeline(first: 1) { edges { node { id } } } }
`);
const NodeType = graphql(`
  query NodeType($id: ID!) { node(id: $id) { id __typename } }
`);
const NodeIds = graphql(`
  query NodeIds($ids: [ID!]!) { nodes(ids: $ids) { id } }
`);
const EverythingOfContractAndTask = graphql(`
  query EverythingOfContractAndTask($c: ID!, $t: ID!) {
    contract(id: $c) { history(first: 10) { edges { node { data } } } supervisorConversation(first: 10) { edges { node { content } } } }
    task(id: $t) {
      conversation(first: 10) { edges { node { content } } }
      events(first: 10) { edges { node { data } } }
      snapshots(first: 10) { edges { node { id } } }
      history(first: 10) { edges { node { data } } }
    }
  }
`);
const FilteredTimeline = graphql(`
  query FilteredTimeline($f: HistoryFilter) { timeline(first: 100, filter: $f) { edges { node { data task { id } contract { id } } } } }
`);
const FirstContract = graphql(`
  query FirstContract { contracts(first: 1) { edges { node { id } } } }
`);
const ConversationAtSnapshot = graphql(`
  query ConversationAtSnapshot($t: ID!, $s: ID) { task(id: $t) { conversation(first: 10, atSnapshot: $s) { edges { node { content } } } } }
`);

/** A contract named "history" on a new repository. */
async function newContract(user: TestUser) {
  return createContract(user, await t.makeRepo(), 'history');
}

interface Row {
  seq: string;
  event_type: string;
  event_subtype: string;
  phase: string | null;
  contract_id: string | null;
  task_id: string | null;
  event_data: Record<string, unknown>;
}

/** Reads the history events a step wrote: those after the last seq seen. */
function historyReader(user: TestUser) {
  let last = 0;
  return async (): Promise<Row[]> => {
    const rows = await t.db.query<Row>(
      `SELECT seq::text, event_type::text, event_subtype, phase::text, contract_id::text, task_id::text, event_data
         FROM history_events WHERE owner_id = $1 AND seq > $2 ORDER BY seq`,
      [user.id, last],
    );
    if (rows.length) last = Number(rows[rows.length - 1].seq);
    return rows;
  };
}

const brief = (rows: Row[]) => rows.map((r) => ({ type: r.event_type, subtype: r.event_subtype, phase: r.phase, contract: r.contract_id, task: r.task_id }));

describe('history events', () => {
  it("writes exactly one event per state change, with the contract's phase at that moment, and none for a refused change", async () => {
    const user = await t.createUser();
    const written = historyReader(user);
    const created = await newContract(user);
    const c = rawId(created.id);
    const supervisor = rawId(created.supervisor.id);
    // Creating a contract is two changes: the contract, and its supervisor task.
    expect(brief(await written())).toEqual([
      { type: 'phase', subtype: 'created', phase: 'research', contract: c, task: null },
      { type: 'task', subtype: 'created', phase: 'research', contract: c, task: supervisor },
    ]);

    const worker = (await createTask(user, created.id, 'worker')).id;
    expect(brief(await written())).toEqual([{ type: 'task', subtype: 'created', phase: 'research', contract: c, task: rawId(worker) }]);

    await advancePhase(user, created.id, 'SPECIFY');
    const phaseChange = await written();
    expect(brief(phaseChange)).toEqual([{ type: 'phase', subtype: 'changed', phase: 'specify', contract: c, task: null }]);
    expect(phaseChange[0].event_data).toEqual({ from: 'RESEARCH', to: 'SPECIFY' });

    // Enough messages for an AUTO snapshot: still one event for the one append.
    const appended = await appendMessages(user, worker, Array.from({ length: SNAPSHOT_EVERY + 1 }, (_, i) => ({ role: 'USER', content: i })));
    const chat = await written();
    expect(brief(chat)).toEqual([{ type: 'chat', subtype: 'message', phase: 'specify', contract: c, task: rawId(worker) }]);
    expect(chat[0].event_data).toMatchObject({ count: SNAPSHOT_EVERY + 1, messageCount: SNAPSHOT_EVERY + 1, headId: rawId(appended.task.headMessage!.id) });

    await recordTaskEvents(user, worker, [{ type: 'TOOL_CALL', data: { tool: 'grep' } }]);
    expect(brief(await written())).toEqual([{ type: 'task', subtype: 'output', phase: 'specify', contract: c, task: rawId(worker) }]);

    await snapshot(user, worker);
    expect(brief(await written())).toEqual([{ type: 'chat', subtype: 'snapshot', phase: 'specify', contract: c, task: rawId(worker) }]);

    await advancePhase(user, created.id, 'EXECUTE');
    expect(brief(await written())).toEqual([{ type: 'phase', subtype: 'changed', phase: 'execute', contract: c, task: null }]);

    const continued = (await createTask(user, created.id, 'worker', { continueFromTaskId: worker })).id;
    const continuation = await written();
    expect(brief(continuation)).toEqual([{ type: 'task', subtype: 'continued', phase: 'execute', contract: c, task: rawId(continued) }]);
    expect(continuation[0].event_data).toMatchObject({ fromTaskId: rawId(worker) });

    // Refused changes write nothing.
    expect(codes(await user.gql(AdvancePhase, { input: { contractId: created.id, phase: 'PLAN' } }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await user.gql(AppendMessages, { input: { taskId: worker, messages: [{ role: 'USER', content: 'stale' }], expectedHeadId: appended.messages[0].id } }))).toEqual(['CONFLICT']);
    expect(codes(await user.gql(RecordTaskEvents, { input: { taskId: worker, events: [] } }))).toEqual(['BAD_USER_INPUT']);
    expect(await written()).toEqual([]);
  });

  it('reads back through Contract.history and Task.history newest first, with a cursor that is the edge cursor', async () => {
    const user = await t.createUser();
    const created = await newContract(user);
    await advancePhase(user, created.id, 'PLAN');
    await appendMessages(user, created.supervisor.id, [{ role: 'USER', content: 'plan it' }]);
    const result = await user.ok(ContractAndTaskHistory, { c: created.id, t: created.supervisor.id });
    const edges = result.contract!.history.edges;
    expect(edges.map((e) => [e.node.eventType, e.node.eventSubtype, e.node.phase])).toEqual([
      ['CHAT', 'message', 'PLAN'],
      ['PHASE', 'changed', 'PLAN'],
      ['TASK', 'created', 'RESEARCH'],
      ['PHASE', 'created', 'RESEARCH'],
    ]);
    for (const e of edges) expect(e.node.cursor).toBe(e.cursor);
    expect(edges[0].node.task!.id).toBe(created.supervisor.id);
    expect(edges[3].node.task).toBeNull();
    expect(result.task!.history.edges.map((e) => e.node.eventSubtype)).toEqual(['message', 'created']);
  });
});

describe('isolation between users', () => {
  let owner: TestUser;
  let intruder: TestUser;
  const ids: Record<string, string> = {};
  const SECRET = 'owner-only-secret';

  beforeAll(async () => {
    owner = await t.createUser('owner');
    intruder = await t.createUser('intruder');
    const created = await newContract(owner);
    ids.Contract = created.id;
    ids.Task = created.supervisor.id;
    const appended = await appendMessages(owner, ids.Task, [{ role: 'USER', content: SECRET }, { role: 'ASSISTANT', content: SECRET }]);
    ids.ConversationMessage = appended.messages[1].id;
    ids.TaskEvent = (await recordTaskEvents(owner, ids.Task, [{ type: 'OUTPUT', data: SECRET }]))[0].id;
    ids.ConversationSnapshot = (await snapshot(owner, ids.Task)).id;
    ids.HistoryEvent = (await owner.ok(NewestEventId)).timeline.edges[0].node.id;
    // The intruder has data of their own, so that empty answers are not empty by accident.
    const own = await newContract(intruder);
    ids.intruderTask = own.supervisor.id;
    await appendMessages(intruder, own.supervisor.id, [{ role: 'USER', content: 'mine' }]);
  });

  const leaks = (result: unknown) => JSON.stringify(result).includes(SECRET);

  it("does not find another user's objects by node(id) or nodes(ids), and answers a raw UUID as it would for the owner", async () => {
    const nodeQuery = NodeType;
    for (const [typename, id] of Object.entries(ids).filter(([k]) => k !== 'intruderTask')) {
      expect((await owner.ok(nodeQuery, { id })).node, typename).toEqual({ id, __typename: typename });
      const result = await intruder.gql(nodeQuery, { id });
      expect(result.data?.node ?? null, typename).toBeNull();
      expect(codes(result).every((c) => c === 'NOT_FOUND'), typename).toBe(true);
      // A raw UUID names no type, so node() cannot take it; the answer is the owner's answer, word for word.
      expect(await intruder.gql(nodeQuery, { id: rawId(id) }), typename).toEqual(await owner.gql(nodeQuery, { id: rawId(id) }));
    }
    const all = Object.entries(ids).filter(([k]) => k !== 'intruderTask').map(([, id]) => id);
    const nodes = await intruder.gql(NodeIds, { ids: all });
    expect((nodes.data?.nodes ?? []).filter(Boolean)).toEqual([]);
    expect(leaks(nodes)).toBe(false);
  });

  it("refuses another user's contract and task as NOT_FOUND, with none of their fields", async () => {
    const result = await intruder.gql(EverythingOfContractAndTask, { c: ids.Contract, t: ids.Task });
    expect(codes(result).sort()).toEqual(['NOT_FOUND', 'NOT_FOUND']);
    expect(leaks(result)).toBe(false);
  });

  it("keeps another user's events out of the timeline, whatever the filter", async () => {
    const own = await intruder.ok(FilteredTimeline, {});
    expect(own.timeline.edges.length).toBeGreaterThan(0);
    expect(own.timeline.edges.every((e) => !e.node.task || e.node.task.id === ids.intruderTask)).toBe(true);
    for (const f of [{ contractId: ids.Contract }, { taskId: ids.Task }, { contractId: rawId(ids.Contract) }]) {
      const result = await intruder.ok(FilteredTimeline, { f });
      expect(result.timeline.edges, JSON.stringify(f)).toEqual([]);
    }
    expect(leaks(own)).toBe(false);
  });

  it("refuses to write to another user's task or contract and writes nothing", async () => {
    const count = () => t.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM history_events WHERE owner_id = $1`, [owner.id]);
    const before = await count();
    const ownContract = (await intruder.ok(FirstContract)).contracts.edges[0].node.id;
    const attempts: [string, () => Promise<{ errors?: readonly { extensions?: Record<string, unknown> }[] }>][] = [
      ['appendMessages', () => intruder.gql(AppendMessages, { input: { taskId: ids.Task, messages: [{ role: 'USER', content: 'injected' }] } })],
      ['recordTaskEvents', () => intruder.gql(RecordTaskEvents, { input: { taskId: ids.Task, events: [{ type: 'OUTPUT', data: 'injected' }] } })],
      ['createSnapshot', () => intruder.gql(CreateSnapshot, { input: { taskId: ids.Task } })],
      ['advanceContractPhase', () => intruder.gql(AdvancePhase, { input: { contractId: ids.Contract, phase: 'DONE' } })],
      ['createTask', () => intruder.gql(CreateTask, { input: { contractId: ids.Contract, name: 'worker' } })],
      ['createTask continuing', () => intruder.gql(CreateTask, { input: { contractId: ownContract, name: 'worker', continueFromTaskId: ids.Task } })],
    ];
    for (const [label, attempt] of attempts) expect(codes(await attempt()), label).toEqual(['NOT_FOUND']);
    expect(await count()).toEqual(before);
    const injected = await t.db.query(`SELECT id FROM conversation_messages WHERE content = '"injected"'::jsonb UNION ALL SELECT id FROM task_events WHERE data = '"injected"'::jsonb`);
    expect(injected).toEqual([]);
  });

  it("refuses another user's snapshot as atSnapshot without showing it", async () => {
    const result = await intruder.gql(ConversationAtSnapshot, {
      t: ids.intruderTask,
      s: ids.ConversationSnapshot,
    });
    expect(codes(result)).toEqual(['BAD_USER_INPUT']);
    expect(leaks(result)).toBe(false);
  });
});
