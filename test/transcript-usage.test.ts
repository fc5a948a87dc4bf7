// Token usage of imported sessions (docs/api.md, "Import"): kept beside each message and summed on
// the task in Task.usage at import — Claude Code's input counting its cache writes and reads, each
// response once however many records it spans; Codex's token counts — and a later import of the
// grown file adds only what is new, including a token count that arrives after its output.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../src/generated/gql/index.js';
import type { TestServer, TestUser } from './harness.js';
import { startImportServer, type ImportServer } from './fixtures.js';

const UsageOfTask = graphql(`
  query UsageOfTask($id: ID!) {
    task(id: $id) {
      usage { inputTokens outputTokens costUsd }
      history(first: 100, filter: { eventTypes: [TASK] }) { edges { node { eventSubtype data } } }
    }
  }
`);

const FIXTURES = path.join(import.meta.dirname, 'fixtures');
const claudeSession = fs.readFileSync(path.join(FIXTURES, 'claude-code', 'session.jsonl'), 'utf8');
const codexRollout = fs.readFileSync(path.join(FIXTURES, 'codex', 'rollout-2026-11-21T09-00-00-0199a0b1-6c2e-7d3f-9a41-2f5e8c1d7b10.jsonl'), 'utf8');

let t: TestServer;
let alice: TestUser;
let importAs: ImportServer['importAs'];

beforeAll(async () => {
  ({ t, alice, importAs } = await startImportServer());
});
afterAll(async () => t?.stop());

async function usageOf(taskId: string) {
  const { task } = await alice.ok(UsageOfTask, { id: taskId });
  return { usage: task!.usage, reports: task!.history.edges.filter((e) => e.node.eventSubtype === 'usage').map((e) => e.node.data) };
}

/** Claude Code records: an assistant response `id` split over records, as Claude Code writes one per content block. */
function claudeRecord(uuid: string, parentUuid: string | null, id: string, text: string, usage?: Record<string, number>, sessionId = 'usage-session'): string {
  const message = { id, role: 'assistant', model: 'claude-sonnet-4-5', content: [{ type: 'text', text }], usage };
  return JSON.stringify({ type: 'assistant', sessionId, uuid, parentUuid, timestamp: '2026-11-20T11:00:00.000Z', message });
}

describe('token usage of an imported Claude Code session', () => {
  it('sums each response once, cache tokens counted as input, and adds only what a grown file brings', async () => {
    const first = await importAs('CLAUDE_CODE_JSONL', claudeSession);
    // msg_01: 1200 + 900 cache read in, 85 out; msg_02: 1400 in, 20 out; msg_03: 1500 in, 40 out.
    expect(first.task.usage).toEqual({ inputTokens: 5000, outputTokens: 145, costUsd: null });
    expect((await usageOf(first.task.id)).reports).toEqual([{ inputTokens: 5000, outputTokens: 145, costUsd: null, messageId: null }]);

    const again = await importAs('CLAUDE_CODE_JSONL', claudeSession);
    expect(again.messageCount).toBe(0);
    expect((await usageOf(first.task.id)).usage).toEqual({ inputTokens: 5000, outputTokens: 145, costUsd: null });

    // Grown: a second record of msg_03 (the same response, its usage repeated: not counted again) and a new response.
    const grown = [
      claudeSession.trimEnd().split('\n').slice(0, -1).join('\n'),
      claudeRecord('a3b', 'a3', 'msg_03', 'and the rest of it', { input_tokens: 1500, output_tokens: 40 }),
      claudeRecord('a4', 'a3b', 'msg_04', 'a new answer', { input_tokens: 2000, cache_creation_input_tokens: 100, output_tokens: 60 }),
    ].join('\n');
    const second = await importAs('CLAUDE_CODE_JSONL', grown);
    expect(second.messageCount).toBe(2);
    const after = await usageOf(first.task.id);
    expect(after.usage).toEqual({ inputTokens: 7100, outputTokens: 205, costUsd: null });
    expect(after.reports).toHaveLength(2);
    expect(after.reports).toContainEqual({ inputTokens: 2100, outputTokens: 60, costUsd: null, messageId: null });
  });

  it('leaves the usage unknown (null), not zero, when the session reports none', async () => {
    const imported = await importAs('CLAUDE_CODE_JSONL', claudeRecord('n1', null, 'msg_n1', 'no usage here', undefined, 'no-usage-session'));
    const { usage, reports } = await usageOf(imported.task.id);
    expect(usage).toEqual({ inputTokens: null, outputTokens: null, costUsd: null });
    expect(reports).toEqual([]);
  });
});

describe('token usage of an imported Codex rollout', () => {
  it("sums the token counts; a count that arrives in a later import than its output is added then, once", async () => {
    const lines = codexRollout.trimEnd().split('\n');
    // Up to the function call's output (line 11): the token count about it (line 12) is not written yet.
    const partial = await importAs('CODEX_JSONL', lines.slice(0, 11).join('\n'));
    expect(partial.task.usage).toEqual({ inputTokens: null, outputTokens: null, costUsd: null });
    // Only the token count more: no new message, but the count is added and kept beside its output.
    const counted = await importAs('CODEX_JSONL', lines.slice(0, 12).join('\n'));
    expect(counted.messageCount).toBe(0);
    expect(counted.task.usage).toEqual({ inputTokens: 5200, outputTokens: 240, costUsd: null });
    const whole = await importAs('CODEX_JSONL', codexRollout);
    // Codex's own running total on line 21 says the same: 11,600 in, 550 out.
    expect(whole.task.usage).toEqual({ inputTokens: 11600, outputTokens: 550, costUsd: null });
    expect((await importAs('CODEX_JSONL', codexRollout)).task.usage).toEqual({ inputTokens: 11600, outputTokens: 550, costUsd: null });
    expect((await usageOf(whole.task.id)).reports.map((r) => (r as { inputTokens: number }).inputTokens)).toEqual(expect.arrayContaining([5200, 6400]));
  });
});
