// Driving the timeline view in headless Chromium (playwright-core): one browser per test file,
// a fresh browser context (its own localStorage) per test, the token put in storage as the page
// keeps it, axe-core injected to check accessibility, and screenshots for the tour in docs/view.md.
import fs from 'node:fs';
import os from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { startTestServer, type TestServer } from '../harness.js';

import { CHROMIUM } from '../chromium.js';

export { CHROMIUM, hasChromium } from '../chromium.js';
// The screenshots (docs/screenshots/) are rewritten only on request (UPDATE_SCREENSHOTS=1), so that running
// the tests leaves the work tree clean; otherwise they go to a temp folder.
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS
  ? path.resolve(import.meta.dirname, '..', '..', 'docs', 'screenshots')
  : fs.mkdtempSync(path.join(os.tmpdir(), 'makima-screenshots-'));
const AXE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** The page's origin: the server's, without the /graphql path. */
export function origin(t: TestServer): string {
  return new URL(t.url).origin;
}

/** A fresh context whose page starts signed in with `token` (as if the sign-in form had stored it). */
export async function signedIn(browser: Browser, token: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  await context.addInitScript((t) => localStorage.setItem('makima.token', t), token);
  return { context, page: await context.newPage() };
}

/** A browser test file's real server and Chromium, and pages signed in to it. */
export interface ViewFixture {
  readonly t: TestServer;
  readonly browser: Browser;
  /** A fresh context signed in with `token` (signedIn), its page opened at `route` of the view (e.g. `#/task/<id>`). */
  open(token: string, route?: string): Promise<{ context: BrowserContext; page: Page }>;
}

/**
 * For use inside a browser test file's `describe`: starts a real server and one Chromium before its
 * first test and stops both after its last.
 */
export function viewFixture(): ViewFixture {
  let server: TestServer | undefined;
  let chromium: Browser | undefined;
  beforeAll(async () => {
    server = await startTestServer();
    chromium = await launch();
  });
  afterAll(async () => {
    await chromium?.close();
    await server?.stop();
  });
  const fixture: ViewFixture = {
    get t() {
      if (!server) throw new Error('the view fixture is used before its beforeAll ran');
      return server;
    },
    get browser() {
      if (!chromium) throw new Error('the view fixture is used before its beforeAll ran');
      return chromium;
    },
    async open(token, route = '') {
      const opened = await signedIn(fixture.browser, token);
      await opened.page.goto(`${origin(fixture.t)}/${route}`);
      return opened;
    },
  };
  return fixture;
}

/** Records every request that leaves the server's origin (the page must work offline). */
export function offsiteRequests(page: Page, t: TestServer): string[] {
  const offsite: string[] = [];
  page.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith(origin(t)) && !url.startsWith('data:') && !url.startsWith('blob:')) offsite.push(url);
  });
  return offsite;
}

/** Runs axe-core in the page and fails on any serious or critical violation, naming them. */
export async function expectAccessible(page: Page, screen: string): Promise<void> {
  await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(o?: unknown): Promise<{ violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const result = await axe.run();
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')})`);
  });
  expect(violations, `axe-core on the ${screen}`).toEqual([]);
}

/** Saves a screenshot of the page (or of one element) as <name>.png (in docs/screenshots with UPDATE_SCREENSHOTS=1). */
export async function screenshot(page: Page, name: string, element?: Locator): Promise<void> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await (element ?? page).screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
}
