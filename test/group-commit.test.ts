// One owner's hot writes go together (docs/design.md §9): they would wait for each other on the
// owner's history lock until their COMMIT anyway, so the process sends the ones that arrive while a
// statement is under way as one statement — one transaction, one lock, one commit — and each is
// still atomic with its own history event, in seq order. A statement of several writes that
// PostgreSQL refuses is sent again write by write, so one bad write fails alone.
// (The second test puts writes in one lane directly, so it goes together on both engines.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeInOneStatement } from '../src/db/change.js';
import { appendWrite } from '../src/modules/conversation/sql.js';
import { rawId, startTestServer, type TestServer } from './harness.js';
import { appendMessages, conversationTexts, newContract, recordTaskEvents } from './fixtures.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => t?.stop());

/** The transactions (xmin) that wrote the owner's history events, and the events' seqs. */
async function historyOf(ownerId: string): Promise<{ seqs: bigint[]; transactions: number; subtypes: string[] }> {
  const rows = await t.db.query<{ seq: string; tx: string; subtype: string }>(
    'SELECT seq::text AS seq, xmin::text AS tx, event_subtype AS subtype FROM history_events WHERE owner_id = $1::uuid ORDER BY history_events.seq',
    [ownerId],
  );
  return { seqs: rows.map((r) => BigInt(r.seq)), transactions: new Set(rows.map((r) => r.tx)).size, subtypes: rows.map((r) => r.subtype) };
}

describe('one owner’s hot writes go together', () => {
  it('sends concurrent appends and event batches of one owner in fewer transactions, each with its own event, in order', async () => {
    const user = await t.createUser();
    const { taskIds } = await newContract(t, user, 7);
    const before = await historyOf(user.id);
    const writes = taskIds.flatMap((taskId, i) => [
      appendMessages(user, taskId, [{ role: 'USER', content: { text: `a${i}` } }]),
      appendMessages(user, taskId, [{ role: 'ASSISTANT', content: { text: `b${i}` } }]),
      recordTaskEvents(user, taskId, [{ type: 'OUTPUT', data: { i } }]),
    ]);
    await Promise.all(writes);

    const after = await historyOf(user.id);
    const added = after.seqs.slice(before.seqs.length);
    expect(added).toHaveLength(writes.length);
    expect(after.subtypes.slice(before.seqs.length).filter((s) => s === 'message')).toHaveLength(2 * taskIds.length);
    // Fewer transactions than writes: some went together. On PostgreSQL a statement is under way
    // on its connection while the next requests reach the lane; PGlite runs a statement inside the
    // process's one thread, so whether a request arrives during it is up to the event loop's timing.
    if (t.db.engine === 'postgres') expect(after.transactions - before.transactions).toBeLessThan(writes.length);
    // Two appends to one task are never in one statement: each saw the other's head.
    for (const [i, taskId] of taskIds.entries()) {
      expect((await conversationTexts(user, taskId)).sort()).toEqual([`a${i}`, `b${i}`]);
      const messages = await t.db.prisma.conversationMessage.findMany({ where: { taskId: rawId(taskId) }, orderBy: { depth: 'asc' } });
      expect(messages.map((m) => m.depth)).toEqual([0, 1]);
      expect(messages[1].parentId).toBe(messages[0].id);
      const task = await t.db.prisma.task.findUniqueOrThrow({ where: { id: rawId(taskId) } });
      expect(task.headMessageId).toBe(messages[1].id);
      expect(task.messageCount).toBe(2);
    }
  });

  it('answers a write PostgreSQL refuses on its own, and writes the others it was sent with', async () => {
    const user = await t.createUser();
    const { taskIds } = await newContract(t, user, 3);
    const before = await historyOf(user.id);
    const write = (taskId: string, text: string) =>
      changeInOneStatement(
        t.db,
        appendWrite({ taskId, ownerId: user.id, workerId: null, expectedHeadId: undefined, messages: [{ role: 'USER', content: { text } }], snapshotEvery: 50 }),
        { eventType: 'CHAT', eventSubtype: 'message', actor: null },
      );
    // The first goes alone; the next five arrive while it is under way and go together, one of
    // them with a task id PostgreSQL cannot cast (22P02): that statement fails as a whole.
    const first = write(rawId(taskIds[0]), 'first');
    const together = [...taskIds.slice(1).map((id, i) => write(rawId(id), `ok${i}`)), write('not-a-uuid', 'bad'), write(rawId(taskIds[0]), 'second')];
    const results = await Promise.allSettled([first, ...together]);

    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused).toHaveLength(1);
    expect(String((refused[0] as PromiseRejectedResult).reason)).toMatch(/uuid/);
    const after = await historyOf(user.id);
    expect(after.seqs.length - before.seqs.length).toBe(results.length - 1);
    expect((await conversationTexts(user, taskIds[0])).sort()).toEqual(['first', 'second']);
    for (const [i, id] of taskIds.slice(1).entries()) expect(await conversationTexts(user, id)).toEqual([`ok${i}`]);
  });
});
