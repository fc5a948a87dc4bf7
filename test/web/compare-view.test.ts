// The compare page in headless Chromium against a real server: reached from a task's fork tree, it
// shows where the two conversations part, each side's own messages, and the diff between their heads;
// a refusal is shown in the API's words. axe-core checks it; it is photographed for docs/view.md.
import { describe, expect, it } from 'vitest';
import { checkpoint, ForkTask, say, taskOnRepo } from '../fixtures.js';
import { write } from '../worktrees.js';
import { expectAccessible, hasChromium, origin, screenshot, viewFixture } from './browser.js';

describe.runIf(hasChromium)('the compare page', () => {
  const view = viewFixture();

  it('opens from the fork tree and shows the common part, each side and the diff between the heads', async () => {
    const user = await view.t.createUser('compare');
    const fx = await taskOnRepo(view.t, user);
    await say(user, fx.taskId, 'write a parser', 'I will start with the tokenizer');
    const cp = await checkpoint(user, fx.taskId, 'tokenizer');
    const fork = (await user.ok(ForkTask, { input: { taskId: fx.taskId, checkpointId: cp.id, name: 'table-driven parser' } })).forkTask.task;
    await say(user, fork.id, 'use a table instead', 'done: a table-driven parser');
    write(fork.worktreePath!, { 'src/a.txt': 'alpha\nTABLE\ngamma\n', 'src/table.txt': 'rows\n' });
    await checkpoint(user, fork.id, 'table');
    await say(user, fx.taskId, 'go recursive');

    const { context, page } = await view.open(user.token, `#/task/${fx.taskId}`);
    await page.getByRole('link', { name: 'Compare “worker task” with “table-driven parser”' }).click();
    await page.getByRole('heading', { name: 'worker task and table-driven parser' }).waitFor();
    expect(await page.locator('.compare-summary').textContent()).toBe('2 messages in common (2 of them the same messages, shared by a fork), then they part after:');
    expect(await page.getByRole('list', { name: 'The last message in common' }).textContent()).toContain('I will start with the tokenizer');
    const a = page.getByRole('region', { name: 'Only in worker task' });
    const b = page.getByRole('region', { name: 'Only in table-driven parser' });
    expect(await a.getByRole('listitem').allTextContents()).toEqual([expect.stringContaining('go recursive')]);
    expect(await b.getByRole('listitem').allTextContents()).toEqual([expect.stringContaining('use a table instead'), expect.stringContaining('done: a table-driven parser')]);
    const files = await page.locator('table.files tbody tr').allTextContents();
    expect(files).toEqual(['src/a.txtmodified+1−1', 'src/table.txtadded+1−0']);
    expect(await page.getByLabel('Patch').textContent()).toContain('-beta\n+TABLE\n');
    await expectAccessible(page, 'compare page');
    await screenshot(page, 'compare');

    // The fork's own page links back to the same comparison.
    await page.goto(`${origin(view.t)}/#/task/${fork.id}`);
    await page.getByRole('link', { name: 'compare with it' }).click();
    await page.getByRole('heading', { name: 'worker task and table-driven parser' }).waitFor();
    await context.close();
  });

  it('shows a refusal in the API’s words', async () => {
    const user = await view.t.createUser('compare-refused');
    const one = await taskOnRepo(view.t, user);
    const two = await taskOnRepo(view.t, user);
    const { context, page } = await view.open(user.token, `#/compare?a=${encodeURIComponent(one.taskId)}&b=${encodeURIComponent(two.taskId)}`);
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/^BAD_USER_INPUT: .*belong to different contracts/);
    await context.close();
  });
});
