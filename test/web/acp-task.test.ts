// A task that `makima worker --acp` ran, in the task page, in headless Chromium against a real
// server: the scripted ACP agent (test/fixtures/acp-agent.ts) works one turn; the conversation shows
// its thoughts folded after the reply and each tool call once, under its title; the Output panel
// shows the turn's chunks as text (consecutive ones joined), its thoughts folded, and each tool call
// once with its result and its permission decision under it.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../harness.js';
import { claim, CompleteTask, createContract, createTask } from '../fixtures.js';
import { runMakima } from '../cli/run.js';
import { ACP_AGENT_COMMAND as ACP } from '../acp.js';
import { expectAccessible, hasChromium, viewFixture } from './browser.js';

describe.runIf(hasChromium)('the task page of an ACP task', { timeout: 120_000 }, () => {
  const view = viewFixture();
  let dir: string;
  beforeAll(async () => {
    dir = tempDir();
  });
  afterAll(async () => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('folds the thoughts after the reply and shows each tool call once, its result under it', async () => {
    const user = await view.t.createUser('acp');
    const contract = await createContract(user, await view.t.makeRepo());
    const supervisor = await claim(user, 'setup');
    await user.ok(CompleteTask, { input: { taskId: supervisor!.task.id, workerId: 'setup' } });
    const task = await createTask(user, contract.id, 'acp task', { prompt: 'Write a, b and c.' });
    const env = { MAKIMA_URL: view.t.url, MAKIMA_TOKEN: user.token, ACP_AGENT_MODE: 'work', ACP_AGENT_LOG: path.join(dir, 'agent.jsonl') };
    const run = await runMakima(['worker', '--acp', ACP, '--once'], env);
    expect(run.code).toBe(0);

    const { context, page } = await view.open(user.token, `#/task/${task.id}`);
    const answer = page.getByRole('listitem', { name: 'Message 2, ASSISTANT' });
    await answer.waitFor();
    const thought = answer.locator('details.thinking');
    expect(await thought.count()).toBe(1);
    expect(await thought.getAttribute('open')).toBeNull();
    expect(await thought.getByText('Thinking hard.').isVisible()).toBe(false);
    expect(await answer.getByText('Hello, world. Done.').isVisible()).toBe(true);
    // The reply first, its thinking after it, then the tool calls.
    expect(await answer.locator('details summary').allTextContents()).toEqual(['thinking… (14 chars)', 'Tool call: Write a.txt', 'Tool call: Write b.txt', 'Tool call: Run a command']);
    expect(await answer.textContent()).not.toContain('"toolCallId"');

    const output = page.getByRole('region', { name: 'Output' });
    await output.locator('.task-event').first().waitFor();
    const rows = await output.locator('.task-event').evaluateAll((items) => items.map((li) => [li.querySelector('.kind')?.textContent, li.querySelector('summary')?.textContent ?? null]));
    // The two thought chunks one folded row; each tool call once, its result under it (no result row).
    expect(rows.filter(([kind, summary]) => kind === 'OUTPUT' && summary?.startsWith('thinking'))).toEqual([['OUTPUT', 'thinking… (14 chars)']]);
    expect(rows.filter(([kind]) => kind === 'TOOL_CALL').map(([, summary]) => summary)).toEqual(['Write a.txt', 'Write b.txt', 'Run a command']);
    expect(rows.filter(([kind]) => kind === 'TOOL_RESULT')).toEqual([]);
    const writeA = output.locator('details.tool', { hasText: 'Write a.txt' });
    await writeA.locator('summary').click();
    expect(await writeA.locator('.tool-result').textContent()).toMatch(/new file \S*a\.txt:\s*alpha/);
    expect(await writeA.getByText('Permission allowed (policy default)').isVisible()).toBe(true);
    expect(await output.textContent()).not.toContain('agent_thought_chunk');
    expect(await output.getByText('Thinking hard.').isVisible()).toBe(false); // folded until opened
    expect(await output.getByText(', world.').count()).toBe(1);
    await expectAccessible(page, 'ACP task page');
    await context.close();
  });
});
