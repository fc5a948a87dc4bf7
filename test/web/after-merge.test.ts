// The parts of the timeline view built against API pieces that other branches add (names fixed in
// the shared API contract): the search box (Query.search), the cancel action (cancelTask) and a
// token revoked while the page is open (revokeApiToken). Each describe runs once the schema has
// its field — in this branch alone they are skipped; after the merge they must pass.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendMessages, createTask, taskOnRepo } from '../fixtures.js';
import { expectAccessible, hasChromium, screenshot, viewFixture } from './browser.js';

const SCHEMA = fs.readFileSync(path.resolve(import.meta.dirname, '..', '..', 'schema.graphql'), 'utf8');
const has = (field: RegExp) => SCHEMA.split('\n').some((line) => field.test(line));
const hasSearch = has(/^\s*search\(/);
const hasCancel = has(/^\s*cancelTask\(/);
const hasRevoke = has(/^\s*revokeApiToken\(/) && has(/^\s*createApiToken\(/);

describe.runIf(hasChromium && (hasSearch || hasCancel || hasRevoke))('the timeline view, after the merge', () => {
  const view = viewFixture();

  it.runIf(hasSearch)('finds a message from the search box, highlights the match, and opens the task at that message', async () => {
    const user = await view.t.createUser('searcher');
    const fx = await taskOnRepo(view.t, user);
    const filler = Array.from({ length: 60 }, (_, i) => ({ role: 'ASSISTANT' as const, content: `step ${i}: nothing of note` }));
    await appendMessages(user, fx.taskId, [...filler, { role: 'USER', content: 'the quuxinator crashes on empty input' }]);
    const { context, page } = await view.open(user.token);
    await page.getByRole('searchbox', { name: /Search/ }).fill('quuxinator');
    await page.getByRole('button', { name: 'Search' }).click();
    const hit = page.locator('.hits li').first();
    await hit.waitFor();
    expect((await hit.locator('mark').allTextContents()).map((m) => m.toLowerCase())).toContain('quuxinator');
    await expectAccessible(page, 'search results');
    await screenshot(page, 'search');
    await hit.getByRole('link').click();
    // Message 61 is past the first page of 50: the page loads on until it shows it.
    const message = page.locator('.message.highlighted');
    await message.waitFor();
    expect(await message.getAttribute('aria-label')).toBe('Message 61, USER');
    expect(await message.textContent()).toContain('quuxinator');
    await context.close();
  });

  it.runIf(hasCancel)('cancels a task after a confirmation that says nothing is deleted', async () => {
    const user = await view.t.createUser('canceller');
    const fx = await taskOnRepo(view.t, user);
    const task = await createTask(user, fx.contractId, 'not needed after all');
    const { context, page } = await view.open(user.token, `#/task/${task.id}`);
    await page.getByRole('button', { name: 'Cancel…' }).click();
    const dialog = page.getByRole('dialog', { name: /Cancel “not needed after all”/ });
    expect(await dialog.locator('.before').textContent()).toContain('Nothing is deleted');
    await dialog.getByLabel('Reason (optional)').fill('superseded by the fork');
    await dialog.getByRole('button', { name: 'Cancel the task' }).click();
    await dialog.getByText('The task is CANCELLED.').waitFor();
    await dialog.getByRole('button', { name: 'Close' }).click();
    await page.locator('h1 .status', { hasText: 'CANCELLED' }).waitFor();
    // Cancelling it again is refused, in the API's words.
    await page.getByRole('button', { name: 'Cancel…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel the task' }).click();
    expect(await page.getByRole('dialog').getByRole('alert').textContent()).toMatch(/^[A-Z_]+: /);
    await context.close();
  });

  it.runIf(hasRevoke)('sends the page back to sign-in, in the server’s words, when its token is revoked', async () => {
    const user = await view.t.createUser('revoked');
    const created = await user.ok<{ createApiToken: { token: string; apiToken: { id: string } } }>(
      `mutation { createApiToken(input: { name: "view.browser" }) { token apiToken { id } } }`,
    );
    const { context, page } = await view.open(created.createApiToken.token);
    await page.locator('.connection.live').waitFor();
    await user.ok(`mutation($id: ID!) { revokeApiToken(input: { id: $id }) { apiToken { revokedAt } } }`, { id: created.createApiToken.apiToken.id });
    await page.reload();
    await page.getByLabel('API token').waitFor();
    expect(await page.getByRole('alert').textContent()).toMatch(/token/i);
    await context.close();
  });
});
