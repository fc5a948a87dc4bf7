// Imported sessions in the task page, in headless Chromium against a real server: the public
// claude-code-transcripts fixture (records without parentUuid) shows all 7 of its messages, each tool
// call once with its result under it and the Tool message saying so; a Codex rollout's reasoning is
// folded after nothing it could cut off; a Claude Code reply comes before its folded thinking, its
// image is a one-line mention, and no content block is shown as JSON; the usage the session
// reported is on the page.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../../src/generated/gql/index.js';
import type { TestUser } from '../harness.js';
import { createContract } from '../fixtures.js';
import { expectAccessible, hasChromium, viewFixture } from './browser.js';

const ImportForView = graphql(`
  mutation ImportForView($input: ImportTranscriptInput!) { importTranscript(input: $input) { task { id } } }
`);

const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures');
const read = (...parts: string[]) => fs.readFileSync(path.join(FIXTURES, ...parts), 'utf8');
/** Content blocks as JSON: what a reader must never be shown. */
const RAW_CONTENT = /\{\s*"type":\s*"(text|thinking|thought|image|tool_use|tool_result)"/;

describe.runIf(hasChromium)('the task page of an imported session', { timeout: 120_000 }, () => {
  const view = viewFixture();
  let user: TestUser;
  let contractId: string;
  beforeAll(async () => {
    user = await view.t.createUser('reader');
    contractId = (await createContract(user, await view.t.makeRepo())).id;
  });

  async function open(source: 'CLAUDE_CODE_JSONL' | 'CODEX_JSONL', content: string) {
    const taskId = (await user.ok(ImportForView, { input: { contractId, source, content } })).importTranscript.task.id;
    const { context, page } = await view.open(user.token, `#/task/${taskId}`);
    const conversation = page.getByRole('region', { name: /Conversation/ });
    await conversation.locator('li.message').first().waitFor();
    return { context, page, conversation };
  }

  it("shows all 7 messages of claude-code-transcripts' fixture, each tool call once with its result under it", async () => {
    const { context, page, conversation } = await open('CLAUDE_CODE_JSONL', read('claude-code', 'claude-code-transcripts', 'sample_session.jsonl'));
    expect(await conversation.locator('li.message').count()).toBe(7);
    const write = page.getByRole('listitem', { name: 'Message 2, ASSISTANT' });
    expect(await write.getByText("I'll create that function for you.").isVisible()).toBe(true);
    const call = write.locator('details.tool', { hasText: 'Tool call: Write' });
    await call.locator('summary').click();
    expect(await call.locator('.tool-result').textContent()).toContain('File written successfully');
    // The result is not shown again by the Tool message that carried it.
    const result = page.getByRole('listitem', { name: 'Message 3, TOOL' });
    expect(await result.textContent()).toContain('shown under its tool call above');
    expect(await result.textContent()).not.toContain('File written successfully');
    expect(await conversation.textContent()).not.toMatch(RAW_CONTENT);
    expect(await page.getByRole('region', { name: 'Output' }).locator('.task-event').count()).toBe(0);
    await expectAccessible(page, 'imported Claude Code task page');
    await context.close();
  });

  it('puts the reply before its folded thinking, mentions the image, and shows the usage', async () => {
    const { context, page, conversation } = await open('CLAUDE_CODE_JSONL', read('claude-code', 'session.jsonl'));
    const answer = page.getByRole('listitem', { name: 'Message 4, ASSISTANT' });
    const thinking = answer.locator('details.thinking');
    expect(await thinking.locator('summary').textContent()).toBe('thinking… (43 chars)');
    expect(await thinking.getByText('Serial runs avoid').isVisible()).toBe(false);
    const reply = await answer.getByText('With --runInBand the parser suite passes').boundingBox();
    expect(reply!.y).toBeLessThan((await thinking.boundingBox())!.y);
    expect(await page.getByRole('listitem', { name: 'Message 1, USER' }).locator('p.mention').textContent()).toMatch(/^\[image: image\/png, \d+ bytes\]$/);
    expect(await conversation.textContent()).not.toMatch(RAW_CONTENT);
    expect(await page.getByText('5,000 input tokens · 145 output tokens').isVisible()).toBe(true);
    await context.close();
  });

  it("folds a Codex rollout's reasoning and shows each function call once, its output under it", async () => {
    const { context, page, conversation } = await open('CODEX_JSONL', read('codex', 'rollout-2026-11-21T09-00-00-0199a0b1-6c2e-7d3f-9a41-2f5e8c1d7b10.jsonl'));
    expect(await conversation.locator('details.thinking summary').first().textContent()).toMatch(/^thinking… \(\d+ chars\)$/);
    const shell = conversation.locator('details.tool', { hasText: 'Tool call: shell' });
    expect(await shell.count()).toBe(1);
    await shell.locator('summary').click();
    expect(await shell.locator('.tool-result').textContent()).toContain('expected 3 tokens, got 2');
    expect(await conversation.getByText('shown under its tool call above').count()).toBe(3);
    expect(await conversation.textContent()).not.toMatch(RAW_CONTENT);
    await context.close();
  });
});
