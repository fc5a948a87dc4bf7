// `makima task history` reads as a conversation (docs/cli.md, "task history"), for sessions imported
// from Claude Code and Codex and for a task an ACP agent ran: content as text and never raw JSON,
// thinking folded to one line after the reply (in full with --thinking), each tool call once with
// its result under it, and an ACP agent's streamed chunks folded into their turn's message — or, for
// a turn still being written, joined into one line of text.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '../harness.js';
import { claim, CompleteTask, createContract, createTask, ImportTranscript, recordTaskEvents, type TranscriptSource } from '../fixtures.js';
import { ACP_AGENT_COMMAND } from '../acp.js';
import { runMakima } from './run.js';

const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures');
const read = (...parts: string[]) => fs.readFileSync(path.join(FIXTURES, ...parts), 'utf8');

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => t?.stop());

const env = (user: TestUser) => ({ MAKIMA_URL: t.url, MAKIMA_TOKEN: user.token });

async function history(user: TestUser, taskId: string, ...flags: string[]): Promise<string[]> {
  const result = await runMakima(['task', 'history', taskId, ...flags], env(user));
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return result.stdout.trimEnd().split('\n');
}

/** The kind column of an entry's first line (continuation lines are indented and have none). */
const kinds = (lines: string[]) => lines.slice(1).filter((l) => !l.startsWith(' ')).map((l) => l.split(/\s+/)[1]);
/** Content blocks as JSON: what a reader must never be shown. */
const RAW_CONTENT = /\{"type":"(text|thinking|thought|image|tool_use|tool_result)"/;
const count = (lines: string[], text: string) => lines.join('\n').split(text).length - 1;

async function imported(user: TestUser, source: TranscriptSource, content: string): Promise<string> {
  const contract = await createContract(user, await t.makeRepo());
  return (await user.ok(ImportTranscript, { input: { contractId: contract.id, source, content } })).importTranscript.task.id;
}

describe('makima task history of an imported Claude Code session', () => {
  it('reads as text: the reply before its folded thinking, each tool call once with its result under it, images as a mention', async () => {
    const user = await t.createUser();
    const taskId = await imported(user, 'CLAUDE_CODE_JSONL', read('claude-code', 'session.jsonl'));
    const lines = await history(user, taskId);
    const text = lines.join('\n');
    expect(text).not.toMatch(RAW_CONTENT);
    // The tool result is under its call, not again as a TOOL message nor as tool events (its
    // message is off the path: Claude Code rewound after it).
    expect(kinds(lines)).toEqual(['user', 'assistant', 'user', 'assistant', 'task/created', 'task/usage']);
    const call = lines.findIndex((l) => l.includes('→ Bash'));
    expect(lines[call]).toContain('{"command":"npm test -- parser","description":"Run the parser tests"}');
    expect(lines[call + 1]).toMatch(/^\s+← error: .*FAIL/);
    expect(count(lines, '→ Bash')).toBe(1);
    expect(lines.find((l) => /\suser\s/.test(l))).toMatch(/Fix the flaky parser test/);
    expect(text).toContain('[image: image/png');
    // The reply first, then its thinking folded to its length.
    const reply = lines.findIndex((l) => l.includes('With --runInBand the parser suite passes'));
    expect(reply).toBeGreaterThan(0);
    expect(lines.slice(reply + 1).find((l) => l.includes('thinking'))).toMatch(/^\s+▸ thinking… \(43 chars\)$/);
    expect(text).not.toContain('Serial runs avoid');

    // The usage the session reported, summed on the task (msg_01 counts its 900 cache-read tokens as input).
    const show = await runMakima(['task', 'show', taskId], env(user));
    expect(show.stdout).toMatch(/^\s+usage\s+5,000 input tokens, 145 output tokens$/m);

    const full = (await history(user, taskId, '--thinking')).join('\n');
    expect(full).toContain('▸ thinking:');
    expect(full).toContain('Serial runs avoid the shared temp dir race.');
  });
});

describe('makima task history of an imported Codex rollout', () => {
  it('folds the reasoning and shows each function call once, its output under it', async () => {
    const user = await t.createUser();
    const taskId = await imported(user, 'CODEX_JSONL', read('codex', 'rollout-2026-11-21T09-00-00-0199a0b1-6c2e-7d3f-9a41-2f5e8c1d7b10.jsonl'));
    const lines = await history(user, taskId);
    const text = lines.join('\n');
    expect(text).not.toMatch(RAW_CONTENT);
    expect(kinds(lines)).not.toContain('tool');
    expect(kinds(lines)).not.toContain('tool_call');
    expect(kinds(lines)).not.toContain('tool_result');
    expect(text).toMatch(/▸ thinking… \(\d+ chars\)/);
    for (const name of ['shell', 'apply_patch', 'local_shell']) {
      const call = lines.findIndex((l) => l.includes(`→ ${name} `));
      expect(call, name).toBeGreaterThan(0);
      expect(count(lines, `→ ${name} `), name).toBe(1);
      expect(lines[call + 1], name).toMatch(/^\s+← (result|error): /);
    }
  });
});

describe('makima task history of a task an ACP agent ran', { timeout: 240_000 }, () => {
  it("folds the turn's chunks into its message, thoughts folded, each tool call once with its result under it", async () => {
    const user = await t.createUser();
    const contract = await createContract(user, await t.makeRepo());
    const supervisor = await claim(user, 'setup');
    await user.ok(CompleteTask, { input: { taskId: supervisor!.task.id, workerId: 'setup' } });
    const task = await createTask(user, contract.id, 'acp task', { prompt: 'Write a, b and c.' });
    const run = await runMakima(['worker', '--acp', ACP_AGENT_COMMAND, '--once'], { ...env(user), ACP_AGENT_MODE: 'work', ACP_AGENT_LOG: path.join(t.scratchDir(), 'agent.jsonl') });
    expect(run.code).toBe(0);

    const lines = await history(user, task.id);
    const text = lines.join('\n');
    expect(text).not.toContain('agent_message_chunk');
    expect(text).not.toContain('agent_thought_chunk');
    expect(text).not.toMatch(RAW_CONTENT);
    expect(lines[lines.findIndex((l) => l.includes('Write a.txt')) + 1]).toMatch(/^\s+permission allowed \(policy default\)$/);
    expect(count(lines, 'Hello, world. Done.')).toBe(1);
    const reply = lines.findIndex((l) => l.includes('Hello, world. Done.'));
    expect(lines[reply + 1]).toMatch(/^\s+▸ thinking… \(14 chars\)$/);
    expect(kinds(lines)).not.toContain('tool_result');
    for (const title of ['Write a.txt', 'Write b.txt', 'Run a command']) {
      const call = lines.findIndex((l) => /\stool_call\s/.test(l) && l.includes(title));
      expect(call, title).toBeGreaterThan(0);
      expect(count(lines, title), title).toBe(1);
      expect(lines.slice(call + 1).find((l) => l.includes('←')), title).toMatch(/^\s+← completed/);
    }
    expect(text).toMatch(/← completed: new file \S*a\.txt: alpha/); // the diff reads as text
    expect(text).toMatch(/← completed: ran in \S+$/m); // the terminal's raw output as its text
    expect((await history(user, task.id, '--thinking')).join('\n')).toContain('Thinking hard.');
  });

  it('joins the chunks of a turn still being written into one line of text', async () => {
    const user = await t.createUser();
    const contract = await createContract(user, await t.makeRepo());
    const supervisor = await claim(user, 'setup');
    await user.ok(CompleteTask, { input: { taskId: supervisor!.task.id, workerId: 'setup' } });
    const task = await createTask(user, contract.id, 'running', { prompt: 'Say hello.' });
    const held = await claim(user, 'w1');
    expect(held!.task.id).toBe(task.id);
    // The events a worker --acp records while the agent streams (worker-acp-turn.ts), before the turn's message.
    await recordTaskEvents(user, task.id, [
      { type: 'OUTPUT', data: { acp: 'agent_thought_chunk', content: { type: 'thought', text: 'Let me think.' } } },
      { type: 'OUTPUT', data: { acp: 'agent_message_chunk', content: { type: 'text', text: 'Hel' } } },
      { type: 'OUTPUT', data: { acp: 'agent_message_chunk', content: { type: 'text', text: 'lo there' } } },
    ], { workerId: 'w1' });
    const lines = await history(user, task.id);
    expect(lines.filter((l) => /\sassistant…\s/.test(l)).map((l) => l.replace(/^.*assistant…\s+/, ''))).toEqual(['▸ thinking… (13 chars)', 'Hello there']);
    expect(lines.join('\n')).not.toContain('agent_message_chunk');
  });
});
