// The conversation tree: appending, reading root → head, snapshots.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, rawId, startTestServer, type TestServer, type TestUser } from './harness.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ MAKIMA_SNAPSHOT_EVERY: '5' });
});
afterAll(async () => t?.stop());

async function newTask(user: TestUser): Promise<string> {
  const repo = await t.makeRepo();
  const data = await user.ok(`mutation($r: String!) { createContract(input: { name: "c", repositoryPath: $r }) { contract { supervisor { id } } } }`, { r: repo });
  return data.createContract.contract.supervisor.id;
}

const append = `mutation($input: AppendMessagesInput!) { appendMessages(input: $input) { task { id messageCount headMessage { id } } messages { id index role content } } }`;
const read = `query($id: ID!, $first: Int, $after: String, $snap: ID) { task(id: $id) { conversation(first: $first, after: $after, atSnapshot: $snap) { edges { cursor node { index content } } pageInfo { hasNextPage endCursor } } snapshots(first: 100) { edges { node { id messageCount snapshotType } } } } }`;

describe('appendMessages', () => {
  it('appends at the head and reads back root → head in pages', async () => {
    const user = await t.createUser();
    const taskId = await newTask(user);
    const msgs = Array.from({ length: 12 }, (_, i) => ({ role: i % 2 ? 'ASSISTANT' : 'USER', content: { text: `m${i}` } }));
    const r = await user.ok(append, { input: { taskId, messages: msgs } });
    expect(r.appendMessages.task.messageCount).toBe(12);
    expect(r.appendMessages.messages.map((m: { index: number }) => m.index)).toEqual([...Array(12).keys()]);
    const page1 = await user.ok(read, { id: taskId, first: 5 });
    expect(page1.task.conversation.edges.map((e: { node: { content: { text: string } } }) => e.node.content.text)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    const page2 = await user.ok(read, { id: taskId, first: 100, after: page1.task.conversation.pageInfo.endCursor });
    expect(page2.task.conversation.edges).toHaveLength(7);
    expect(page2.task.conversation.pageInfo.hasNextPage).toBe(false);
    const autos = page1.task.snapshots.edges.map((e: { node: { messageCount: number } }) => e.node.messageCount);
    expect(autos).toEqual([5, 10]);
    const snap = page1.task.snapshots.edges[0].node.id;
    const atSnap = await user.ok(read, { id: taskId, first: 100, snap });
    expect(atSnap.task.conversation.edges.map((e: { node: { index: number } }) => e.node.index)).toEqual([0, 1, 2, 3, 4]);
  });

  it('refuses a stale expectedHeadId with CONFLICT and writes nothing', async () => {
    const user = await t.createUser();
    const taskId = await newTask(user);
    const first = await user.ok(append, { input: { taskId, messages: [{ role: 'USER', content: 'hi' }], expectedHeadId: null } });
    const head = first.appendMessages.task.headMessage.id;
    await user.ok(append, { input: { taskId, messages: [{ role: 'ASSISTANT', content: 'hello' }], expectedHeadId: head } });
    const stale = await user.gql(append, { input: { taskId, messages: [{ role: 'ASSISTANT', content: 'late' }], expectedHeadId: head } });
    expect(codes(stale)).toEqual(['CONFLICT']);
    expect(await t.db.prisma.conversationMessage.count({ where: { taskId: rawId(taskId) } })).toBe(2);
  });
});
