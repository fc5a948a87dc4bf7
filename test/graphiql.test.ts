// GraphiQL as a person uses it, in headless Chromium: the page and its assets come from the server
// itself (no CDN), the token goes in the Headers tab, a timeline subscription over graphql-ws
// shows an event that a mutation makes over HTTP, and a socket the server refuses (a bad token)
// shows an error at once instead of a spinner.
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { historyCursor } from '../src/modules/history/schema.js';
import { CHROMIUM, hasChromium } from './chromium.js';
import { startTestServer, type TestServer } from './harness.js';
import { advancePhase, createContract } from './fixtures.js';

/** Replaces the text of the Monaco editor inside `container` as if pasted (no auto-closing brackets). */
async function setEditorText(page: Page, container: string, text: string): Promise<void> {
  await page.locator(`${container} .graphiql-editor:not(.hidden) .monaco-editor, ${container} > .graphiql-editor .monaco-editor`).filter({ visible: true }).first().click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(text);
}

/**
 * Resolves once GraphiQL's result pane shows `text`. Monaco renders spaces as no-break spaces and
 * indents the lines it wraps, so runs of white space compare as one space.
 */
async function responseShows(page: Page, text: string): Promise<void> {
  try {
    await page.waitForFunction(
      (t) => document.querySelector('.graphiql-response')?.textContent?.replace(/[\s\u00a0]+/g, ' ').includes(t) ?? false,
      text.replace(/\s+/g, ' '),
      { timeout: 30_000 },
    );
  } catch (err) {
    const shown = await page.evaluate(() => document.querySelector('.graphiql-response')?.textContent);
    throw new Error(`GraphiQL did not show ${text}; its result pane shows: ${shown}`, { cause: err });
  }
}

/** A GraphiQL page that has loaded the schema, with `headers` in its Headers tab and `query` in its editor. */
async function openGraphiql(t: TestServer, browser: Browser, headers: object, query: string, operationName: string): Promise<Page> {
  const page = await browser.newPage();
  // GraphiQL is ready once it has the schema: it tells subscriptions from queries by it.
  const introspected = page.waitForResponse((r) => r.url() === t.url && (r.request().postData() ?? '').includes('__schema'));
  await page.goto(t.url, { waitUntil: 'load' });
  await page.locator('.graphiql-query-editor .monaco-editor').first().waitFor();
  await introspected;
  await page.getByText('Headers', { exact: true }).click();
  await setEditorText(page, '[aria-label="Headers"].graphiql-editor-tool', JSON.stringify(headers));
  await setEditorText(page, '.graphiql-query-editor', query);
  // GraphiQL has parsed the operation once its tab takes the operation's name; only then does it
  // know to run it over graphql-ws rather than HTTP.
  await page.getByRole('button', { name: operationName, exact: true }).waitFor();
  return page;
}

/** How GraphiQL prints the seq of each of the user's history events, in order. */
async function printedSeqs(t: TestServer, ownerId: string): Promise<string[]> {
  const events = await t.db.prisma.historyEvent.findMany({ where: { ownerId }, orderBy: { seq: 'asc' } });
  return events.map((e) => `"seq": "${e.seq}"`);
}

describe.runIf(hasChromium)('GraphiQL', () => {
  let t: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    t = await startTestServer();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  it('runs a timeline subscription over graphql-ws and shows an event that a mutation makes', async () => {
    const user = await t.createUser('graphiql');
    const repo = await t.makeRepo();
    const page = await browser.newPage();
    const offsite: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(new URL(t.url).origin) && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) offsite.push(r.url());
    });
    const sockets: string[] = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));

    // GraphiQL is ready once it has the schema: it tells subscriptions from queries by it.
    const introspected = page.waitForResponse((r) => r.url() === t.url && (r.request().postData() ?? '').includes('__schema'));
    await page.goto(t.url, { waitUntil: 'load' });
    await page.locator('.graphiql-query-editor .monaco-editor').first().waitFor();
    await introspected;

    const contract = await createContract(user, repo, 'browser');
    await page.getByText('Headers', { exact: true }).click();
    await setEditorText(page, '[aria-label="Headers"].graphiql-editor-tool', JSON.stringify({ Authorization: `Bearer ${user.token}` }));
    await setEditorText(page, '.graphiql-query-editor', `subscription Live { timeline(after: "${historyCursor(0n)}") { seq eventType eventSubtype } }`);
    // GraphiQL has parsed the operation once its tab takes the operation's name; only then does it
    // know to run it over graphql-ws rather than HTTP.
    await page.getByRole('button', { name: 'Live', exact: true }).waitFor();
    await page.getByRole('button', { name: /^Execute query/ }).click();

    // GraphiQL shows a subscription's latest result: first the catch-up's last event…
    const [, taskCreated] = await printedSeqs(t, user.id);
    await responseShows(page, taskCreated);
    // …then, live, the event of a mutation made over HTTP while it runs.
    await advancePhase(user, contract.id, 'PLAN');
    const [, , phaseChanged] = await printedSeqs(t, user.id);
    await responseShows(page, phaseChanged);
    await responseShows(page, '"eventSubtype": "changed"');

    expect(sockets).toEqual([t.wsUrl]);
    expect(offsite).toEqual([]);
    await page.close();
  });

  it('shows the refusal of a socket with a bad token at once, and stops running', async () => {
    const page = await openGraphiql(t, browser, { Authorization: 'Bearer not-a-token' }, 'subscription Refused { timeline { seq } }', 'Refused');
    const closes: number[] = [];
    page.on('websocket', (ws) => ws.on('close', () => closes.push(Date.now())));
    const started = Date.now();
    await page.getByRole('button', { name: /^Execute query/ }).click();
    await responseShows(page, 'The server refused the subscription socket (4403 Forbidden): the token is missing or not valid');
    // graphql-ws would retry a 4403 five times, over most of a minute; this was the only socket.
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(closes).toHaveLength(1);
    // The run is over: the button offers to run again, not to stop a subscription.
    await page.getByRole('button', { name: /^Execute query/ }).waitFor();
    await page.close();
  });
});
