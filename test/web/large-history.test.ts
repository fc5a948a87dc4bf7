// The timeline view on a large history, in headless Chromium against a real server: 100,000
// history events (written straight into the table: the API would take minutes) scroll from a DOM
// of a few dozen rows, and a task of 1,000 messages and 10 checkpoints renders its conversation and
// checkpoints. How fast is a benchmark's question, not a test's (docs/testing.md): the test logs the
// first render and the scroll steps it saw, and asserts only what holds on any machine.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendMessages, checkpoint, taskOnRepo } from '../fixtures.js';
import { hasChromium, origin, signedIn, viewFixture } from './browser.js';

describe.runIf(hasChromium)('the timeline view on a large history', () => {
  const view = viewFixture();

  it('keeps 100,000 events scrolling from a small DOM, and renders a long task’s page', async () => {
    const user = await view.t.createUser('large');
    const fx = await taskOnRepo(view.t, user);
    const messages = Array.from({ length: 1000 }, (_, i) => ({ role: (i % 2 ? 'ASSISTANT' : 'USER') as 'USER' | 'ASSISTANT', content: `message ${i + 1}: ${'words '.repeat(i % 50)}` }));
    for (let i = 0; i < messages.length; i += 500) await appendMessages(user, fx.taskId, messages.slice(i, i + 500));
    for (let i = 1; i <= 10; i++) {
      fs.writeFileSync(path.join(fx.worktree, 'src/a.txt'), `version ${i}\n`);
      await checkpoint(user, fx.taskId, `step ${i}`);
    }
    const { context, page } = await signedIn(view.browser, user.token);
    // The moment the page first shows the conversation's first page and the checkpoints, recorded
    // by the page itself (the test's own round trips to the view.browser are not part of it).
    await context.addInitScript(() => {
      new MutationObserver((_, observer) => {
        if (!document.querySelector('[aria-label="Message 50, ASSISTANT"]') || !document.querySelector('[aria-label="Checkpoint 10"]')) return;
        (window as unknown as { rendered: number }).rendered = performance.now();
        observer.disconnect();
      }).observe(document, { childList: true, subtree: true });
    });
    await page.goto(`${origin(view.t)}/#/task/${fx.taskId}`);
    await page.getByRole('listitem', { name: 'Checkpoint 10' }).waitFor();
    // Milliseconds from the start of the navigation to the conversation and checkpoints shown.
    const firstRender = await page.evaluate(() => (window as unknown as { rendered: number }).rendered);
    const requests = await page.evaluate(() =>
      performance.getEntriesByType('resource').map((r) => `${r.name.replace(location.origin, '')} ${Math.round(r.startTime)}+${Math.round(r.duration)} ms`),
    );
    console.log(`task page: first render at ${Math.round(firstRender)} ms; requests: ${requests.join(', ')}`);
    expect(firstRender).toBeGreaterThan(0);

    const [template] = await view.t.db.prisma.historyEvent.findMany({ where: { ownerId: user.id, eventType: 'CHAT' }, take: 1 });
    await view.t.db.query(
      `INSERT INTO history_events (id, owner_id, contract_id, task_id, event_type, event_subtype, phase, event_data, created_at)
       SELECT gen_random_uuid(), owner_id, contract_id, task_id, event_type, event_subtype, phase, event_data || jsonb_build_object('count', g), created_at + g * interval '1 millisecond'
         FROM history_events, generate_series(1, 100000) AS g WHERE id = $1::uuid`,
      [template.id],
    );

    await page.goto(`${origin(view.t)}/#/`);
    const viewport = page.getByRole('region', { name: 'Events' }).locator('.viewport');
    await viewport.locator('.row.event').first().waitFor();
    // Scroll to the end of what is loaded, again and again: pages of 100 load as the end nears.
    for (let shown = 0; shown < 3000; ) {
      await viewport.evaluate((el) => (el.scrollTop = el.scrollHeight));
      const before = `${shown} events shown, older ones load as you scroll`;
      await expect
        .poll(async () => {
          const error = await page.locator('.timeline .error').allTextContents();
          return error.length ? error.join(' ') : page.locator('.count').textContent();
        }, { timeout: 30_000 })
        .not.toBe(before);
      shown = Number(/^(\d+)/.exec((await page.locator('.count').textContent()) ?? '')?.[1]);
    }
    // However many are loaded, only the rows in view (and a few around) are in the DOM…
    expect(await viewport.locator('.row').count()).toBeLessThan(80);
    // …and each scroll step (the scroll event, the render of the rows now in view) moves the rows.
    const { times: steps, unmoved } = await viewport.evaluate(async (el) => {
      const rows = el.querySelector('[role="list"] > div') as HTMLElement;
      const times: number[] = [];
      let unmoved = 0;
      for (let i = 0; i < 100; i++) {
        // Far enough from where it is that other rows must show (a row is well under 1,000 px).
        const top = (el.scrollTop + 1000 + Math.floor(Math.random() * (el.scrollHeight - el.clientHeight - 2000))) % (el.scrollHeight - el.clientHeight);
        const before = rows.style.transform;
        const started = performance.now();
        el.scrollTop = top;
        el.dispatchEvent(new Event('scroll'));
        // Preact renders in a microtask after the state change: wait for the rows to move.
        for (let n = 0; n < 10_000 && rows.style.transform === before; n++) await Promise.resolve();
        if (rows.style.transform === before) unmoved++;
        times.push(performance.now() - started);
      }
      return { times: times.sort((x, y) => x - y), unmoved };
    });
    console.log(`task page first render ${Math.round(firstRender)} ms; timeline (3,000 of 100,000+ events loaded) scroll step p50 ${steps[49].toFixed(1)} ms, p95 ${steps[94].toFixed(1)} ms`);
    expect(unmoved).toBe(0);
    await context.close();
  }, 300_000);
});
