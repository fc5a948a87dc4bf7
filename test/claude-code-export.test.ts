// Back to Claude Code: Task.transcript(format: CLAUDE_CODE) writes a session file `claude --resume`
// reads (checked line by line against the documented format), from the head, a message or a
// checkpoint; importing the export gives back the same conversation; Codex's and ACP agents' blocks
// are mapped to Claude Code's; `makima task export --install` files it where Claude Code looks.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../src/generated/gql/index.js';
import { codes, tempDir, type TestServer, type TestUser } from './harness.js';
import { appendMessages, checkpoint, startImportServer, taskOnRepo, type ImportServer } from './fixtures.js';
import { claudeCodeProblems } from './claude-code-format.js';
import { runMakima } from './cli/run.js';

const ClaudeCodeTranscript = graphql(`
  query ClaudeCodeTranscript($id: ID!, $format: TranscriptFormat, $at: ID, $cwd: String) { task(id: $id) { transcript(format: $format, at: $at, cwd: $cwd) } }
`);
const PathOf = graphql(`
  query ExportedPath($id: ID!) {
    task(id: $id) { name messageCount conversation(first: 100) { edges { node { id role content toolCalls createdAt } } } }
  }
`);

const FIXTURES = path.join(import.meta.dirname, 'fixtures');
const roundTrip = fs.readFileSync(path.join(FIXTURES, 'claude-code', 'round-trip.jsonl'), 'utf8');
const session = fs.readFileSync(path.join(FIXTURES, 'claude-code', 'session.jsonl'), 'utf8');
const codex = fs.readFileSync(path.join(FIXTURES, 'codex', 'rollout-2026-11-21T09-00-00-0199a0b1-6c2e-7d3f-9a41-2f5e8c1d7b10.jsonl'), 'utf8');

let t: TestServer;
let alice: TestUser;
let importAs: ImportServer['importAs'];

beforeAll(async () => {
  ({ t, alice, importAs } = await startImportServer());
});
afterAll(async () => t?.stop());

async function exported(id: string, vars: { at?: string; cwd?: string } = {}): Promise<string> {
  return (await alice.ok(ClaudeCodeTranscript, { id, format: 'CLAUDE_CODE', ...vars })).task!.transcript;
}

async function conversation(id: string) {
  const { task } = await alice.ok(PathOf, { id });
  return { name: task!.name, messages: task!.conversation.edges.map(({ node: { role, content, toolCalls, createdAt } }) => ({ role, content, toolCalls, createdAt })) };
}

function records(file: string): Record<string, unknown>[] {
  return file.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('Task.transcript(format: CLAUDE_CODE)', () => {
  it('writes a session that matches the format, and importing it gives back the same conversation', async () => {
    const original = await importAs('CLAUDE_CODE_JSONL', roundTrip);
    expect(original.skipped).toEqual([]);
    const file = await exported(original.task.id);
    expect(claudeCodeProblems(file)).toEqual([]);
    const [summary, ...lines] = records(file);
    expect(summary).toEqual({ type: 'summary', summary: 'Add a verbose flag', leafUuid: lines.at(-1)!.uuid });
    // A new session of its own.
    const sessionId = lines[0].sessionId as string;
    expect(sessionId).not.toBe('7c0e4a52-3f1d-4b8e-9a6c-2d5f8e1b3c70');
    expect(lines.every((r) => r.sessionId === sessionId)).toBe(true);
    // Claude Code's records keep what it wrote: the turn's message id across its records, the model, usage, tool results.
    expect(lines.map((r) => r.type)).toEqual(['user', 'assistant', 'assistant', 'assistant', 'user', 'user', 'assistant', 'user', 'user', 'assistant', 'user']);
    expect(lines.slice(1, 4).map((r) => (r.message as { id: string }).id)).toEqual(['msg_01A', 'msg_01A', 'msg_01A']);
    expect(lines[1].message).toMatchObject({ model: 'claude-sonnet-4-5', usage: { input_tokens: 10, output_tokens: 5, cache_read_input_tokens: 100 } });
    expect(lines[4].toolUseResult).toEqual({ type: 'text', file: { filePath: '/home/dev/cli-tool/src/cli.ts', numLines: 2 } });
    // Claude Code's own thinking keeps its signature, which the model checks when the session goes on.
    expect(lines[1].message).toMatchObject({ content: [{ type: 'thinking', signature: 'EqQBCkYIBxgCKkBsig==' }] });

    const again = await importAs('CLAUDE_CODE_JSONL', file);
    expect(again.task.id).not.toBe(original.task.id); // a new session id is a new session: a task of its own
    expect(again.skipped).toEqual([]);
    expect(await conversation(again.task.id)).toEqual(await conversation(original.task.id));
    expect(again.task.messageCount).toBe(11);
  });

  it("ends at a message on another branch, or at a checkpoint's conversation", async () => {
    const original = await importAs('CLAUDE_CODE_JSONL', session);
    const { messages } = await conversation(original.task.id);
    expect(messages.map((m) => m.role)).toEqual(['USER', 'ASSISTANT', 'USER', 'ASSISTANT']);
    // The head's path as Claude Code wrote it (its unanswered tool call included) comes back the same.
    const head = await exported(original.task.id);
    expect(claudeCodeProblems(head, { extraBlockTypes: ['server_tool_use_future'], pairing: false })).toEqual([]);
    const copy = await importAs('CLAUDE_CODE_JSONL', head);
    expect((await conversation(copy.task.id)).messages).toEqual(messages);

    // The other branch: root → the system note after the tool's result.
    const tree = records((await alice.ok(ClaudeCodeTranscript, { id: original.task.id, format: 'JSONL' })).task!.transcript);
    const note = tree.find((r) => r.type === 'message' && r.role === 'SYSTEM')!;
    const branch = await exported(original.task.id, { at: note.id as string });
    expect(claudeCodeProblems(branch, { extraBlockTypes: ['server_tool_use_future'] })).toEqual([]);
    expect(records(branch).slice(1).map((r) => r.type)).toEqual(['user', 'assistant', 'user', 'assistant', 'system']);

    const f = await taskOnRepo(t, alice);
    await appendMessages(alice, f.taskId, [
      { role: 'USER', content: 'Rename the module' },
      { role: 'ASSISTANT', content: { text: 'Renamed.' } },
    ]);
    fs.writeFileSync(path.join(f.worktree, 'renamed.ts'), 'export {};\n');
    const cp = await checkpoint(alice, f.taskId, 'rename');
    await appendMessages(alice, f.taskId, [{ role: 'USER', content: 'Now undo it' }]);
    const atCheckpoint = records(await exported(f.taskId, { at: cp.id }));
    expect(atCheckpoint.slice(1).map((r) => (r.message as { content: unknown }).content)).toEqual(['Rename the module', [{ type: 'text', text: 'Renamed.' }]]);
    // The task's worktree is the default working directory.
    expect(atCheckpoint[1].cwd).toBe(f.worktree);
    expect(atCheckpoint[1].gitBranch).toBe(f.branch);
  });

  it("maps Codex's reasoning, calls and outputs to Claude Code's blocks, every call answered", async () => {
    const original = await importAs('CODEX_JSONL', codex);
    const file = await exported(original.task.id);
    expect(claudeCodeProblems(file)).toEqual([]);
    const lines = records(file).slice(1);
    const objects = lines.flatMap((r) => {
      const content = (r.message as { content?: unknown } | undefined)?.content;
      return Array.isArray(content) ? (content as Record<string, unknown>[]) : [];
    });
    // Codex's reasoning has no signature the model would take back: it stays in makima, out of the file.
    expect((await conversation(original.task.id)).messages.some((m) => JSON.stringify(m.content).includes('"thinking"'))).toBe(true);
    expect(objects.filter((b) => b.type === 'thinking')).toEqual([]);
    const uses = objects.filter((b) => b.type === 'tool_use').map((b) => b.id);
    const results = objects.filter((b) => b.type === 'tool_result').map((b) => b.tool_use_id);
    expect(uses.length).toBeGreaterThan(0);
    expect(results).toEqual(expect.arrayContaining(uses));
    // The developer's instructions are a system record; the model is the one Codex recorded.
    expect(lines.find((r) => r.type === 'system')?.content).toContain('Filesystem sandboxing');
    expect(lines.filter((r) => r.type === 'assistant').every((r) => (r.message as { model: string }).model === 'gpt-5-codex' || (r.message as { model: string }).model === '<synthetic>')).toBe(true);
  });

  it("maps an ACP agent's thoughts, images and resources, and answers a call left without a result", async () => {
    const f = await taskOnRepo(t, alice);
    await appendMessages(alice, f.taskId, [
      { role: 'USER', content: [{ type: 'text', text: 'Look at the logo' }, { type: 'resource_link', name: 'logo.png', uri: 'file:///repo/logo.png' }, { type: 'image', data: 'iVBORw0KGgo=', mimeType: 'image/png' }] },
      {
        role: 'ASSISTANT',
        content: [
          { type: 'thought', text: 'The user wants a description.' },
          { type: 'thinking', thinking: 'A signed thought.', signature: 'EqQBCkYIBxgCKkBsig==' },
          { type: 'text', text: 'It is a circle.', annotations: { audience: ['user'] } },
          { type: 'image', data: 'iVBORw0KGgo=', mimeType: 'image/png' },
          { type: 'tool_use', id: 'call 1/read', name: 'read', input: 'logo.png' },
        ],
      },
      { role: 'TOOL', content: [{ type: 'tool_result', tool_use_id: 'never-called', content: [{ type: 'content', content: { type: 'text', text: 'orphan output' } }] }] },
      { role: 'ASSISTANT', content: 'Anything else?' },
    ]);
    const file = await exported(f.taskId, { cwd: '/home/dev/logo' });
    expect(claudeCodeProblems(file)).toEqual([]);
    const lines = records(file).slice(1);
    expect(lines.every((r) => r.cwd === '/home/dev/logo')).toBe(true);
    const content = lines.map((r) => (r.message as { content: unknown }).content);
    expect(content[0]).toEqual([
      { type: 'text', text: 'Look at the logo' },
      { type: 'text', text: '[resource logo.png: file:///repo/logo.png]' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
    ]);
    const [thinking, text, image, use] = content[1] as Record<string, unknown>[];
    // The unsigned thought is left out (the model would refuse it); a signed one is kept as it was.
    expect(thinking).toEqual({ type: 'thinking', thinking: 'A signed thought.', signature: 'EqQBCkYIBxgCKkBsig==' });
    expect(text).toEqual({ type: 'text', text: 'It is a circle.' });
    // The model's turn holds no image in the Messages API: it says what was there.
    expect(image).toEqual({ type: 'text', text: '[image: image/png]' });
    expect(use).toMatchObject({ type: 'tool_use', name: 'read', input: { input: 'logo.png' } });
    expect(use.id).toMatch(/^toolu_[0-9a-f]{24}$/);
    // The orphan result becomes text, after the missing result of the call.
    expect(content[2]).toEqual([expect.objectContaining({ type: 'tool_result', tool_use_id: use.id, is_error: true })]);
    expect(lines[2].parentUuid).toBe(lines[1].uuid);
    expect(content[3]).toEqual([{ type: 'text', text: 'Result of tool call never-called:\n[{"type":"text","text":"orphan output"}]' }]);
    expect(content[4]).toEqual([{ type: 'text', text: 'Anything else?' }]);
  });

  it('refuses what it cannot write, changing nothing', async () => {
    const f = await taskOnRepo(t, alice);
    const [own] = (await appendMessages(alice, f.taskId, [{ role: 'USER', content: 'hi' }])).messages;
    const other = await taskOnRepo(t, alice);
    const [foreign] = (await appendMessages(alice, other.taskId, [{ role: 'USER', content: 'elsewhere' }])).messages;
    const bob = await t.createUser('bob');
    const attempts: [TestUser, Record<string, unknown>, string][] = [
      [alice, { format: 'CLAUDE_CODE', cwd: 'relative/dir' }, 'BAD_USER_INPUT'],
      [alice, { format: 'CLAUDE_CODE', at: foreign.id }, 'BAD_USER_INPUT'],
      [alice, { format: 'CLAUDE_CODE', at: 'not-an-id' }, 'BAD_USER_INPUT'],
      [alice, { format: 'CLAUDE_CODE', at: '00000000-0000-4000-8000-000000000000' }, 'NOT_FOUND'],
      [alice, { format: 'MARKDOWN', at: own.id }, 'BAD_USER_INPUT'],
      [bob, { format: 'CLAUDE_CODE', at: own.id }, 'NOT_FOUND'],
    ];
    for (const [user, vars, code] of attempts) {
      const result = await user.gql(ClaudeCodeTranscript, { id: f.taskId, ...vars } as never);
      expect(codes(result), JSON.stringify(vars)).toContain(code);
    }
    const empty = await taskOnRepo(t, alice);
    expect(codes(await alice.gql(ClaudeCodeTranscript, { id: empty.taskId, format: 'CLAUDE_CODE' }))).toContain('BAD_USER_INPUT');
  });
});

describe('makima task export --format claude-code', () => {
  it("installs the session in Claude Code's projects folder and prints the command that resumes it", async () => {
    const original = await importAs('CLAUDE_CODE_JSONL', roundTrip.replaceAll('7c0e4a52-3f1d-4b8e-9a6c-2d5f8e1b3c70', '7c0e4a52-3f1d-4b8e-9a6c-2d5f8e1b3c71'));
    const home = tempDir('makima-home-');
    const cwd = path.join(home, 'my_repo.v2');
    fs.mkdirSync(cwd);
    const env = { MAKIMA_URL: t.url, MAKIMA_TOKEN: alice.token, HOME: home };
    const run = await runMakima(['task', 'export', original.task.id, '--format', 'claude-code', '--cwd', cwd, '--install'], env);
    expect(run.code).toBe(0);
    const [, sessionId] = /claude --resume ([0-9a-f-]{36})/.exec(run.stdout)!;
    expect(run.stdout).toContain(`cd ${cwd} && claude --resume ${sessionId}`);
    const folder = path.join(home, '.claude', 'projects', cwd.replace(/[^A-Za-z0-9]/g, '-'));
    expect(folder.endsWith('-my-repo-v2')).toBe(true);
    const file = fs.readFileSync(path.join(folder, `${sessionId}.jsonl`), 'utf8');
    expect(claudeCodeProblems(file)).toEqual([]);
    expect(records(file)[1]).toMatchObject({ sessionId, cwd });

    const usage = await runMakima(['task', 'export', original.task.id, '--install'], env);
    expect(usage.code).not.toBe(0);
    expect(usage.stderr).toContain('--format claude-code');
  });
});
