// History events: one per state change, with the contract's phase at that moment; and no user ever
// sees another user's messages, events, snapshots or history, through any field.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, rawId, startTestServer, type TestServer, type TestUser } from './harness.js';

const SNAPSHOT_EVERY = 3;

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ MAKIMA_SNAPSHOT_EVERY: String(SNAPSHOT_EVERY) });
});
afterAll(async () => t?.stop());

const createContract = `mutation($r: String!) { createContract(input: { name: "history", repositoryPath: $r }) { contract { id supervisor { id } } } }`;
const createTask = `mutation($c: ID!, $from: ID) { createTask(input: { contractId: $c, name: "worker", continueFromTaskId: $from }) { task { id } } }`;
const advance = `mutation($c: ID!, $p: ContractPhase!) { advanceContractPhase(input: { contractId: $c, phase: $p }) { contract { phase } } }`;
const append = `mutation($t: ID!, $m: [MessageInput!]!, $head: ID) { appendMessages(input: { taskId: $t, messages: $m, expectedHeadId: $head }) { task { headMessage { id } } messages { id } } }`;
const recordEvents = `mutation($t: ID!, $e: [TaskEventInput!]!) { recordTaskEvents(input: { taskId: $t, events: $e }) { events { id } } }`;
const snapshot = `mutation($t: ID!) { createSnapshot(input: { taskId: $t }) { snapshot { id } } }`;

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
    const created = (await user.ok(createContract, { r: await t.makeRepo() })).createContract.contract;
    const c = rawId(created.id);
    const supervisor = rawId(created.supervisor.id);
    // Creating a contract is two changes: the contract, and its supervisor task.
    expect(brief(await written())).toEqual([
      { type: 'phase', subtype: 'created', phase: 'research', contract: c, task: null },
      { type: 'task', subtype: 'created', phase: 'research', contract: c, task: supervisor },
    ]);

    const worker = (await user.ok(createTask, { c: created.id })).createTask.task.id;
    expect(brief(await written())).toEqual([{ type: 'task', subtype: 'created', phase: 'research', contract: c, task: rawId(worker) }]);

    await user.ok(advance, { c: created.id, p: 'SPECIFY' });
    const phaseChange = await written();
    expect(brief(phaseChange)).toEqual([{ type: 'phase', subtype: 'changed', phase: 'specify', contract: c, task: null }]);
    expect(phaseChange[0].event_data).toEqual({ from: 'RESEARCH', to: 'SPECIFY' });

    // Enough messages for an AUTO snapshot: still one event for the one append.
    const appended = await user.ok(append, { t: worker, m: Array.from({ length: SNAPSHOT_EVERY + 1 }, (_, i) => ({ role: 'USER', content: i })) });
    const chat = await written();
    expect(brief(chat)).toEqual([{ type: 'chat', subtype: 'message', phase: 'specify', contract: c, task: rawId(worker) }]);
    expect(chat[0].event_data).toMatchObject({ count: SNAPSHOT_EVERY + 1, messageCount: SNAPSHOT_EVERY + 1, headId: rawId(appended.appendMessages.task.headMessage.id) });

    await user.ok(recordEvents, { t: worker, e: [{ type: 'TOOL_CALL', data: { tool: 'grep' } }] });
    expect(brief(await written())).toEqual([{ type: 'task', subtype: 'output', phase: 'specify', contract: c, task: rawId(worker) }]);

    await user.ok(snapshot, { t: worker });
    expect(brief(await written())).toEqual([{ type: 'chat', subtype: 'snapshot', phase: 'specify', contract: c, task: rawId(worker) }]);

    await user.ok(advance, { c: created.id, p: 'EXECUTE' });
    expect(brief(await written())).toEqual([{ type: 'phase', subtype: 'changed', phase: 'execute', contract: c, task: null }]);

    const continued = (await user.ok(createTask, { c: created.id, from: worker })).createTask.task.id;
    const continuation = await written();
    expect(brief(continuation)).toEqual([{ type: 'task', subtype: 'continued', phase: 'execute', contract: c, task: rawId(continued) }]);
    expect(continuation[0].event_data).toMatchObject({ fromTaskId: rawId(worker) });

    // Refused changes write nothing.
    expect(codes(await user.gql(advance, { c: created.id, p: 'PLAN' }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await user.gql(append, { t: worker, m: [{ role: 'USER', content: 'stale' }], head: appended.appendMessages.messages[0].id }))).toEqual(['CONFLICT']);
    expect(codes(await user.gql(recordEvents, { t: worker, e: [] }))).toEqual(['BAD_USER_INPUT']);
    expect(await written()).toEqual([]);
  });

  it('reads back through Contract.history and Task.history newest first, with a cursor that is the edge cursor', async () => {
    const user = await t.createUser();
    const created = (await user.ok(createContract, { r: await t.makeRepo() })).createContract.contract;
    await user.ok(advance, { c: created.id, p: 'PLAN' });
    await user.ok(append, { t: created.supervisor.id, m: [{ role: 'USER', content: 'plan it' }] });
    const result = await user.ok(
      `query($c: ID!, $t: ID!) {
        contract(id: $c) { history(first: 10) { edges { cursor node { cursor eventType eventSubtype phase contract { id } task { id } } } } }
        task(id: $t) { history(first: 10) { edges { node { eventType eventSubtype } } } }
      }`,
      { c: created.id, t: created.supervisor.id },
    );
    const edges = result.contract.history.edges;
    expect(edges.map((e: { node: { eventType: string; eventSubtype: string; phase: string } }) => [e.node.eventType, e.node.eventSubtype, e.node.phase])).toEqual([
      ['CHAT', 'message', 'PLAN'],
      ['PHASE', 'changed', 'PLAN'],
      ['TASK', 'created', 'RESEARCH'],
      ['PHASE', 'created', 'RESEARCH'],
    ]);
    for (const e of edges) expect(e.node.cursor).toBe(e.cursor);
    expect(edges[0].node.task.id).toBe(created.supervisor.id);
    expect(edges[3].node.task).toBeNull();
    expect(result.task.history.edges.map((e: { node: { eventSubtype: string } }) => e.node.eventSubtype)).toEqual(['message', 'created']);
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
    const created = (await owner.ok(createContract, { r: await t.makeRepo() })).createContract.contract;
    ids.Contract = created.id;
    ids.Task = created.supervisor.id;
    const appended = await owner.ok(append, { t: ids.Task, m: [{ role: 'USER', content: SECRET }, { role: 'ASSISTANT', content: SECRET }] });
    ids.ConversationMessage = appended.appendMessages.messages[1].id;
    ids.TaskEvent = (await owner.ok(recordEvents, { t: ids.Task, e: [{ type: 'OUTPUT', data: SECRET }] })).recordTaskEvents.events[0].id;
    ids.ConversationSnapshot = (await owner.ok(snapshot, { t: ids.Task })).createSnapshot.snapshot.id;
    ids.HistoryEvent = (await owner.ok(`{ timeline(first: 1) { edges { node { id } } } }`)).timeline.edges[0].node.id;
    // The intruder has data of their own, so that empty answers are not empty by accident.
    const own = (await intruder.ok(createContract, { r: await t.makeRepo() })).createContract.contract;
    ids.intruderTask = own.supervisor.id;
    await intruder.ok(append, { t: own.supervisor.id, m: [{ role: 'USER', content: 'mine' }] });
  });

  const leaks = (result: unknown) => JSON.stringify(result).includes(SECRET);

  it("does not find another user's objects by node(id) or nodes(ids), and answers a raw UUID as it would for the owner", async () => {
    const nodeQuery = `query($id: ID!) { node(id: $id) { id __typename } }`;
    for (const [typename, id] of Object.entries(ids).filter(([k]) => k !== 'intruderTask')) {
      expect((await owner.ok(nodeQuery, { id })).node, typename).toEqual({ id, __typename: typename });
      const result = await intruder.gql(nodeQuery, { id });
      expect(result.data?.node ?? null, typename).toBeNull();
      expect(codes(result).every((c) => c === 'NOT_FOUND'), typename).toBe(true);
      // A raw UUID names no type, so node() cannot take it; the answer is the owner's answer, word for word.
      expect(await intruder.gql(nodeQuery, { id: rawId(id) }), typename).toEqual(await owner.gql(nodeQuery, { id: rawId(id) }));
    }
    const all = Object.entries(ids).filter(([k]) => k !== 'intruderTask').map(([, id]) => id);
    const nodes = await intruder.gql(`query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, { ids: all });
    expect((nodes.data?.nodes ?? []).filter(Boolean)).toEqual([]);
    expect(leaks(nodes)).toBe(false);
  });

  it("refuses another user's contract and task as NOT_FOUND, with none of their fields", async () => {
    const result = await intruder.gql(
      `query($c: ID!, $t: ID!) {
        contract(id: $c) { history(first: 10) { edges { node { data } } } supervisorConversation(first: 10) { edges { node { content } } } }
        task(id: $t) { conversation(first: 10) { edges { node { content } } } events(first: 10) { edges { node { data } } } snapshots(first: 10) { edges { node { id } } } history(first: 10) { edges { node { data } } } }
      }`,
      { c: ids.Contract, t: ids.Task },
    );
    expect(codes(result).sort()).toEqual(['NOT_FOUND', 'NOT_FOUND']);
    expect(leaks(result)).toBe(false);
  });

  it("keeps another user's events out of the timeline, whatever the filter", async () => {
    const query = `query($f: HistoryFilter) { timeline(first: 100, filter: $f) { edges { node { data task { id } contract { id } } } } }`;
    const own = await intruder.ok(query, {});
    expect(own.timeline.edges.length).toBeGreaterThan(0);
    expect(own.timeline.edges.every((e: { node: { task: { id: string } | null } }) => !e.node.task || e.node.task.id === ids.intruderTask)).toBe(true);
    for (const f of [{ contractId: ids.Contract }, { taskId: ids.Task }, { contractId: rawId(ids.Contract) }]) {
      const result = await intruder.ok(query, { f });
      expect(result.timeline.edges, JSON.stringify(f)).toEqual([]);
    }
    expect(leaks(own)).toBe(false);
  });

  it("refuses to write to another user's task or contract and writes nothing", async () => {
    const count = () => t.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM history_events WHERE owner_id = $1`, [owner.id]);
    const before = await count();
    const attempts: [string, Record<string, unknown>][] = [
      [append, { t: ids.Task, m: [{ role: 'USER', content: 'injected' }] }],
      [recordEvents, { t: ids.Task, e: [{ type: 'OUTPUT', data: 'injected' }] }],
      [snapshot, { t: ids.Task }],
      [advance, { c: ids.Contract, p: 'DONE' }],
      [createTask, { c: ids.Contract }],
      [createTask, { c: (await intruder.ok(`{ contracts(first: 1) { edges { node { id } } } }`)).contracts.edges[0].node.id, from: ids.Task }],
    ];
    for (const [doc, variables] of attempts) expect(codes(await intruder.gql(doc, variables)), doc).toEqual(['NOT_FOUND']);
    expect(await count()).toEqual(before);
    const injected = await t.db.query(`SELECT id FROM conversation_messages WHERE content = '"injected"'::jsonb UNION ALL SELECT id FROM task_events WHERE data = '"injected"'::jsonb`);
    expect(injected).toEqual([]);
  });

  it("refuses another user's snapshot as atSnapshot without showing it", async () => {
    const result = await intruder.gql(`query($t: ID!, $s: ID) { task(id: $t) { conversation(first: 10, atSnapshot: $s) { edges { node { content } } } } }`, {
      t: ids.intruderTask,
      s: ids.ConversationSnapshot,
    });
    expect(codes(result)).toEqual(['BAD_USER_INPUT']);
    expect(leaks(result)).toBe(false);
  });
});
