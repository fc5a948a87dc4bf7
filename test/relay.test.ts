// Relay details that real clients (Apollo's relayStylePagination, Relay's nodes) depend on:
// `nodes(ids:)` is null per missing id; an empty page has null cursors; every cursor the server
// returns is accepted back; `first` with `last` is refused on every connection.
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, eventually, startTestServer, type TestServer, type TestUser } from './harness.js';
import { collect, wsClient } from './ws-client.js';

let t: TestServer;
let user: TestUser;
let contractId: string;
let taskId: string;
beforeAll(async () => {
  t = await startTestServer();
  user = await t.createUser();
  const data = await user.ok(`mutation($r: String!) { createContract(input: { name: "relay", repositoryPath: $r }) { contract { id supervisor { id } } } }`, { r: await t.makeRepo() });
  contractId = data.createContract.contract.id;
  taskId = data.createContract.contract.supervisor.id;
});
afterAll(async () => t?.stop());

const globalId = (typename: string, id: string) => Buffer.from(`${typename}:${id}`).toString('base64');

async function newTask(): Promise<string> {
  const data = await user.ok(`mutation($c: ID!) { createTask(input: { contractId: $c, name: "t", prompt: "p" }) { task { id } } }`, { c: contractId });
  return data.createTask.task.id;
}

async function append(task: string, count: number): Promise<void> {
  const messages = Array.from({ length: count }, (_, i) => ({ role: 'USER', content: `m${i}` }));
  await user.ok(`mutation($t: ID!, $m: [MessageInput!]!) { appendMessages(input: { taskId: $t, messages: $m }) { task { id } } }`, { t: task, m: messages });
}

describe('nodes(ids:)', () => {
  it('answers null in the position of each id it cannot resolve, and the other nodes in theirs', async () => {
    const other = await t.createUser('other');
    const foreign = await other.ok(`mutation($r: String!) { createContract(input: { name: "x", repositoryPath: $r }) { contract { id } } }`, { r: await t.makeRepo() });
    const ids = [
      contractId,
      globalId('Contract', crypto.randomUUID()), // missing
      taskId,
      foreign.createContract.contract.id, // another user's
      contractId, // twice
    ];
    const result = await user.gql(`query($ids: [ID!]!) { nodes(ids: $ids) { id __typename } }`, { ids });
    expect(result.errors).toBeUndefined();
    expect(result.data?.nodes).toEqual([
      { id: contractId, __typename: 'Contract' },
      null,
      { id: taskId, __typename: 'Task' },
      null,
      { id: contractId, __typename: 'Contract' },
    ]);
    // An id that is not an id at all is the client's mistake, refused before anything runs.
    const malformed = await user.gql(`query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, { ids: [contractId, globalId('Task', 'not-a-uuid')] });
    expect(codes(malformed)).toEqual(['BAD_USER_INPUT']);
  });

  it('still answers node(id:) of a missing id with NOT_FOUND', async () => {
    const result = await user.gql(`query($id: ID!) { node(id: $id) { id } }`, { id: globalId('Contract', crypto.randomUUID()) });
    expect(result.data?.node ?? null).toBeNull();
    expect(codes(result)).toEqual(['NOT_FOUND']);
  });
});

/** Every connection of a task, contract or snapshot, as `name: field(args) { … }` with a page size placeholder. */
const TASK_CONNECTIONS = ['conversation', 'events', 'snapshots', 'checkpoints', 'forks', 'history'];
const CONTRACT_CONNECTIONS = ['supervisorConversation', 'tasks', 'history'];
const PAGE = `edges { cursor } pageInfo { startCursor endCursor hasNextPage hasPreviousPage }`;

type Page = { edges: { cursor: string }[]; pageInfo: { startCursor: string | null; endCursor: string | null; hasNextPage: boolean; hasPreviousPage: boolean } };

describe('an empty page', () => {
  it('has null cursors, on every connection, paging forward or backward', async () => {
    const task = await newTask();
    // A snapshot of an empty conversation, taken of another task so that this one has none.
    const snapshot = (await user.ok(`mutation($t: ID!) { createSnapshot(input: { taskId: $t }) { snapshot { id } } }`, { t: await newTask() })).createSnapshot.snapshot.id;
    for (const args of ['first: 10', 'last: 10']) {
      const query = `query($t: ID!, $c: ID!, $s: ID!) {
        task(id: $t) { ${TASK_CONNECTIONS.map((f) => `${f}(${args}${f === 'history' ? ', filter: { eventTypes: [FILE] }' : ''}) { ${PAGE} }`).join(' ')} }
        contract(id: $c) { ${CONTRACT_CONNECTIONS.map((f) => `${f}(${args}${f === 'tasks' ? ', status: [COMPLETED]' : f === 'history' ? ', filter: { eventTypes: [FILE] }' : ''}) { ${PAGE} }`).join(' ')} }
        node(id: $s) { ... on ConversationSnapshot { messages(${args}) { ${PAGE} } } }
        timeline(${args}, filter: { eventTypes: [FILE] }) { ${PAGE} }
      }`;
      const data = await user.ok(query, { t: task, c: contractId, s: snapshot });
      const pages: [string, Page][] = [
        ...TASK_CONNECTIONS.map((f) => [`Task.${f}`, data.task[f]] as [string, Page]),
        ...CONTRACT_CONNECTIONS.map((f) => [`Contract.${f}`, data.contract[f]] as [string, Page]),
        ['ConversationSnapshot.messages', data.node.messages],
        ['Query.timeline', data.timeline],
      ];
      // (No test in this file writes to the supervisor's conversation.)
      for (const [what, page] of pages) {
        expect(page.edges, `${what} (${args})`).toEqual([]);
        expect(page.pageInfo, `${what} (${args})`).toMatchObject({ startCursor: null, endCursor: null });
      }
    }
  });

  it('of a conversation after its last message has null cursors; polling with the last cursor picks up new messages', async () => {
    // What Apollo's relayStylePagination does with a new task: page, then poll with `after: endCursor`.
    const task = await newTask();
    const query = `query($t: ID!, $after: String) { task(id: $t) { conversation(first: 10, after: $after) { edges { cursor node { content } } pageInfo { startCursor endCursor hasNextPage } } } }`;
    const poll = async (after: string | null) => (await user.ok(query, { t: task, after })).task.conversation;

    const empty = await poll(null);
    expect(empty.pageInfo).toEqual({ startCursor: null, endCursor: null, hasNextPage: false });
    expect((await poll(empty.pageInfo.endCursor)).edges).toEqual([]);

    await append(task, 2);
    const two = await poll(empty.pageInfo.endCursor);
    expect(two.edges.map((e: { node: { content: string } }) => e.node.content)).toEqual(['m0', 'm1']);
    expect(two.pageInfo.endCursor).toBe(two.edges[1].cursor);

    const none = await poll(two.pageInfo.endCursor);
    expect(none).toEqual({ edges: [], pageInfo: { startCursor: null, endCursor: null, hasNextPage: false } });

    await append(task, 1);
    const next = await poll(two.pageInfo.endCursor);
    expect(next.edges.map((e: { node: { content: string } }) => e.node.content)).toEqual(['m0']);
  });
});

describe('every cursor the server returns', () => {
  it('is accepted back as after and as before, on every connection', async () => {
    const task = await newTask();
    await append(task, 3);
    await user.ok(`mutation($t: ID!) { createSnapshot(input: { taskId: $t }) { snapshot { id } } }`, { t: task });
    await user.ok(`mutation($t: ID!) { recordTaskEvents(input: { taskId: $t, events: [{ type: OUTPUT, data: "a" }, { type: OUTPUT, data: "b" }] }) { events { id } } }`, { t: task });
    const snapshot = (await user.ok(`mutation($t: ID!) { createSnapshot(input: { taskId: $t }) { snapshot { id } } }`, { t: task })).createSnapshot.snapshot.id;
    const fields: [string, string, string][] = [
      ...TASK_CONNECTIONS.map((f) => [`Task.${f}`, `query($id: ID!, $after: String, $before: String, $first: Int, $last: Int) { node: task(id: $id) { page: ${f}(first: $first, last: $last, after: $after, before: $before) { ${PAGE} } } }`, task] as [string, string, string]),
      ...CONTRACT_CONNECTIONS.map((f) => [`Contract.${f}`, `query($id: ID!, $after: String, $before: String, $first: Int, $last: Int) { node: contract(id: $id) { page: ${f}(first: $first, last: $last, after: $after, before: $before) { ${PAGE} } } }`, contractId] as [string, string, string]),
      ['ConversationSnapshot.messages', `query($id: ID!, $after: String, $before: String, $first: Int, $last: Int) { node(id: $id) { ... on ConversationSnapshot { page: messages(first: $first, last: $last, after: $after, before: $before) { ${PAGE} } } } }`, snapshot],
      ['Query.timeline', `query($after: String, $before: String, $first: Int, $last: Int) { page: timeline(first: $first, last: $last, after: $after, before: $before) { ${PAGE} } }`, ''],
    ];
    for (const [what, query, id] of fields) {
      const run = (vars: Record<string, unknown>) => user.gql(query, id ? { id, ...vars } : vars);
      const pageOf = (r: { data?: any }): Page => r.data?.page ?? r.data?.node?.page;
      for (const first of [{ first: 2 }, { last: 2 }, { first: 0 }]) {
        const result = await run(first);
        expect(result.errors, `${what} ${JSON.stringify(first)}`).toBeUndefined();
        const page = pageOf(result);
        const cursors = [page.pageInfo.startCursor, page.pageInfo.endCursor, ...page.edges.map((e) => e.cursor)];
        for (const cursor of cursors) {
          for (const vars of [{ first: 2, after: cursor }, { last: 2, before: cursor }]) {
            const back = await run(vars);
            expect(back.errors, `${what}: ${JSON.stringify(vars)}`).toBeUndefined();
          }
        }
      }
    }
  });
});

describe('first together with last', () => {
  const connections: [string, string][] = [
    ['Query.contracts', `{ contracts(first: 1, last: 1) { edges { cursor } } }`],
    ['Query.timeline', `{ timeline(first: 1, last: 1) { edges { cursor } } }`],
    ...TASK_CONNECTIONS.map((f) => [`Task.${f}`, `query($id: ID!) { task(id: $id) { ${f}(first: 1, last: 1) { edges { cursor } } } }`] as [string, string]),
    ...CONTRACT_CONNECTIONS.map((f) => [`Contract.${f}`, `query($id: ID!) { contract(id: $id) { ${f}(first: 1, last: 1) { edges { cursor } } } }`] as [string, string]),
    ['ConversationSnapshot.messages', `query($id: ID!) { node(id: $id) { ... on ConversationSnapshot { messages(first: 1, last: 1) { edges { cursor } } } } }`],
  ];

  it('is BAD_USER_INPUT naming the field, on every connection', async () => {
    const snapshot = (await user.ok(`mutation($t: ID!) { createSnapshot(input: { taskId: $t }) { snapshot { id } } }`, { t: taskId })).createSnapshot.snapshot.id;
    for (const [what, query] of connections) {
      const id = what.startsWith('Task.') ? taskId : what.startsWith('Contract.') ? contractId : snapshot;
      const result = await user.gql(query, query.includes('$id') ? { id } : undefined);
      expect(codes(result), what).toEqual(['BAD_USER_INPUT']);
      expect(result.errors?.[0].message, what).toBe(`${what}: first and last cannot be used together — pass first (with after) to page forward, or last (with before) to page backward`);
      expect(result.data ?? null, what).toBeNull();
    }
  });

  it('is refused through variables, defaults and fragments; a null last is not given', async () => {
    const query = `query($f: Int, $l: Int) { contracts(first: $f, last: $l) { edges { cursor } } }`;
    expect(codes(await user.gql(query, { f: 1, l: 1 }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await user.gql(query, { f: 1, l: null }))).toEqual([]);
    expect(codes(await user.gql(query, { f: 1 }))).toEqual([]);
    expect(codes(await user.gql(query, { l: 1 }))).toEqual([]);
    expect(codes(await user.gql(`query($l: Int = 3) { contracts(first: 1, last: $l) { edges { cursor } } }`))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await user.gql(`query { ...F } fragment F on Query { contracts(first: 1, last: 1) { edges { cursor } } }`))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await user.gql(`{ contracts(first: 1, last: null) { edges { cursor } } }`))).toEqual([]);
  });
});

describe('an empty cursor', () => {
  it('is no cursor, as after or before, as a literal or a variable, on connections and subscriptions', async () => {
    // Apollo Client's relayStylePagination keeps an empty page's endCursor as "" and sends it back.
    const task = await newTask();
    await append(task, 2);
    const query = `query($t: ID!, $after: String, $before: String) {
      task(id: $t) { forward: conversation(first: 10, after: $after) { edges { node { content } } } backward: conversation(last: 10, before: $before) { edges { node { content } } } }
    }`;
    const data = await user.ok(query, { t: task, after: '', before: '' });
    expect(data.task.forward.edges.map((e: { node: { content: string } }) => e.node.content)).toEqual(['m0', 'm1']);
    expect(data.task.backward.edges).toHaveLength(2);
    expect((await user.ok(`{ contracts(first: 5, after: "") { edges { cursor } } timeline(last: 1, before: "") { edges { cursor } } }`)).contracts.edges.length).toBeGreaterThan(0);
    // Another malformed cursor is still refused.
    expect(codes(await user.gql(query, { t: task, after: 'x' }))).toEqual(['BAD_USER_INPUT']);

    const client = wsClient(t.wsUrl, user.token);
    try {
      const events = collect(client, `subscription($after: String) { taskEvents(taskId: "${task}", after: $after) { type } }`, { after: '' }, 'taskEvents');
      // The hub records the feed when the subscription starts; no message says so.
      await eventually(async () => t.server.app.live.subscriberCounts().taskEvents > 0 || events.errors.length > 0, 'the subscription to start');
      expect(events.errors).toEqual([]);
      await user.ok(`mutation($t: ID!) { recordTaskEvents(input: { taskId: $t, events: [{ type: OUTPUT, data: "a" }] }) { events { id } } }`, { t: task });
      await events.count(1);
      expect(events.errors).toEqual([]);
    } finally {
      await client.dispose();
    }
  });
});
