// Every ID the API returns is the global ID its arguments take (docs/design.md §5): in history event
// `data` (stored with raw UUIDs, converted at the API edge as `details` is), and in error details
// such as appendMessages' `currentHeadId`. Resume notes are checked in resume.test.ts.
import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globalId } from '../src/global-id.js';
import { historyCursor } from '../src/modules/history/schema.js';
import { rawId, startTestServer, type TestServer } from './harness.js';
import { AppendMessages, checkpoint, claim, ForkTask, ResumeTask, RewindTask, say, snapshot, taskOnRepo } from './fixtures.js';
import { collect, wsClient } from './ws-client.js';
import { write } from './worktrees.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => t?.stop());

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

const History = `query($id: ID!) { task(id: $id) { history(first: 100) { edges { node { eventType eventSubtype data } } } } }`;
const Node = `query($id: ID!) { node(id: $id) { __typename id } }`;

describe('global IDs at the API edge', () => {
  it("are encoded as Pothos encodes them, so services' ids are the ones node(id:) takes", () => {
    const uuid = '4e0b4d9a-2a50-4b5c-9a0e-8d1c2a7b9f10';
    expect(globalId('ConversationSnapshot', uuid)).toBe(encodeGlobalID('ConversationSnapshot', uuid));
  });

  it('are what history event data holds: every id field names a node the viewer can fetch, and no raw UUID is left', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    await say(user, f.taskId, 'one', 'two');
    await snapshot(user, f.taskId);
    write(f.worktree, { 'a.txt': 'a\n' });
    const first = await checkpoint(user, f.taskId, 'first');
    write(f.worktree, { 'b.txt': 'b\n' });
    await checkpoint(user, f.taskId, 'second');
    await user.ok(RewindTask, { input: { taskId: f.taskId, checkpointId: first.id, mode: 'BOTH' } });
    const fork = (await user.ok(ForkTask, { input: { taskId: f.taskId, checkpointId: first.id } })).forkTask.task;

    const data: Record<string, unknown>[] = [];
    for (const id of [f.taskId, fork.id]) {
      const history = (await user.ok(History, { id })).task.history.edges.map((e: { node: { data: Record<string, unknown> } }) => e.node);
      data.push(...history.map((e: { data: Record<string, unknown> }) => e.data));
    }
    expect(data.length).toBeGreaterThan(8);
    expect(JSON.stringify(data)).not.toMatch(UUID);

    const ids = data.flatMap((d) => Object.entries(d).filter(([k, v]) => /Id$/.test(k) && typeof v === 'string' && k !== 'workerId')).map(([, v]) => v as string);
    expect(ids.length).toBeGreaterThan(8);
    for (const id of new Set(ids)) {
      const node = await user.gql(Node, { id });
      expect(node.errors, id).toBeUndefined();
      expect(node.data.node.id).toBe(id);
    }
    // The stored data is unchanged: raw UUIDs, as the catalogue declares them.
    const stored = await t.db.prisma.historyEvent.findFirstOrThrow({ where: { taskId: rawId(f.taskId), eventType: 'CHECKPOINT', eventSubtype: 'rewound' } });
    expect((stored.eventData as { checkpointId: string }).checkpointId).toBe(rawId(first.id));
  });

  it('are what a live timeline subscription serves in data, as the queries do', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    write(f.worktree, { 'a.txt': 'a\n' });
    const cp = await checkpoint(user, f.taskId, 'first');
    const client = wsClient(t.wsUrl, user.token);
    try {
      const live = collect(client, `subscription($after: String) { timeline(after: $after) { eventType eventSubtype data } }`, { after: historyCursor(0n) }, 'timeline');
      const events = await live.until((items) => items.some((e: { eventType: string; eventSubtype: string }) => e.eventType === 'CHECKPOINT' && e.eventSubtype === 'created'), 'CHECKPOINT/created');
      const created = events.find((e: { eventType: string }) => e.eventType === 'CHECKPOINT');
      expect(created.data).toMatchObject({ checkpointId: cp.id, number: 1 });
      expect(JSON.stringify(events.map((e: { data: unknown }) => e.data))).not.toMatch(UUID);
      live.stop();
    } finally {
      await client.dispose();
    }
  });

  it("are what a CONFLICT's details hold: currentHeadId is the head's global ID, and the message names it", async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    const [first, second] = await say(user, f.taskId, 'one', 'two');
    const stale = await user.gql(AppendMessages, { input: { taskId: f.taskId, expectedHeadId: first, messages: [{ role: 'USER', content: 'late' }] } });
    expect(stale.errors?.[0].extensions).toMatchObject({ code: 'CONFLICT', currentHeadId: second });
    expect(stale.errors?.[0].message).toContain(`the conversation head is ${second}, not ${first}`);
    expect(stale.errors?.[0].message).not.toMatch(UUID);
    // A raw UUID passed in is still accepted; the answer speaks in global IDs.
    const raw = await user.gql(AppendMessages, { input: { taskId: f.taskId, expectedHeadId: rawId(first), messages: [{ role: 'USER', content: 'late' }] } });
    expect(raw.errors?.[0].extensions).toMatchObject({ code: 'CONFLICT', currentHeadId: second });
  });

  it('are what error messages and details name: no raw UUID in a CONFLICT or NOT_FOUND', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    const other = await t.createUser();
    // The claimed task is RUNNING under w1; resuming it is a CONFLICT that names it.
    const held = (await claim(user, 'w1'))!.task.id;
    const running = await user.gql(ResumeTask, { input: { taskId: held } });
    expect(running.errors?.[0].extensions?.code).toBe('CONFLICT');
    expect(running.errors![0].message).toContain(held);
    expect(JSON.stringify(running.errors)).not.toMatch(UUID);
    const missing = await other.gql(ResumeTask, { input: { taskId: f.taskId } });
    expect(missing.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect(missing.errors![0].message).toContain(f.taskId);
    expect(JSON.stringify(missing.errors)).not.toMatch(UUID);
  });
});
