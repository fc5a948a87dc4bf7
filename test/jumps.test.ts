// Jump pointers make reading any page of a long conversation cost O(log depth) steps up the tree,
// not a walk from the head: every message's jump is one of its ancestors, and the search the
// queries do reaches any depth in a few steps — also across rewinds and forks, which branch the tree.
// The rule has one home, makima_link_messages (docs/design.md §3): an append links a chain by it and
// an import a tree, and both link every message the same way.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../src/generated/gql/index.js';
import { pathMessages } from '../src/modules/conversation/service.js';
import { rawId, startTestServer, type TestServer, type TestUser } from './harness.js';
import { appendMessages, createContract, ImportTranscript, RewindConversation } from './fixtures.js';

const TaskJsonl = graphql(`
  query TaskJsonl($id: ID!) { task(id: $id) { transcript(format: JSONL) } }
`);

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ MAKIMA_SNAPSHOT_EVERY: '1000' });
});
afterAll(async () => t?.stop());

async function append(user: TestUser, taskId: string, from: number, count: number): Promise<void> {
  await appendMessages(user, taskId, Array.from({ length: count }, (_, i) => ({ role: 'USER', content: { n: from + i } })));
}

interface Row {
  id: string;
  parentId: string | null;
  depth: number;
  jumpId: string | null;
  jumpDepth: number | null;
}

/** The number of steps the queries' search takes from `head` to the ancestor at `target`. */
function seekSteps(rows: Map<string, Row>, head: string, target: number): { steps: number; reached: Row } {
  let node = rows.get(head)!;
  let steps = 0;
  while (node.depth > target) {
    node = rows.get(node.jumpDepth !== null && node.jumpDepth >= target ? node.jumpId! : node.parentId!)!;
    steps++;
  }
  return { steps, reached: node };
}

function ancestors(rows: Map<string, Row>, id: string): Row[] {
  const path: Row[] = [];
  for (let node = rows.get(id); node; node = node.parentId ? rows.get(node.parentId) : undefined) path.unshift(node);
  return path;
}

/** Imports the task's makima JSONL export into the contract: a new task, or what is new of one imported before. */
async function importExport(user: TestUser, taskId: string, contractId: string): Promise<string> {
  const { task } = await user.ok(TaskJsonl, { id: taskId });
  const imported = await user.ok(ImportTranscript, { input: { contractId, source: 'MAKIMA_JSONL', content: task!.transcript } });
  return imported.importTranscript.task.id;
}

describe('conversation jump pointers', () => {
  it('point at ancestors and reach any depth in O(log depth) steps, across batches and a rewind', async () => {
    const user = await t.createUser();
    const repo = await t.makeRepo();
    const contract = await createContract(user, repo);
    const taskId = contract.supervisor.id;
    let n = 0;
    for (const size of [1, 7, 50, 3, 200, 139, 100]) {
      await append(user, taskId, n, size);
      n += size;
    }
    // An import of the chain so far: a tree insert of 500 new messages (makima_import_messages).
    const copyId = await importExport(user, taskId, contract.id);
    const all = await t.db.prisma.conversationMessage.findMany({ where: { taskId: rawId(taskId) } });
    const rows = new Map<string, Row>(all.map((m) => [m.id, m]));
    const byDepth = new Map(all.map((m) => [m.depth, m]));
    // Branch the tree: back to message 300, then 250 more on the new branch.
    await user.ok(RewindConversation, { input: { taskId, toMessageId: byDepth.get(299)!.id } });
    await append(user, taskId, 1000, 250);
    // The import again: the new branch hangs from a message that import stored.
    expect(await importExport(user, taskId, contract.id)).toBe(copyId);
    const task = await t.db.prisma.task.findUniqueOrThrow({ where: { id: rawId(taskId) } });
    const every = await t.db.prisma.conversationMessage.findMany({ where: { taskId: rawId(taskId) } });
    for (const m of every) rows.set(m.id, m);

    for (const m of every) {
      if (m.depth === 0) {
        expect(m.jumpId).toBeNull();
        continue;
      }
      const jump = rows.get(m.jumpId!)!;
      expect(jump.depth).toBe(m.jumpDepth);
      expect(ancestors(rows, m.id).map((a) => a.id)).toContain(jump.id);
    }
    // Skew-binary: a jump spans 2^k - 1 messages, and where it lands depends on the depth alone,
    // on either branch.
    const jumpDepthAt = new Map<number, number | null>();
    for (const m of every) {
      if (m.jumpDepth !== null) expect(Number.isInteger(Math.log2(m.depth - m.jumpDepth + 1))).toBe(true);
      if (!jumpDepthAt.has(m.depth)) jumpDepthAt.set(m.depth, m.jumpDepth);
      expect(m.jumpDepth).toBe(jumpDepthAt.get(m.depth));
    }
    // The import (makima_import_messages: a tree, in two imports) linked every message as the
    // appends (makima_append_messages: chains) did: the same depth and jump, message for message.
    const records = await t.db.prisma.transcriptRecord.findMany({ where: { taskId: rawId(copyId) }, select: { recordKey: true, messageId: true } });
    const originalOf = new Map(records.map((r) => [r.messageId, r.recordKey]));
    const copied = await t.db.prisma.conversationMessage.findMany({ where: { taskId: rawId(copyId) } });
    expect(copied).toHaveLength(every.length);
    for (const c of copied) {
      const original = rows.get(originalOf.get(c.id)!)!;
      expect({ depth: c.depth, jumpDepth: c.jumpDepth, jump: c.jumpId && originalOf.get(c.jumpId) }).toEqual({
        depth: original.depth,
        jumpDepth: original.jumpDepth,
        jump: original.jumpId,
      });
    }
    const head = task.headMessageId!;
    const path = ancestors(rows, head);
    expect(path).toHaveLength(550);
    const bound = 3 * Math.ceil(Math.log2(550)) + 2;
    for (let target = 0; target < path.length; target++) {
      const { steps, reached } = seekSteps(rows, head, target);
      expect(reached.id).toBe(path[target].id);
      expect(steps).toBeLessThanOrEqual(bound);
    }
    // The queries return exactly the path, page by page, on either side of the branch point.
    for (const [from, to] of [[0, 20], [290, 310], [530, 550], [0, 550]]) {
      const page = await pathMessages(t.db.prisma, head, from, to);
      expect(page.map((m) => m.id)).toEqual(path.slice(from, to).map((m) => m.id));
    }
  });
});
