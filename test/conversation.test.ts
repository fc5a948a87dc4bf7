// The conversation tree: appending, reading root → head, snapshots, the two-writer guard and bad input.
import type { ResultOf } from '@graphql-typed-document-node/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../src/generated/gql/index.js';
import { codes, rawId, startTestServer, type TestServer, type TestUser } from './harness.js';
import { AppendMessages, CreateSnapshot, createContract, snapshot, type AppendMessagesInput, type MessageInput } from './fixtures.js';

const MAX_BYTES = 4096;

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ MAKIMA_SNAPSHOT_EVERY: '5', MAKIMA_MAX_MESSAGE_BYTES: String(MAX_BYTES) });
});
afterAll(async () => t?.stop());

async function newTask(user: TestUser): Promise<string> {
  const repo = await t.makeRepo();
  return (await createContract(user, repo)).supervisor.id;
}

const ConversationPage = graphql(`
  query ConversationPage($id: ID!, $first: Int, $after: String, $snap: ID) {
    task(id: $id) {
      conversation(first: $first, after: $after, atSnapshot: $snap) { edges { cursor node { index content } } pageInfo { hasNextPage endCursor } }
      snapshots(first: 100) { edges { node { id messageCount snapshotType } } }
    }
  }
`);

const TaskSnapshots = graphql(`
  query TaskSnapshots($id: ID!) { task(id: $id) { messageCount snapshots(first: 100) { edges { node { id messageCount snapshotType } } } } }
`);

const SnapshotMessages = graphql(`
  query SnapshotMessages($id: ID!, $after: String) {
    node(id: $id) {
      ... on ConversationSnapshot { metadata messages(first: 100, after: $after) { edges { node { index content } } pageInfo { hasNextPage endCursor } } }
    }
  }
`);

describe('appendMessages', () => {
  it('refuses a NUL or a lone surrogate in a JSON key before it runs, naming the input path', async () => {
    const user = await t.createUser();
    const taskId = await newTask(user);
    const cases: [unknown, RegExp][] = [
      [{ 'a\u0000b': 1 }, /a NUL character .* in a key/],
      [{ outer: { '\ud800': 'x' } }, /unpaired UTF-16 surrogate in a key inside \.outer/],
      [[{ text: 'ok' }, { text: 'a\u0000' }], /a NUL character .* at \[1\]\.text/],
    ];
    for (const [content, message] of cases) {
      const refused = await user.gql(AppendMessages, { input: { taskId, messages: [{ role: 'USER', content }] } });
      expect(codes(refused)).toEqual(['BAD_USER_INPUT']);
      // Refused by the pre-check (docs/design.md §5): no resolver ran, so there is no `data` at all.
      expect(refused.data ?? null).toBeNull();
      expect(refused.errors![0].extensions).toMatchObject({ field: 'input.messages[0].content' });
      expect(refused.errors![0].message).toMatch(message);
    }
    // Written into the document rather than sent as a variable, the same.
    const literal = await user.gql(`mutation { appendMessages(input: { taskId: "${taskId}", messages: [{ role: USER, content: { a: { b: "x", c: "\\u0000" } } }] }) { task { id } } }`);
    expect(codes(literal)).toEqual(['BAD_USER_INPUT']);
    expect(literal.errors![0].extensions).toMatchObject({ field: 'input.messages[0].content' });
    expect((await user.ok(ConversationPage, { id: taskId })).task!.conversation.edges).toEqual([]);
  });

  it('appends at the head and reads back root → head in pages', async () => {
    const user = await t.createUser();
    const taskId = await newTask(user);
    const msgs = Array.from({ length: 12 }, (_, i): MessageInput => ({ role: i % 2 ? 'ASSISTANT' : 'USER', content: { text: `m${i}` } }));
    const r = await user.ok(AppendMessages, { input: { taskId, messages: msgs } });
    expect(r.appendMessages.task.messageCount).toBe(12);
    expect(r.appendMessages.messages.map((m) => m.index)).toEqual([...Array(12).keys()]);
    const page1 = (await user.ok(ConversationPage, { id: taskId, first: 5 })).task!;
    expect(page1.conversation.edges.map((e) => (e.node.content as { text: string }).text)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    const page2 = (await user.ok(ConversationPage, { id: taskId, first: 100, after: page1.conversation.pageInfo.endCursor })).task!;
    expect(page2.conversation.edges).toHaveLength(7);
    expect(page2.conversation.pageInfo.hasNextPage).toBe(false);
    const autos = page1.snapshots.edges.map((e) => e.node.messageCount);
    expect(autos).toEqual([5, 10]);
    const snap = page1.snapshots.edges[0].node.id;
    const atSnap = (await user.ok(ConversationPage, { id: taskId, first: 100, snap })).task!;
    expect(atSnap.conversation.edges.map((e) => e.node.index)).toEqual([0, 1, 2, 3, 4]);
  });

  it('stores text that looks like SQL or its placeholders as it was sent: values travel bound', async () => {
    const user = await t.createUser();
    const taskId = await newTask(user);
    const tricky = ["$1", "$2::uuid", "'); DELETE FROM tasks; --", "\\' \\\\ $$ $tag$ E'\\x00'", "$$1 ' $3"];
    const msgs = tricky.map((text, i): MessageInput => ({ role: 'USER', content: { text, [`$${i + 1}`]: text } }));
    const r = await user.ok(AppendMessages, { input: { taskId, messages: msgs } });
    expect(r.appendMessages.messages.map((m) => m.content)).toEqual(msgs.map((m) => m.content));
    const page = (await user.ok(ConversationPage, { id: taskId, first: 100 })).task!;
    expect(page.conversation.edges.map((e) => e.node.content)).toEqual(msgs.map((m) => m.content));
    const events = await user.ok(
      `mutation($t: ID!, $e: [TaskEventInput!]!) { recordTaskEvents(input: { taskId: $t, events: $e }) { events { seq data } } }`,
      { t: taskId, e: tricky.map((text) => ({ type: 'OUTPUT', data: text })) },
    );
    expect(events.recordTaskEvents.events.map((e: { data: unknown }) => e.data)).toEqual(tricky);
  });

  it('refuses a stale expectedHeadId with CONFLICT and writes nothing', async () => {
    const user = await t.createUser();
    const taskId = await newTask(user);
    const first = await user.ok(AppendMessages, { input: { taskId, messages: [{ role: 'USER', content: 'hi' }], expectedHeadId: null } });
    const head = first.appendMessages.task.headMessage!.id;
    await user.ok(AppendMessages, { input: { taskId, messages: [{ role: 'ASSISTANT', content: 'hello' }], expectedHeadId: head } });
    const stale = await user.gql(AppendMessages, { input: { taskId, messages: [{ role: 'ASSISTANT', content: 'late' }], expectedHeadId: head } });
    expect(codes(stale)).toEqual(['CONFLICT']);
    expect(await t.db.prisma.conversationMessage.count({ where: { taskId: rawId(taskId) } })).toBe(2);
  });
});

/** Every message of the task's conversation (at a snapshot, when given), walking pages of `first`. */
async function readConversation(user: TestUser, taskId: string, snap?: string, first = 100) {
  const nodes: { index: number; content: unknown }[] = [];
  let after: string | null = null;
  for (;;) {
    const data: ResultOf<typeof ConversationPage> = await user.ok(ConversationPage, { id: taskId, first, after, snap });
    const page = data.task!.conversation;
    nodes.push(...page.edges.map((e) => e.node));
    if (!page.pageInfo.hasNextPage) return nodes;
    after = page.pageInfo.endCursor;
  }
}

async function written(user: TestUser) {
  return {
    messages: await t.db.prisma.conversationMessage.count({ where: { task: { ownerId: user.id } } }),
    snapshots: await t.db.prisma.conversationSnapshot.count({ where: { task: { ownerId: user.id } } }),
    history: await t.db.prisma.historyEvent.count({ where: { ownerId: user.id } }),
  };
}

describe('a conversation of 1,000 messages with snapshots', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ MAKIMA_SNAPSHOT_EVERY: '100' });
  });
  afterAll(async () => s?.stop());

  it('gives exactly the first k messages at every snapshot, from snapshot rows whose size does not grow with k', async () => {
    const user = await s.createUser();
    const repo = await s.makeRepo();
    const taskId = (await createContract(user, repo, 'long')).supervisor.id;
    const manual = () => snapshot(user, taskId);
    const snaps = [await manual()];
    let n = 0;
    for (const size of [1, 249, 500, 249, 1]) {
      const messages = Array.from({ length: size }, (): MessageInput => ({ role: n % 2 ? 'ASSISTANT' : 'USER', content: { n: n++ } }));
      await user.ok(AppendMessages, { input: { taskId, messages } });
      if (n !== 1000) snaps.push(await manual());
    }
    const listed = (await user.ok(TaskSnapshots, { id: taskId })).task!;
    expect(listed.messageCount).toBe(1000);
    const all = listed.snapshots.edges.map((e) => e.node);
    const autos = all.filter((x) => x.snapshotType === 'AUTO').map((x) => x.messageCount);
    expect(autos).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
    expect(snaps.map((x) => x.messageCount)).toEqual([0, 1, 250, 750, 999]);

    for (const snap of all) {
      const k = snap.messageCount;
      const messages = await readConversation(user, taskId, snap.id);
      expect(messages.map((m) => m.index), `snapshot at ${k}`).toEqual([...Array(k).keys()]);
      expect(messages.map((m) => (m.content as { n: number }).n), `snapshot at ${k}`).toEqual([...Array(k).keys()]);
    }

    // The messages are stored once; each snapshot row is a pointer to its head message, nothing more.
    expect(await s.db.prisma.conversationMessage.count({ where: { taskId: rawId(taskId) } })).toBe(1000);
    const rows = await s.db.query<{ message_count: number; row_bytes: number; head_depth: number | null }>(
      `SELECT s.message_count, pg_column_size(s.*) AS row_bytes, m.depth AS head_depth
         FROM conversation_snapshots s LEFT JOIN conversation_messages m ON m.id = s.head_message_id
        WHERE s.task_id = $1 AND s.head_message_id IS NOT NULL`,
      [rawId(taskId)],
    );
    expect(rows).toHaveLength(all.length - 1);
    for (const row of rows) expect(Number(row.head_depth)).toBe(Number(row.message_count) - 1);
    const sizes = new Set(rows.map((r) => Number(r.row_bytes)));
    expect(sizes.size, `row sizes ${[...sizes]}`).toBe(1);
    expect([...sizes][0]).toBeLessThan(200);
  });

  it('reads the same messages through ConversationSnapshot.messages', async () => {
    const user = await s.createUser();
    const repo = await s.makeRepo();
    const taskId = (await createContract(user, repo)).supervisor.id;
    await user.ok(AppendMessages, { input: { taskId, messages: Array.from({ length: 130 }, (_, i): MessageInput => ({ role: 'USER', content: i })) } });
    const snap = await snapshot(user, taskId, { label: 'after 130' });
    await user.ok(AppendMessages, { input: { taskId, messages: [{ role: 'ASSISTANT', content: 'later' }] } });
    const page = async (after?: string | null) => {
      const { node } = await user.ok(SnapshotMessages, { id: snap.id, after });
      if (!node || !('messages' in node)) throw new Error(`${snap.id} is not a snapshot`);
      return node;
    };
    const first = await page();
    expect(first.metadata).toEqual({ label: 'after 130' });
    const second = await page(first.messages.pageInfo.endCursor);
    expect(second.messages.pageInfo.hasNextPage).toBe(false);
    const contents = [...first.messages.edges, ...second.messages.edges].map((e) => e.node.content);
    expect(contents).toEqual([...Array(130).keys()]);
  });
});

describe('two writers', () => {
  it('lets exactly one of two concurrent appends with the same expectedHeadId succeed; the other is a CONFLICT and the tree stays a chain', async () => {
    const user = await t.createUser();
    const taskId = await newTask(user);
    let head: string | null = null;
    for (let round = 0; round < 5; round++) {
      const results = await Promise.all(
        ['a', 'b'].map((w) => user.gql(AppendMessages, { input: { taskId, messages: [{ role: 'ASSISTANT', content: `${w}${round}` }, { role: 'USER', content: 'ok' }], expectedHeadId: head } })),
      );
      const winners = results.filter((r) => !r.errors);
      expect(winners, `round ${round}`).toHaveLength(1);
      expect(results.flatMap(codes)).toEqual(['CONFLICT']);
      head = winners[0].data!.appendMessages.task.headMessage!.id;
    }
    const id = rawId(taskId);
    const forks = await t.db.query(`SELECT parent_id FROM conversation_messages WHERE task_id = $1 GROUP BY parent_id HAVING count(*) > 1`, [id]);
    expect(forks).toEqual([]);
    const depths = await t.db.query<{ depth: number }>(`SELECT depth FROM conversation_messages WHERE task_id = $1 ORDER BY depth`, [id]);
    expect(depths.map((d) => Number(d.depth))).toEqual([...Array(10).keys()]);
    expect(await readConversation(user, taskId)).toHaveLength(10);
  });

  it('serializes concurrent appends without expectedHeadId into one chain', async () => {
    const user = await t.createUser();
    const taskId = await newTask(user);
    await Promise.all(Array.from({ length: 6 }, (_, w) => user.ok(AppendMessages, { input: { taskId, messages: [{ role: 'USER', content: `w${w}` }, { role: 'ASSISTANT', content: `r${w}` }] } })));
    const conversation = await readConversation(user, taskId);
    expect(conversation.map((m) => m.index)).toEqual([...Array(12).keys()]);
    // Each writer's two messages stay adjacent: a batch is never interleaved with another.
    for (let i = 0; i < 12; i += 2) expect((conversation[i + 1].content as string).slice(1)).toBe((conversation[i].content as string).slice(1));
  });
});

describe('bad input', () => {
  it('refuses every kind of bad message with BAD_USER_INPUT and writes nothing', async () => {
    const user = await t.createUser();
    const taskId = await newTask(user);
    await user.ok(AppendMessages, { input: { taskId, messages: [{ role: 'USER', content: 'first' }] } });
    const before = await written(user);
    // Deliberately invalid inputs, sent as they are: the server must refuse each one.
    const cases: [string, unknown][] = [
      ['null content', { taskId, messages: [{ role: 'USER', content: null }] }],
      ['unknown role', { taskId, messages: [{ role: 'ROBOT', content: 'x' }] }],
      ['no messages', { taskId, messages: [] }],
      ['oversized content', { taskId, messages: [{ role: 'USER', content: 'ok' }, { role: 'USER', content: 'x'.repeat(MAX_BYTES) }] }],
      ['oversized tool calls', { taskId, messages: [{ role: 'ASSISTANT', content: 'x'.repeat(MAX_BYTES / 2), toolCalls: ['y'.repeat(MAX_BYTES / 2)] }] }],
      ['NUL in content', { taskId, messages: [{ role: 'USER', content: { text: 'a\u0000b' } }] }],
      ['malformed expectedHeadId', { taskId, messages: [{ role: 'USER', content: 'x' }], expectedHeadId: '!!' }],
      ['malformed taskId', { taskId: 'nope', messages: [{ role: 'USER', content: 'x' }] }],
    ];
    for (const [label, input] of cases) {
      const result = await user.gql(AppendMessages, { input: input as AppendMessagesInput });
      expect(codes(result), label).toEqual(['BAD_USER_INPUT']);
      expect(result.errors![0].message.length, label).toBeGreaterThan(10);
    }
    const enumAsJson = await user.gql(`mutation { appendMessages(input: { taskId: "${taskId}", messages: [{ role: USER, content: NOT_JSON }] }) { task { id } } }`);
    expect(codes(enumAsJson)).toEqual(['BAD_USER_INPUT']);
    const oversizedMetadata = await user.gql(CreateSnapshot, { input: { taskId, metadata: { note: 'm'.repeat(MAX_BYTES) } } });
    expect(codes(oversizedMetadata)).toEqual(['BAD_USER_INPUT']);
    const res = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${user.token}` },
      body: `{"query": "mutation { appendMessages(input: { taskId: \\"${taskId}\\", messages: [{ role: USER, content: {a: 1} }] }) { task { id } } }", "variables": {`,
    });
    expect(res.status).toBe(400);
    expect(codes((await res.json()) as { errors: { extensions: Record<string, unknown> }[] })).toEqual(['BAD_USER_INPUT']);
    expect(await written(user)).toEqual(before);
  });

  it("refuses a snapshot of another task (the viewer's or another user's) passed to atSnapshot", async () => {
    const user = await t.createUser();
    const other = await t.createUser();
    const [a, b, foreign] = await Promise.all([newTask(user), newTask(user), newTask(other)]);
    await user.ok(AppendMessages, { input: { taskId: b, messages: [{ role: 'USER', content: 'secret of b' }] } });
    await other.ok(AppendMessages, { input: { taskId: foreign, messages: [{ role: 'USER', content: 'secret of another user' }] } });
    const snapB = (await snapshot(user, b)).id;
    const snapForeign = (await snapshot(other, foreign)).id;
    for (const snap of [snapB, snapForeign, 'not-an-id', a]) {
      const result = await user.gql(ConversationPage, { id: a, first: 10, snap });
      expect(codes(result), snap).toEqual(['BAD_USER_INPUT']);
      expect(JSON.stringify(result)).not.toContain('secret');
    }
  });

  it('refuses first above 100 on every conversation list', async () => {
    const user = await t.createUser();
    const taskId = await newTask(user);
    const snap = (await snapshot(user, taskId)).id;
    const queries: [string, Record<string, unknown>][] = [
      [`query($id: ID!) { task(id: $id) { conversation(first: 101) { edges { cursor } } } }`, { id: taskId }],
      [`query($id: ID!, $n: Int) { task(id: $id) { snapshots(first: $n) { edges { cursor } } } }`, { id: taskId, n: 101 }],
      [`query($id: ID!) { node(id: $id) { ... on ConversationSnapshot { messages(first: 500) { edges { cursor } } } } }`, { id: snap }],
      [`query($id: ID!) { task(id: $id) { contract { supervisorConversation(first: 101) { edges { cursor } } } } }`, { id: taskId }],
      // A variable's declared default counts like a value sent with the request.
      [`query($id: ID!, $n: Int = 500) { task(id: $id) { conversation(first: $n) { edges { cursor } } } }`, { id: taskId }],
      [`query($n: Int = 101) { timeline(first: $n) { edges { cursor } } }`, {}],
    ];
    for (const [query, variables] of queries) expect(codes(await user.gql(query, variables)), query).toEqual(['BAD_USER_INPUT']);
  });
});
