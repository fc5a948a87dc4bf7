// Transcripts: a Claude Code session imported as a task (tree, branches, sidechains, tool calls as
// toolCalls and as task events, images, metadata, torn lines, idempotent re-import), the Markdown
// export a reviewer reads, and the lossless JSONL round trip.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../src/generated/gql/index.js';
import { codes, type TestServer, type TestUser } from './harness.js';
import {
  appendMessages,
  checkpoint,
  ImportTranscript,
  recordTaskEvents,
  ResumeTask,
  RewindConversation,
  startImportServer,
  taskOnRepo,
  type Imported,
  type ImportServer,
  type TranscriptSource,
} from './fixtures.js';

const Transcript = graphql(`
  query Transcript($id: ID!, $format: TranscriptFormat) { task(id: $id) { transcript(format: $format) } }
`);
const TaskConversation = graphql(`
  query TaskConversation($id: ID!) {
    task(id: $id) {
      messageCount
      conversation(first: 100) { edges { node { id role content toolCalls index createdAt } } }
      events(first: 100) { edges { node { type data } } }
    }
  }
`);
const SearchIds = graphql(`
  query SearchIds($query: String!, $filter: SearchFilter) { search(query: $query, filter: $filter) { edges { node { kind task { id } node { id } } } } }
`);
const TaskPrompt = graphql(`
  query TaskPrompt($id: ID!) { task(id: $id) { prompt } }
`);
const ContractTasks = graphql(`
  query ContractTasks($id: ID!) { contract(id: $id) { tasks(first: 100) { edges { node { id } } } } }
`);

const FIXTURES = path.join(import.meta.dirname, 'fixtures', 'claude-code');
const session = fs.readFileSync(path.join(FIXTURES, 'session.jsonl'), 'utf8');
const continued = fs.readFileSync(path.join(FIXTURES, 'session-continued.jsonl'), 'utf8');

let t: TestServer;
let alice: TestUser;
let contractId: string;
let importAs: ImportServer['importAs'];

beforeAll(async () => {
  ({ t, alice, contractId, importAs } = await startImportServer());
});
afterAll(async () => t?.stop());

const importSession = (content: string, source: TranscriptSource = 'CLAUDE_CODE_JSONL') => importAs(source, content);

describe('importTranscript from Claude Code', () => {
  let imported: Imported;
  beforeAll(async () => {
    imported = await importSession(session);
  });

  it('imports every message, names the task after the summary and makes the most recent main-line leaf the head', async () => {
    expect(imported.messageCount).toBe(9);
    expect(imported.task.name).toBe('Fixing the flaky parser test');
    expect(imported.task.status).toBe('INTERRUPTED');
    const { task } = await alice.ok(TaskConversation, { id: imported.task.id });
    const path = task!.conversation.edges.map((e) => e.node);
    expect(path.map((m) => m.role)).toEqual(['USER', 'ASSISTANT', 'USER', 'ASSISTANT']);
    expect(path[2].content).toBe('Actually, run it with --runInBand instead');
    expect(path.map((m) => m.createdAt)).toEqual(['2026-11-20T10:00:00.000Z', '2026-11-20T10:00:05.000Z', '2026-11-20T10:01:00.000Z', '2026-11-20T10:01:05.000Z']);
    // The image and an unknown block type are kept in the content as they were.
    expect((path[0].content as { type: string }[]).map((b) => b.type)).toEqual(['text', 'image']);
    expect((path[3].content as { type: string }[]).map((b) => b.type)).toEqual(['thinking', 'text', 'server_tool_use_future']);
  });

  it('keeps tool calls and results as toolCalls and as task events, so search finds the shell command', async () => {
    const { task } = await alice.ok(TaskConversation, { id: imported.task.id });
    expect(task!.conversation.edges[1].node.toolCalls).toEqual([{ type: 'tool_use', id: 'toolu_01', name: 'Bash', input: { command: 'npm test -- parser', description: 'Run the parser tests' } }]);
    const events = task!.events.edges.map((e) => e.node);
    expect(events.map((e) => e.type)).toEqual(['TOOL_CALL', 'TOOL_RESULT']);
    expect(events[0].data).toMatchObject({ toolUseId: 'toolu_01', name: 'Bash', input: { command: 'npm test -- parser' } });
    expect(events[1].data).toMatchObject({ toolUseId: 'toolu_01', isError: true });
    const hits = (await alice.ok(SearchIds, { query: '"npm test"', filter: { taskId: imported.task.id, kinds: ['TASK_EVENT'] } })).search.edges;
    expect(hits.map((h) => h.node.kind)).toEqual(['TASK_EVENT']);
  });

  it('keeps the rewound branch as a branch, and the sidechain off the main line', async () => {
    const [branch] = (await alice.ok(SearchIds, { query: '"fixture file is missing"', filter: { taskId: imported.task.id } })).search.edges;
    const [sidechain] = (await alice.ok(SearchIds, { query: 'parseExpression', filter: { taskId: imported.task.id, roles: ['ASSISTANT'] } })).search.edges;
    expect(branch && sidechain).toBeTruthy();
    const { task } = await alice.ok(TaskConversation, { id: imported.task.id });
    const onPath = task!.conversation.edges.map((e) => e.node.id);
    expect(onPath).not.toContain(branch.node.node.id);
    expect(onPath).not.toContain(sidechain.node.node.id);
    // The old branch is a path of its own: user, assistant (tool call), tool result, assistant.
    const rewound = await alice.ok(RewindConversation, { input: { taskId: imported.task.id, toMessageId: branch.node.node.id } });
    expect(rewound.rewindConversation.task.messageCount).toBe(4);
    const after = await alice.ok(TaskConversation, { id: imported.task.id });
    expect(after.task!.conversation.edges.map((e) => e.node.role)).toEqual(['USER', 'ASSISTANT', 'TOOL', 'ASSISTANT']);
    await alice.ok(RewindConversation, { input: { taskId: imported.task.id, toMessageId: imported.task.headMessage!.id } });
  });

  it('reports skipped records with their line and reason: bookkeeping, unknown types, repeats, a torn line', async () => {
    const byLine = Object.fromEntries(imported.skipped.map((s) => [s.line, s.reason]));
    expect(Object.keys(byLine).map(Number)).toEqual([2, 6, 8, 10, 15]);
    expect(byLine[2]).toMatch(/file-history-snapshot/);
    expect(byLine[6]).toMatch(/queue-operation/);
    expect(byLine[8]).toMatch(/repeat of the record on line 7/);
    expect(byLine[10]).toMatch(/unknown record type "progress-tick"/);
    expect(byLine[15]).toMatch(/torn line/);
  });

  it('keeps model and usage, shown in the Markdown export', async () => {
    const md = (await alice.ok(Transcript, { id: imported.task.id, format: 'MARKDOWN' })).task!.transcript;
    expect(md).toContain('_model: claude-opus-4-1_');
    expect(md).toContain('**Tool call** `Bash`');
    expect(md).toContain('"command": "npm test -- parser"');
    expect(md).toContain('_[image: image/png');
    // The tool call once, its result under it (its Tool message is off the path: Claude Code rewound
    // after it), and the thinking after the reply, folded.
    expect(md.split('**Tool call** `Bash`').length - 1).toBe(1);
    expect(md).toMatch(/"description": "Run the parser tests"\n\}\n`{3,}\n\n\*\*Tool result\*\* \(error\)\n/);
    expect(md.split('**Tool result**').length - 1).toBe(1);
    expect(md).toMatch(/the race was in the shared temp directory\.\n\n_\[server_tool_use_future\]_\n\n<details><summary>as recorded<\/summary>[\s\S]*<details><summary>thinking… \(43 chars\)<\/summary>\n\nSerial runs avoid/);
    const jsonl = (await alice.ok(Transcript, { id: imported.task.id, format: 'JSONL' })).task!.transcript;
    const a1 = jsonl.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((r) => r.type === 'message' && r.metadata?.messageId === 'msg_01');
    expect(a1.metadata).toMatchObject({ model: 'claude-sonnet-4-5', usage: { input_tokens: 1200, output_tokens: 85 }, requestId: 'req_01' });
  });

  it('adds nothing when the same session is imported again, and only the new records when it grew', async () => {
    const again = await importSession(session);
    expect(again.task.id).toBe(imported.task.id);
    expect(again.messageCount).toBe(0);
    const grown = await importSession(continued);
    expect(grown.task.id).toBe(imported.task.id);
    expect(grown.messageCount).toBe(1);
    expect(grown.task.messageCount).toBe(5);
    const { task } = await alice.ok(TaskConversation, { id: imported.task.id });
    expect(task!.conversation.edges.at(-1)!.node.content).toBe('Great, commit it');
  });

  it('makes a task a worker can resume', async () => {
    const resumed = await alice.ok(ResumeTask, { input: { taskId: imported.task.id } });
    expect(resumed.resumeTask.task.status).toBe('PENDING');
  });

  it('refuses a transcript with no message, creating nothing', async () => {
    const before = (await alice.ok(ContractTasks, { id: contractId })).contract!.tasks.edges.length;
    const refused = await alice.gql(ImportTranscript, { input: { contractId, source: 'CLAUDE_CODE_JSONL', content: '{"type":"summary","summary":"x"}\nnot json\n' } });
    expect(codes(refused)).toEqual(['BAD_USER_INPUT']);
    const other = await t.createUser('mallory');
    expect(codes(await other.gql(ImportTranscript, { input: { contractId, source: 'CLAUDE_CODE_JSONL', content: session } }))).toEqual(['NOT_FOUND']);
    expect((await alice.ok(ContractTasks, { id: contractId })).contract!.tasks.edges.length).toBe(before);
  });
});

describe('importTranscript from Claude Code files whose records have no parentUuid key', () => {
  it("chains them in file order: claude-code-transcripts' fixture is one conversation of 7 messages", async () => {
    const sample = fs.readFileSync(path.join(FIXTURES, 'claude-code-transcripts', 'sample_session.jsonl'), 'utf8');
    const imported = await importSession(sample);
    expect(imported.messageCount).toBe(7);
    expect(imported.task.messageCount).toBe(7);
    const { task } = await alice.ok(TaskConversation, { id: imported.task.id });
    const line = task!.conversation.edges.map((e) => e.node);
    expect(line.map((m) => m.role)).toEqual(['USER', 'ASSISTANT', 'TOOL', 'ASSISTANT', 'TOOL', 'USER', 'ASSISTANT']);
    expect(line[0].content).toBe('Create a hello world function');
    expect(line[6].content).toEqual([{ type: 'text', text: 'Done! The hello function is ready.' }]);
  });

  it('keeps a "parentUuid": null record a root, and chains the main line and the sidechain each on its own', async () => {
    const line = (r: Record<string, unknown>) => JSON.stringify({ sessionId: 'no-parent-keys', timestamp: '2026-11-20T10:00:00.000Z', ...r });
    const content = [
      line({ type: 'user', uuid: 'u1', message: { role: 'user', content: 'first question' } }),
      line({ type: 'user', uuid: 's1', isSidechain: true, message: { role: 'user', content: 'sub-agent task' } }),
      line({ type: 'assistant', uuid: 'a1', message: { role: 'assistant', content: [{ type: 'text', text: 'first answer' }] } }),
      line({ type: 'assistant', uuid: 's2', isSidechain: true, message: { role: 'assistant', content: [{ type: 'text', text: 'sub-agent answer' }] } }),
      line({ type: 'user', uuid: 'u2', parentUuid: null, message: { role: 'user', content: 'a new root' } }),
      line({ type: 'assistant', uuid: 'a2', message: { role: 'assistant', content: [{ type: 'text', text: 'second answer' }] } }),
    ].join('\n');
    const imported = await importSession(content);
    expect(imported.messageCount).toBe(6);
    // The head is the newest main-line leaf: a2, which replies to the root u2 — not to a1.
    const { task } = await alice.ok(TaskConversation, { id: imported.task.id });
    expect(task!.conversation.edges.map((e) => e.node.content)).toEqual(['a new root', [{ type: 'text', text: 'second answer' }]]);
    const jsonl = (await alice.ok(Transcript, { id: imported.task.id, format: 'JSONL' })).task!.transcript;
    const records = jsonl.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.type === 'message');
    const textOf = (r: { content: unknown }) => (typeof r.content === 'string' ? r.content : (r.content as { text: string }[])[0].text);
    const parentText = new Map(records.map((r) => [textOf(r), records.find((p) => p.id === r.parentId)]));
    expect(Object.fromEntries([...parentText].map(([k, p]) => [k, p ? textOf(p) : null]))).toEqual({
      'first question': null,
      'sub-agent task': null,
      'first answer': 'first question',
      'sub-agent answer': 'sub-agent task',
      'a new root': null,
      'second answer': 'a new root',
    });
  });
});

/** A canonical form of a task's whole message tree: each message by its content and its parent's form. */
function treeOf(jsonl: string): { messages: string[]; head: string } {
  const records = jsonl.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const header = records.find((r) => r.type === 'task');
  const keyOf = new Map<string, string>();
  const messages: string[] = [];
  for (const m of records.filter((r) => r.type === 'message')) {
    const form = JSON.stringify({ parent: m.parentId ? keyOf.get(m.parentId) : null, role: m.role, content: m.content, toolCalls: m.toolCalls, index: m.index, createdAt: m.createdAt });
    const key = crypto.createHash('sha256').update(form).digest('hex');
    keyOf.set(m.id, key);
    messages.push(key);
  }
  return { messages: messages.sort(), head: keyOf.get(header.headMessageId)! };
}

describe('Task.transcript', () => {
  it('round-trips through JSONL into an identical conversation (branches, tool calls, times, head)', async () => {
    const a = await taskOnRepo(t, alice);
    const first = await appendMessages(alice, a.taskId, [
      { role: 'USER', content: 'Refactor the lexer' },
      { role: 'ASSISTANT', content: [{ type: 'text', text: 'Reading it.' }], toolCalls: [{ name: 'read_file', input: { path: 'src/lexer.ts' } }] },
      { role: 'TOOL', content: { output: 'export function lex() {}', exitCode: 0 } },
    ]);
    await alice.ok(RewindConversation, { input: { taskId: a.taskId, toMessageId: first.messages[1].id } });
    await appendMessages(alice, a.taskId, [{ role: 'USER', content: 'Skip that; write tests first ✓ "quoted" \\ back' }]);
    await recordTaskEvents(alice, a.taskId, [{ type: 'OUTPUT', data: { text: 'tests written' } }]);
    const original = (await alice.ok(Transcript, { id: a.taskId, format: 'JSONL' })).task!.transcript;
    const copy = await importSession(original, 'MAKIMA_JSONL');
    expect(copy.messageCount).toBe(4);
    expect(copy.skipped).toEqual([expect.objectContaining({ reason: expect.stringMatching(/rewound marker/) })]);
    const exported = (await alice.ok(Transcript, { id: copy.task.id, format: 'JSONL' })).task!.transcript;
    expect(treeOf(exported)).toEqual(treeOf(original));
    const [o, c] = await Promise.all([alice.ok(TaskConversation, { id: a.taskId }), alice.ok(TaskConversation, { id: copy.task.id })]);
    const strip = (r: typeof o) => r.task!.conversation.edges.map(({ node: { id: _id, ...rest } }) => rest);
    expect(strip(c)).toEqual(strip(o));
    expect(c.task!.events.edges.map((e) => e.node)).toEqual(o.task!.events.edges.map((e) => e.node));
    expect((await importSession(original, 'MAKIMA_JSONL')).messageCount).toBe(0);
  });

  it('writes Markdown a reviewer can read: tool calls, cut results, checkpoints with files, rewinds', async () => {
    const a = await taskOnRepo(t, alice);
    const sent = await appendMessages(alice, a.taskId, [
      { role: 'USER', content: 'Add a config loader' },
      { role: 'ASSISTANT', content: 'Writing src/config.ts', toolCalls: [{ name: 'write_file', input: { path: 'src/config.ts' } }] },
    ]);
    await recordTaskEvents(alice, a.taskId, [{ type: 'TOOL_RESULT', data: { content: 'x'.repeat(5000) } }]);
    fs.writeFileSync(path.join(a.worktree, 'src', 'config.ts'), 'export const a = 1;\nexport const b = 2;\n');
    await checkpoint(alice, a.taskId, 'Config loader');
    await alice.ok(RewindConversation, { input: { taskId: a.taskId, toMessageId: sent.messages[0].id } });
    const md = (await alice.ok(Transcript, { id: a.taskId })).task!.transcript;
    expect(md).toMatch(/^# worker task/);
    expect(md).toMatch(/### 1\. User · \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ/);
    expect(md).toContain('[truncated: 3,000 more characters]');
    expect(md).toContain('**Checkpoint #1**');
    expect(md).toContain('`src/config.ts` (added, +2 −0)');
    expect(md).toContain('**Conversation rewound** from 2 to 1 messages');
    expect(md).toContain('1 more message on other branches');
  });

  it("is NOT_FOUND for another user's task", async () => {
    const a = await taskOnRepo(t, alice);
    const bob = await t.createUser('bob');
    expect(codes(await bob.gql(Transcript, { id: a.taskId }))).toEqual(['NOT_FOUND']);
  });
});

/** A Claude Code session file of these records, one JSON line each (JSON.stringify writes a NUL or a lone surrogate as an escape). */
function claudeLines(...records: Record<string, unknown>[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + '\n';
}
function userRecord(uuid: string, text: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'user', uuid, parentUuid: null, sessionId: `bounds-${crypto.randomUUID()}`, timestamp: '2026-11-20T10:00:00.000Z', message: { role: 'user', content: text }, ...extra };
}
function assistantRecord(uuid: string, parentUuid: string, text: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'assistant', uuid, parentUuid, timestamp: '2026-11-20T10:00:05.000Z', message: { role: 'assistant', content: [{ type: 'text', text }] }, ...extra };
}

describe('importTranscript bounds: every record meets the bounds of the API inputs, or is skipped', () => {
  it('skips a record whose uuid holds a NUL or is 3 MB long, and attaches its reply to its parent', async () => {
    const sessionId = `bounds-${crypto.randomUUID()}`;
    const huge = 'u'.repeat(3 * 1024 * 1024);
    const result = await importSession(
      claudeLines(
        userRecord('root', 'first question', { sessionId }),
        assistantRecord('a\u0000b', 'root', 'nul id', { sessionId }),
        assistantRecord(huge, 'root', 'huge id', { sessionId }),
        userRecord('child', 'a reply to the NUL one', { sessionId, parentUuid: 'a\u0000b', timestamp: '2026-11-20T10:00:10.000Z' }),
        userRecord('orphan', 'a reply to a missing record whose id holds a NUL', { sessionId, parentUuid: 'gone\u0000', timestamp: '2026-11-20T10:00:09.000Z' }),
      ),
    );
    expect(result.messageCount).toBe(3);
    expect(result.skipped.map((s) => s.line)).toEqual([2, 3]);
    expect(result.skipped[0].reason).toMatch(/its id contains a NUL/);
    expect(result.skipped[1].reason).toMatch(/its id is 3145728 characters long; at most 200/);
    const { task } = await alice.ok(TaskConversation, { id: result.task.id });
    expect(task!.conversation.edges.map((e) => e.node.content)).toEqual(['first question', 'a reply to the NUL one']);
  });

  it('skips records whose time the database cannot store: year 0, year -5000, the earliest JavaScript time', async () => {
    const sessionId = `bounds-${crypto.randomUUID()}`;
    const result = await importSession(
      claudeLines(
        userRecord('t-root', 'kept', { sessionId }),
        assistantRecord('t-zero', 't-root', 'year zero', { sessionId, timestamp: '0000-01-01T00:00:00.000Z' }),
        assistantRecord('t-bc', 't-root', 'year -5000', { sessionId, timestamp: '-005000-01-01T00:00:00.000Z' }),
        assistantRecord('t-min', 't-root', 'earliest', { sessionId, timestamp: -8.64e15 }),
        assistantRecord('t-ok', 't-root', 'also kept', { sessionId }),
      ),
    );
    expect(result.messageCount).toBe(2);
    expect(result.skipped.map((s) => s.line)).toEqual([2, 3, 4]);
    for (const s of result.skipped) expect(s.reason).toMatch(/its time is .* outside the years 0001 to 9999/);
  });

  it('does not name the task after a summary with a NUL or a lone surrogate, and says so', async () => {
    for (const summary of ['bad\u0000summary', 'bad\ud800summary']) {
      const result = await importSession(claudeLines({ type: 'summary', summary }, userRecord(crypto.randomUUID(), 'the real question')));
      expect(result.task.name).toBe('the real question');
      expect(result.skipped).toEqual([{ line: 1, reason: expect.stringMatching(/summary record: its text contains (a NUL|an unpaired UTF-16 surrogate)/) }]);
    }
  });

  it('takes the prompt from the first user message imported, not from one skipped for a NUL', async () => {
    const sessionId = `bounds-${crypto.randomUUID()}`;
    const result = await importSession(claudeLines(userRecord('p1', 'has a \u0000 NUL', { sessionId }), userRecord('p2', 'clean prompt', { sessionId })));
    expect(result.messageCount).toBe(1);
    const { task } = await alice.ok(TaskPrompt, { id: result.task.id });
    expect(task!.prompt).toBe('clean prompt');
    expect(result.task.name).toBe('clean prompt');
  });

  it('keeps sessions whose ids hold a NUL, a lone surrogate or 3 MB apart, and re-imports each into its own task', async () => {
    const ids = ['s\u0000x', 's\ud800', 's\ud801', 's\udc00', `${'s'.repeat(3 * 1024 * 1024)}`];
    const tasks: string[] = [];
    for (const sessionId of ids) {
      const content = claudeLines(userRecord(crypto.randomUUID(), `session ${tasks.length}`, { sessionId }));
      const first = await importSession(content);
      expect(first.messageCount).toBe(1);
      const again = await importSession(content);
      expect(again.task.id).toBe(first.task.id);
      expect(again.messageCount).toBe(0);
      tasks.push(first.task.id);
    }
    expect(new Set(tasks).size).toBe(ids.length);
  });

  it('skips what a makima transcript holds that cannot be stored: a NUL in the header, a message id, an event', async () => {
    const header = { type: 'task', format: 'makima-transcript', version: 1, id: `h\u0000${crypto.randomUUID()}`, name: 'n\u0000', prompt: 'p\ud800' };
    const lines = [
      header,
      { type: 'message', id: crypto.randomUUID(), parentId: null, role: 'USER', content: 'kept', createdAt: '2026-11-20T10:00:00.000Z' },
      { type: 'message', id: 'm\u0000', parentId: null, role: 'USER', content: 'bad id' },
      { type: 'event', eventType: 'OUTPUT', data: { 'k\u0000': 1 } },
      { type: 'event', eventType: 'OUTPUT', data: { text: 'ok' }, createdAt: '0000-01-01T00:00:00Z' },
    ];
    const result = await importSession(lines.map((l) => JSON.stringify(l)).join('\n'), 'MAKIMA_JSONL');
    expect(result.messageCount).toBe(1);
    expect(result.task.name).toBe('kept');
    expect(result.skipped.map((s) => s.line).sort()).toEqual([1, 1, 3, 4, 5]);
  });
});
