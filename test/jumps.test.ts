// Jump pointers make reading any page of a long conversation cost O(log depth) steps up the tree,
// not a walk from the head: every message's jump is one of its ancestors, and the search the
// queries do reaches any depth in a few steps — also across rewinds and forks, which branch the tree.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jumpFor, pathMessages } from '../src/modules/conversation/service.js';
import { rawId, startTestServer, type TestServer, type TestUser } from './harness.js';
import { appendMessages, createContract, RewindConversation } from './fixtures.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ MAKIMA_SNAPSHOT_EVERY: '1000' });
});
afterAll(async () => t?.stop());

async function newTask(user: TestUser): Promise<string> {
  const repo = await t.makeRepo();
  return (await createContract(user, repo)).supervisor.id;
}

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

describe('conversation jump pointers', () => {
  it('point at ancestors and reach any depth in O(log depth) steps, across batches and a rewind', async () => {
    const user = await t.createUser();
    const taskId = await newTask(user);
    let n = 0;
    for (const size of [1, 7, 50, 3, 200, 139, 100]) {
      await append(user, taskId, n, size);
      n += size;
    }
    const all = await t.db.prisma.conversationMessage.findMany({ where: { taskId: rawId(taskId) } });
    const rows = new Map<string, Row>(all.map((m) => [m.id, m]));
    const byDepth = new Map(all.map((m) => [m.depth, m]));
    // Branch the tree: back to message 300, then 250 more on the new branch.
    await user.ok(RewindConversation, { input: { taskId, toMessageId: byDepth.get(299)!.id } });
    await append(user, taskId, 1000, 250);
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
    // An append (makima_append_messages, in SQL) links each message exactly as an import does
    // (jumpFor, in TypeScript): one rule, whichever writer made the rows.
    for (const m of every) {
      const parent = m.parentId ? rows.get(m.parentId)! : null;
      expect({ jumpId: m.jumpId, jumpDepth: m.jumpDepth }).toEqual(jumpFor(parent, rows));
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
