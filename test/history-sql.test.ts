// The SQL read path of history pages (modules/history/sql.ts): its enum mapping against the
// database's own labels, and the join of an event's task and contract, which serves a query only
// when the query asks for no more than the join carries — whatever aliases and fragments it uses.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ContractPhase, HistoryEventType, TaskStatus } from '../src/generated/prisma/enums.js';
import { startTestServer, type TestServer, type TestUser } from './harness.js';
import { createTask, newContract } from './fixtures.js';

let t: TestServer;
let user: TestUser;
beforeAll(async () => {
  t = await startTestServer();
  user = await t.createUser();
  const { contractId } = await newContract(t, user, 1);
  await createTask(user, contractId, 'with a prompt', { prompt: 'the prompt text' });
});
afterAll(async () => {
  await t?.stop();
});

describe('history pages in SQL', () => {
  it('maps every enum label of the database to the Prisma value of the same name', async () => {
    for (const [type, values] of [
      ['history_event_type', HistoryEventType],
      ['contract_phase', ContractPhase],
      ['task_status', TaskStatus],
    ] as const) {
      const rows = await t.db.query<{ label: string }>(
        `SELECT e.enumlabel AS label FROM pg_enum e JOIN pg_type ty ON ty.oid = e.enumtypid WHERE ty.typname = $1 ORDER BY e.enumsortorder`,
        [type],
      );
      expect(rows.map((r) => r.label.toUpperCase()).sort(), type).toEqual(Object.values(values).sort());
    }
  });

  it('answers the same task and contract fields through the join as through the rows themselves', async () => {
    // The history pages' SQL, as the server sends it (the spy records and calls through).
    const history = recordHistorySql();
    // Joined: only id, name, status / id, name, phase, through an alias and both kinds of fragment.
    const joined = await user.ok(`
      query { timeline(first: 20) { edges { node { seq
        task { id ...TaskName } t2: task { ... on Task { status } }
        contract { id name phase } } } } }
      fragment TaskName on Task { name }`);
    expect(history.take()).toEqual([{ task: true, contract: true }]);
    // Not joined: prompt and description are not in the join, so the rows are read whole.
    const whole = await user.ok(`
      query { timeline(first: 20) { edges { node { seq
        task { id name prompt } t2: task { status }
        contract { id name phase description } } } } }`);
    expect(history.take()).toEqual([{ task: false, contract: false }]);
    const pick = (data: typeof joined) =>
      data.timeline.edges.map((e: { node: Record<string, Record<string, unknown> | null> & { seq: string } }) => ({
        seq: e.node.seq,
        task: e.node.task && { id: e.node.task.id, name: e.node.task.name },
        status: e.node.t2?.status ?? null,
        contract: e.node.contract && { id: e.node.contract.id, name: e.node.contract.name, phase: e.node.contract.phase },
      }));
    expect(joined.timeline.edges.length).toBeGreaterThan(3);
    expect(pick(joined)).toEqual(pick(whole));
    expect(pick(joined).some((e: { task: unknown }) => e.task !== null)).toBe(true);
    const prompts = whole.timeline.edges.map((e: { node: { task: { prompt: string | null } | null } }) => e.node.task?.prompt);
    expect(prompts).toContain('the prompt text');
    // A fragment that asks for a field the join does not carry is answered in full too.
    const viaFragment = await user.ok(`query { timeline(first: 20) { edges { node { task { ...P } } } } } fragment P on Task { name prompt }`);
    expect(history.take()).toEqual([{ task: false, contract: false }]);
    history.restore();
    expect(viaFragment.timeline.edges.map((e: { node: { task: { prompt: string | null } | null } }) => e.node.task?.prompt)).toEqual(prompts);
  });
});

/** Records which joins each history page's SQL made, from the queries the server sends. */
function recordHistorySql() {
  const spy = vi.spyOn(t.db, 'query');
  let seen = 0;
  return {
    /** The joins of the history pages read since the last call. */
    take(): { task: boolean; contract: boolean }[] {
      const pages = spy.mock.calls
        .slice(seen)
        .map(([sql]) => sql)
        .filter((sql) => /FROM history_events h\b/.test(sql))
        .map((sql) => ({ task: sql.includes('JOIN tasks t'), contract: sql.includes('JOIN contracts c') }));
      seen = spy.mock.calls.length;
      return pages;
    },
    restore: () => spy.mockRestore(),
  };
}
