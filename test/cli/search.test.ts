// `makima search`, `makima task-export` and `makima import` as a user runs them against a real server.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, tempDir, type TestServer, type TestUser } from '../harness.js';
import { appendMessages, createContract, recordTaskEvents, taskOnRepo } from '../fixtures.js';
import { runMakima } from './run.js';

const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'claude-code');
const CODEX_FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'codex');

let t: TestServer;
let user: TestUser;
beforeAll(async () => {
  t = await startTestServer();
  user = await t.createUser();
});
afterAll(async () => t?.stop());

const env = () => ({ MAKIMA_URL: t.url, MAKIMA_TOKEN: user.token });

describe('makima search', () => {
  it('prints each hit with its task, kind, highlighted snippet and the command to fork from it', async () => {
    const f = await taskOnRepo(t, user);
    const { messages } = await appendMessages(user, f.taskId, [{ role: 'USER', content: 'Why does the tokenizer choke on emoji?' }]);
    await recordTaskEvents(user, f.taskId, [{ type: 'TOOL_CALL', data: { tool: 'bash', command: 'npm run tokenizer-fuzz' } }]);
    const result = await runMakima(['search', 'tokenizer', '--task', f.taskId, '--since', '1h'], env());
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('worker task');
    expect(result.stdout).toContain('[tokenizer]');
    expect(result.stdout).toContain(`makima task fork ${f.taskId} --message ${messages[0].id}`);
    expect(result.stdout).toContain('event 1 (tool_call)');
    const json = await runMakima(['search', 'tokenizer', '--task', f.taskId, '--kind', 'message', '--json'], env());
    const parsed = JSON.parse(json.stdout);
    expect(parsed.edges.map((e: { node: { node: { id: string } } }) => e.node.node.id)).toEqual([messages[0].id]);
    expect(parsed.edges[0].node.snippet).toContain('<mark>tokenizer</mark>');
  });

  it('refuses a bad --since and a bad --kind in one line', async () => {
    const since = await runMakima(['search', 'x', '--since', 'yesterday-ish'], env());
    expect(since.code).not.toBe(0);
    expect(since.stderr).toMatch(/duration before now/);
    const kind = await runMakima(['search', 'x', '--kind', 'file'], env());
    expect(kind.code).not.toBe(0);
    expect(kind.stderr).toMatch(/message, event, checkpoint/);
  });
});

describe('makima import and task-export', () => {
  it('imports a Claude Code project folder with progress, idempotently, and exports the task both ways', async () => {
    const contract = await createContract(user, await t.makeRepo());
    const dir = tempDir('makima-claude-project-');
    fs.copyFileSync(path.join(FIXTURES, 'session.jsonl'), path.join(dir, 'a-session.jsonl'));
    fs.writeFileSync(path.join(dir, 'b-other.jsonl'), JSON.stringify({ type: 'user', uuid: 'x1', parentUuid: null, sessionId: 'other-session', timestamp: '2026-11-21T09:00:00.000Z', message: { role: 'user', content: 'Second session: rename the lexer' } }) + '\n');
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not a session');
    const first = await runMakima(['import', dir, '--contract', contract.id], env());
    expect(first.code).toBe(0);
    expect(first.stderr).toBe(''); // no progress bar but on a terminal
    expect(first.stdout).toMatch(/a-session\.jsonl → Fixing the flaky parser test .*: 9 messages added, 4 on the conversation/);
    expect(first.stdout).toContain('skipped line 15: torn line');
    expect(first.stdout).toMatch(/b-other\.jsonl → Second session: rename the lexer .*: 1 messages added/);
    const again = await runMakima(['import', path.join(dir, 'a-session.jsonl'), '--contract', contract.id, '--json'], env());
    const result = JSON.parse(again.stdout);
    expect(result.added).toBe(0);
    const taskId = result.task.id;

    const md = await runMakima(['task-export', taskId], env());
    expect(md.code).toBe(0);
    expect(md.stdout).toMatch(/^# Fixing the flaky parser test/);
    const out = path.join(dir, 'export.jsonl');
    const jsonl = await runMakima(['task-export', taskId, '--format', 'jsonl', '-o', out], env());
    expect(jsonl.code).toBe(0);
    expect(jsonl.stderr).toContain(`to ${out}`);
    const copy = await runMakima(['import', out, '--contract', contract.id, '--source', 'makima', '--name', 'copy', '--json'], env());
    expect(JSON.parse(copy.stdout)).toMatchObject({ added: 9, task: { name: 'copy', messageCount: 4 } });
  });

  it("imports Codex's sessions folder (YYYY/MM/DD/rollout-*.jsonl) with --source codex, idempotently", async () => {
    const contract = await createContract(user, await t.makeRepo());
    const sessions = tempDir('makima-codex-sessions-');
    for (const file of fs.readdirSync(CODEX_FIXTURES)) {
      const day = path.join(sessions, ...file.slice('rollout-'.length, 'rollout-YYYY-MM-DD'.length).split('-'));
      fs.mkdirSync(day, { recursive: true });
      fs.copyFileSync(path.join(CODEX_FIXTURES, file), path.join(day, file));
    }
    fs.writeFileSync(path.join(sessions, '2026', '11', '21', 'notes.jsonl'), 'not a rollout\n');
    const first = await runMakima(['import', sessions, '--contract', contract.id, '--source', 'codex'], env());
    expect(first.stderr).toBe(''); // no progress bar but on a terminal
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/rollout-2025-08-14T10-00-00-.*\.jsonl → Rename loadConfig to readConfig .*: 6 messages added/);
    expect(first.stdout).toMatch(/rollout-2026-11-21T09-00-00-.*\.jsonl → The parser test is flaky; find out why and fix it .*: 20 messages added, 18 on the conversation/);
    expect(first.stdout).toContain('skipped line 7: user_message event');
    const again = await runMakima(['import', sessions, '--contract', contract.id, '--source', 'codex', '--json'], env());
    expect(JSON.parse(again.stdout).map((r: { added: number }) => r.added)).toEqual([0, 0]);
    const wrong = await runMakima(['import', sessions, '--contract', contract.id, '--source', 'openai'], env());
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/claude-code, codex or makima/);
  });

  it('fails in one line for a missing file and for a folder without sessions', async () => {
    const missing = await runMakima(['import', '/nonexistent/session.jsonl', '--contract', 'x'], env());
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('makima: /nonexistent/session.jsonl does not exist\n');
    const empty = await runMakima(['import', tempDir('makima-empty-'), '--contract', 'x'], env());
    expect(empty.stderr).toMatch(/holds no \.jsonl session files/);
  });
});
