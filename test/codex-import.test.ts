// A Codex CLI rollout imported as a task (docs/api.md, "Import"): messages in order, Codex's injected
// context kept but never the prompt, reasoning as thinking, each tool call paired with its output by
// call_id, token usage and model beside the message, a rollback as a branch, a compaction summary,
// the older rollouts without the envelope, idempotent re-import and growth, and hostile lines.
// The fixtures in test/fixtures/codex were written for these tests, in the format Codex writes.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../src/generated/gql/index.js';
import type { TestServer, TestUser } from './harness.js';
import { ResumeTask, startImportServer, type Imported, type ImportServer } from './fixtures.js';

const CodexConversation = graphql(`
  query CodexConversation($id: ID!) {
    task(id: $id) {
      messageCount
      conversation(first: 100) { edges { node { id role content toolCalls createdAt } } }
      events(first: 100) { edges { node { type data } } }
    }
  }
`);
const CodexTranscript = graphql(`
  query CodexTranscript($id: ID!, $format: TranscriptFormat) { task(id: $id) { transcript(format: $format) } }
`);
const CodexSearch = graphql(`
  query CodexSearch($query: String!, $filter: SearchFilter) { search(query: $query, filter: $filter) { edges { node { kind } } } }
`);

const FIXTURES = path.join(import.meta.dirname, 'fixtures', 'codex');
const rollout = fs.readFileSync(path.join(FIXTURES, 'rollout-2026-11-21T09-00-00-0199a0b1-6c2e-7d3f-9a41-2f5e8c1d7b10.jsonl'), 'utf8');
const older = fs.readFileSync(path.join(FIXTURES, 'rollout-2025-08-14T10-00-00-5973b6c0-94b8-487b-a530-2aeb6098ae0e.jsonl'), 'utf8');

let t: TestServer;
let alice: TestUser;
let importAs: ImportServer['importAs'];

beforeAll(async () => {
  ({ t, alice, importAs } = await startImportServer());
});
afterAll(async () => t?.stop());

const importCodex = (content: string) => importAs('CODEX_JSONL', content);

async function conversationOf(taskId: string) {
  const { task } = await alice.ok(CodexConversation, { id: taskId });
  return { path: task!.conversation.edges.map((e) => e.node), events: task!.events.edges.map((e) => e.node), messageCount: task!.messageCount };
}

/** Every message of the task (every branch) as the lossless export has it, with the metadata the import kept. */
async function exported(taskId: string) {
  const jsonl = (await alice.ok(CodexTranscript, { id: taskId, format: 'JSONL' })).task!.transcript;
  return jsonl
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((r) => r.type === 'message') as { id: string; parentId: string | null; role: string; content: { type: string; text?: string }[]; metadata: Record<string, unknown> }[];
}

const textOf = (content: unknown) => (content as { text?: string }[]).map((b) => b.text ?? '').join('');

/** A rollout's lines, one JSON object each. */
const lines = (...records: unknown[]) => records.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';
const meta = (id: string) => ({ timestamp: '2026-11-22T08:00:00.000Z', type: 'session_meta', payload: { id, timestamp: '2026-11-22T08:00:00.000Z', cwd: '/tmp', cli_version: '0.46.0' } });
const item = (payload: Record<string, unknown>, timestamp = '2026-11-22T08:00:01.000Z') => ({ timestamp, type: 'response_item', payload });
const said = (role: string, text: string, timestamp?: string) => item({ type: 'message', role, content: [{ type: role === 'assistant' ? 'output_text' : 'input_text', text }] }, timestamp);
const event = (payload: Record<string, unknown>) => ({ timestamp: '2026-11-22T08:00:02.000Z', type: 'event_msg', payload });

describe('importTranscript from Codex', () => {
  let imported: Imported;
  beforeAll(async () => {
    imported = await importCodex(rollout);
  });

  it("imports every message in order and names the task after the person's first prompt, not Codex's injected context", async () => {
    expect(imported.messageCount).toBe(20);
    expect(imported.task.name).toBe('The parser test is flaky; find out why and fix it');
    expect(imported.task.prompt).toBe('The parser test is flaky; find out why and fix it');
    expect(imported.task.status).toBe('INTERRUPTED');
    expect(imported.task.messageCount).toBe(18);
    const { path } = await conversationOf(imported.task.id);
    expect(path.map((m) => m.role)).toEqual(['SYSTEM', 'USER', 'USER', 'USER', 'ASSISTANT', 'ASSISTANT', 'TOOL', 'ASSISTANT', 'TOOL', 'ASSISTANT', 'TOOL', 'ASSISTANT', 'ASSISTANT', 'USER', 'ASSISTANT', 'SYSTEM', 'USER', 'ASSISTANT']);
    expect(textOf(path[1].content)).toMatch(/^<user_instructions>/);
    expect(textOf(path[2].content)).toMatch(/^<environment_context>/);
    expect(path[3].createdAt).toBe('2026-11-21T09:00:02.000Z');
    expect(path[3].content).toEqual([
      { type: 'text', text: 'The parser test is flaky; find out why and fix it' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: expect.stringMatching(/^iVBORw0KGgo/) } },
    ]);
    expect(textOf(path.at(-1)!.content)).toBe("You're welcome.");
  });

  it('keeps reasoning as a thinking block, and says when OpenAI also encrypted it', async () => {
    const { path } = await conversationOf(imported.task.id);
    expect(path[4].content).toEqual([{ type: 'thinking', thinking: '**Looking at the test**\n\nThe failure depends on the order files are read in.' }]);
    const reasoning = (await exported(imported.task.id)).find((m) => m.metadata?.type === 'reasoning')!;
    expect(reasoning.metadata).toMatchObject({ source: 'codex', encrypted: true, model: 'gpt-5-codex' });
    expect(JSON.stringify(reasoning)).not.toContain('gAAAAAB');
    const md = (await alice.ok(CodexTranscript, { id: imported.task.id, format: 'MARKDOWN' })).task!.transcript;
    // Folded to one line, the text on demand.
    expect(md).toContain('<details><summary>thinking… (76 chars)</summary>\n\n**Looking at the test**');
  });

  it('pairs each tool call with its output by call_id: tool blocks, toolCalls and task events, each call shown once', async () => {
    const { path, events } = await conversationOf(imported.task.id);
    expect(path[5].toolCalls).toEqual([{ type: 'tool_use', id: 'call_shell_1', name: 'shell', input: { command: ['bash', '-lc', 'npm test -- parser'], workdir: '/home/me/parser' } }]);
    expect(path[6].toolCalls).toEqual([{ type: 'tool_result', toolUseId: 'call_shell_1', isError: false, content: expect.stringContaining('expected 3 tokens, got 2') }]);
    expect(path[7].toolCalls).toEqual([{ type: 'tool_use', id: 'call_patch_1', name: 'apply_patch', input: expect.stringContaining('*** Update File: src/parser.ts') }]);
    expect(path[8].toolCalls).toMatchObject([{ type: 'tool_result', toolUseId: 'call_patch_1' }]);
    expect(path[9].toolCalls).toMatchObject([{ type: 'tool_use', id: 'call_local_1', name: 'local_shell', input: { type: 'exec', command: ['npm', 'test'] } }]);
    // The older `{ content, success }` output form.
    expect(path[10].toolCalls).toEqual([{ type: 'tool_result', toolUseId: 'call_local_1', isError: false, content: 'Tests: 12 passed, 12 total' }]);
    expect(path[11].toolCalls).toMatchObject([{ type: 'tool_use', name: 'web_search', input: { type: 'search', query: 'vitest flaky readdir order' } }]);
    expect(events.map((e) => e.type)).toEqual(['TOOL_CALL', 'TOOL_RESULT', 'TOOL_CALL', 'TOOL_RESULT', 'TOOL_CALL', 'TOOL_RESULT', 'TOOL_CALL']);
    expect(events[0].data).toMatchObject({ toolUseId: 'call_shell_1', name: 'shell', input: { command: ['bash', '-lc', 'npm test -- parser'] } });
    const all = await exported(imported.task.id);
    // An output names the call it answers, and the line the call is on.
    expect(all.filter((m) => m.role === 'TOOL').map((m) => [m.metadata.name, m.metadata.callLine])).toEqual([['shell', 10], ['apply_patch', 13], ['local_shell', 16]]);
    const hits = (await alice.ok(CodexSearch, { query: '"npm test"', filter: { taskId: imported.task.id, kinds: ['TASK_EVENT'] } })).search.edges;
    expect(hits.length).toBeGreaterThan(0);
    const md = (await alice.ok(CodexTranscript, { id: imported.task.id, format: 'MARKDOWN' })).task!.transcript;
    expect(md.split('**Tool call** `shell`').length - 1).toBe(1);
    expect(md.split('**Tool result**').length - 1).toBe(3);
    // Each result under its call, and not again as the Tool message that carried it.
    expect(md).toMatch(/\*\*Tool call\*\* `shell`\n\n`{3,}json\n[^`]*\n`{3,}\n\n\*\*Tool result\*\*\n\n`{3,}\n\{"output": "FAIL parser/);
    expect(md).not.toMatch(/### \d+\. Tool/);
    // A custom tool's text input (a patch) reads as its lines.
    expect(md).toContain('```\n*** Begin Patch\n*** Update File: src/parser.ts\n');
  });

  it('keeps the model and token usage beside the model output they were counted for, and the session on the first message', async () => {
    const all = await exported(imported.task.id);
    const call = all.find((m) => m.metadata?.type === 'function_call')!;
    expect(call.metadata.usage).toEqual({ input_tokens: 5200, cached_input_tokens: 3100, output_tokens: 240, reasoning_output_tokens: 128, total_tokens: 5440 });
    const answer = all.find((m) => textOf(m.content).startsWith('The test read fixture files'))!;
    expect(answer.metadata).toMatchObject({ model: 'gpt-5-codex', usage: { input_tokens: 6400, output_tokens: 310 }, totalUsage: { input_tokens: 11600 } });
    expect(all.filter((m) => m.metadata?.usage).length).toBe(2);
    expect(all[0].metadata).toMatchObject({ source: 'codex', role: 'developer', session: { id: '0199a0b1-6c2e-7d3f-9a41-2f5e8c1d7b10', cliVersion: '0.46.0', git: { branch: 'main' } } });
    const md = (await alice.ok(CodexTranscript, { id: imported.task.id, format: 'MARKDOWN' })).task!.transcript;
    expect(md).toContain('_model: gpt-5-codex_');
  });

  it('keeps the turn Codex rolled back as a branch off the main line', async () => {
    const all = await exported(imported.task.id);
    const answer = all.find((m) => textOf(m.content).startsWith('The test read fixture files'))!;
    const rolledBack = all.find((m) => textOf(m.content) === 'Also make the lexer test deterministic')!;
    const instead = all.find((m) => textOf(m.content) === 'Instead, add a regression test for the sort')!;
    expect(rolledBack.parentId).toBe(answer.id);
    expect(instead.parentId).toBe(answer.id);
    const { path } = await conversationOf(imported.task.id);
    expect(path.map((m) => m.id)).not.toContain(rolledBack.id);
    expect(all.find((m) => m.parentId === rolledBack.id)!.content).toEqual([{ type: 'text', text: 'I would rather not touch the lexer in this change.' }]);
  });

  it('keeps a compaction summary as a system message that says what it is', async () => {
    const { path } = await conversationOf(imported.task.id);
    expect(path[15].role).toBe('SYSTEM');
    expect(textOf(path[15].content)).toMatch(/^Codex compacted the conversation here: .*summary/);
    expect(textOf(path[15].content)).toContain('tokens are now sorted by position');
  });

  it("reports the lines it left out, with the reason: Codex's event copies, bookkeeping, a token count without usage", async () => {
    const byLine = Object.fromEntries(imported.skipped.map((s) => [s.line, s.reason]));
    expect(Object.keys(byLine).map(Number)).toEqual([7, 9, 15, 20, 22, 30, 33]);
    expect(byLine[7]).toMatch(/user_message event: Codex's copy of a message response item/);
    expect(byLine[9]).toMatch(/agent_reasoning event: Codex's copy of a reasoning response item/);
    expect(byLine[15]).toMatch(/patch_apply_end event/);
    expect(byLine[22]).toMatch(/ghost_snapshot/);
    expect(byLine[33]).toMatch(/token_count event without token usage/);
  });

  it('adds nothing when imported again, only the new records when the file grew, and a torn last line once it is whole', async () => {
    const again = await importCodex(rollout);
    expect(again.task.id).toBe(imported.task.id);
    expect(again.messageCount).toBe(0);
    const more = JSON.stringify(said('user', 'One more: update the changelog', '2026-11-21T09:03:00.000Z'));
    const last = JSON.stringify(said('assistant', 'Updated CHANGELOG.md.', '2026-11-21T09:03:09.000Z'));
    const torn = await importCodex(`${rollout}${more}\n${last.slice(0, 40)}`);
    expect(torn.task.id).toBe(imported.task.id);
    expect(torn.messageCount).toBe(1);
    expect(torn.skipped.at(-1)).toEqual({ line: 35, reason: expect.stringMatching(/^torn line/) });
    const whole = await importCodex(`${rollout}${more}\n${last}\n`);
    expect(whole.messageCount).toBe(1);
    expect(whole.task.messageCount).toBe(20);
    const { path } = await conversationOf(imported.task.id);
    expect(textOf(path.at(-1)!.content)).toBe('Updated CHANGELOG.md.');
    expect(textOf(path.at(-2)!.content)).toBe('One more: update the changelog');
  });

  it('makes a task a worker can resume', async () => {
    const resumed = await alice.ok(ResumeTask, { input: { taskId: imported.task.id } });
    expect(resumed.resumeTask.task.status).toBe('PENDING');
  });
});

describe('importTranscript from an older Codex rollout (no envelope)', () => {
  it('reads the meta line and the bare response items, and skips the state markers', async () => {
    const result = await importCodex(older);
    expect(result.messageCount).toBe(6);
    expect(result.task.name).toBe('Rename loadConfig to readConfig');
    expect(result.skipped.map((s) => s.line)).toEqual([2, 5, 10]);
    expect(result.skipped[0].reason).toMatch(/state marker/);
    const { path, events } = await conversationOf(result.task.id);
    expect(path.map((m) => m.role)).toEqual(['USER', 'USER', 'ASSISTANT', 'ASSISTANT', 'TOOL', 'ASSISTANT']);
    // Its lines have no time of their own: they take the session's.
    expect(new Set(path.map((m) => m.createdAt))).toEqual(new Set(['2025-08-14T10:00:00.000Z']));
    expect(path[2].content).toEqual([{ type: 'thinking', thinking: 'Find every caller of loadConfig first.' }]);
    expect(path[4].toolCalls).toMatchObject([{ type: 'tool_result', toolUseId: 'call_old_1', content: expect.stringContaining('src/config.ts:3') }]);
    expect(events.map((e) => e.type)).toEqual(['TOOL_CALL', 'TOOL_RESULT']);
    expect((await importCodex(older)).messageCount).toBe(0);
  });

  it('takes the counts of a token_count event written before they moved under info', async () => {
    const id = `older-usage-${crypto.randomUUID()}`;
    const result = await importCodex(lines(meta(id), said('user', 'count me'), said('assistant', 'counted'), event({ type: 'token_count', input_tokens: 900, cached_input_tokens: 0, output_tokens: 12, reasoning_output_tokens: 0, total_tokens: 912 })));
    expect(result.skipped).toEqual([]);
    const answer = (await exported(result.task.id)).find((m) => m.role === 'ASSISTANT')!;
    expect(answer.metadata.usage).toEqual({ input_tokens: 900, cached_input_tokens: 0, output_tokens: 12, reasoning_output_tokens: 0, total_tokens: 912 });
  });
});

describe('importTranscript from Codex: names and a session without meta', () => {
  it("names the task after Codex's thread name when the session has one", async () => {
    const result = await importCodex(lines(meta(`named-${crypto.randomUUID()}`), said('user', 'first words'), event({ type: 'thread_name_updated', thread_id: 'x', thread_name: 'Parser clean-up' })));
    expect(result.task.name).toBe('Parser clean-up');
    expect(result.task.prompt).toBe('first words');
  });

  it('knows a session without meta by its first line, so a grown file finds its task again', async () => {
    const first = JSON.stringify(said('user', `no meta ${crypto.randomUUID()}`));
    const once = await importCodex(lines(first));
    expect(once.skipped).toEqual([{ line: 0, reason: expect.stringMatching(/no session meta/) }]);
    const grown = await importCodex(lines(first, said('assistant', 'still here')));
    expect(grown.task.id).toBe(once.task.id);
    expect(grown.messageCount).toBe(1);
  });
});

describe('importTranscript from Codex: hostile lines are skipped with a reason, never fatal', () => {
  it('skips NUL bytes, lone surrogates, non-JSON, non-objects, unknown roles, bad times, an output with no call, and too deep arguments', async () => {
    const id = `hostile-${crypto.randomUUID()}`;
    let deep = '0';
    for (let i = 0; i < 200; i++) deep = `[${deep}]`;
    const result = await importCodex(
      lines(
        meta(id), // 1
        said('user', 'the real question'), // 2
        said('user', 'has a \u0000 NUL'), // 3
        said('assistant', 'a lone \ud800 surrogate'), // 4
        '{"timestamp": "2026-11-22T08:00:03.000Z", "type": "response_item", "payload": {"type": "mess', // 5
        '[1, 2, 3]', // 6
        '42', // 7
        item({ type: 'message', role: 'robot', content: [{ type: 'input_text', text: 'beep' }] }), // 8
        said('assistant', 'from year zero', '0000-01-01T00:00:00.000Z'), // 9
        item({ type: 'function_call_output', call_id: 'call_nobody', output: 'orphan output' }), // 10
        item({ type: 'function_call', name: 'shell', arguments: `{"command": ${deep}}`, call_id: 'call_deep' }), // 11
        item({ type: 'function_call_output', call_id: 'call_deep', output: 'deep output' }), // 12
        item({ type: 'function_call_output', call_id: 'call_deep', output: 'again' }), // 13
        event({ type: 'thread_rolled_back', num_turns: 5 }), // 14
        { timestamp: '2026-11-22T08:00:04.000Z', type: 'future_record', payload: {} }, // 15
        said('assistant', 'the answer'), // 16
        item({ type: 'message', role: '__proto__', content: [{ type: 'input_text', text: 'proto' }] }), // 17
        item({ type: 'constructor' }), // 18
        event({ type: '__proto__' }), // 19
      ),
    );
    const byLine = Object.fromEntries(result.skipped.map((s) => [s.line, s.reason]));
    expect(Object.keys(byLine).map(Number).sort((a, b) => a - b)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 17, 18, 19]);
    expect(byLine[3]).toMatch(/holds a NUL character/);
    expect(byLine[4]).toMatch(/unpaired UTF-16 surrogate|lone surrogate/);
    expect(byLine[5]).toMatch(/^torn line/);
    expect(byLine[6]).toMatch(/not a Codex rollout record/);
    expect(byLine[8]).toMatch(/without a known role/);
    expect(byLine[9]).toMatch(/its time .* outside the years 0001 to 9999/);
    expect(byLine[10]).toMatch(/function_call_output for call_id call_nobody, which no call before it in the file made/);
    expect(byLine[11]).toMatch(/nested more than 100 levels/);
    expect(byLine[13]).toMatch(/a second output for call_id call_deep \(the first is on line 12\)/);
    expect(byLine[14]).toMatch(/cannot roll back 5 turns of the 2 before it/);
    expect(byLine[15]).toMatch(/unknown record type "future_record"/);
    expect(byLine[17]).toMatch(/without a known role/);
    expect(byLine[18]).toMatch(/unknown response item type "constructor"/);
    expect(byLine[19]).toMatch(/__proto__ event: Codex's runtime record/);
    // The output of the call skipped for its depth is kept: it replies to the message before the call.
    expect(result.messageCount).toBe(3);
    const { path } = await conversationOf(result.task.id);
    expect(path.map((m) => m.role)).toEqual(['USER', 'TOOL', 'ASSISTANT']);
    expect(result.task.prompt).toBe('the real question');
  });

  it('keeps sessions whose ids hold a NUL, a lone surrogate or 3 MB apart, and finds each again', async () => {
    const tasks: string[] = [];
    for (const id of [`s\u0000${crypto.randomUUID()}`, `s\ud800${crypto.randomUUID()}`, `${crypto.randomUUID()}${'s'.repeat(3 * 1024 * 1024)}`]) {
      const content = lines(meta(id), said('user', `session ${tasks.length}`));
      const first = await importCodex(content);
      expect(first.messageCount).toBe(1);
      expect(first.skipped).toEqual([{ line: 1, reason: expect.stringMatching(/^the session meta .*, so it is not kept beside the first message/) }]);
      const again = await importCodex(content);
      expect(again.task.id).toBe(first.task.id);
      expect(again.messageCount).toBe(0);
      tasks.push(first.task.id);
    }
    expect(new Set(tasks).size).toBe(3);
  });

  it('skips a call whose call_id is 3 MB long as too large, and pairs nothing with it', async () => {
    const huge = `call_${'x'.repeat(3 * 1024 * 1024)}`;
    const result = await importCodex(lines(meta(`huge-call-${crypto.randomUUID()}`), said('user', 'go'), item({ type: 'function_call', name: 'shell', arguments: '{}', call_id: huge }), item({ type: 'function_call_output', call_id: huge, output: 'ok' })));
    expect(result.messageCount).toBe(1);
    expect(result.skipped.map((s) => s.line)).toEqual([3, 4]);
    expect(result.skipped[0].reason).toMatch(/bytes; the limit is/);
  });
});
