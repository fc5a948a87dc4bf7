// Runs once before the suite: the tests import src/ as TypeScript, but the CLI tests (test/cli) run
// bin/makima.js, which runs the compiled dist/. Bring dist/ up to date here, once, so those tests
// exercise the current code and no test's time limit is spent building (also for `npx vitest run`).
//
// In CI (CI=true, set by .ci/run) a part the tests need is required, not optional: the browser
// tests skip where Chromium is missing, which on a developer's machine is a convenience and in CI
// would be a pass for what never ran (docs/testing.md, scripts/expected-skips.mjs).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CHROMIUM } from './chromium.js';

export default function setup(): void {
  if (process.env.CI === 'true' && !fs.existsSync(CHROMIUM)) throw new Error(`CI=true and Chromium is missing (${CHROMIUM}): the browser tests would skip; install it (apt-get install chromium)`);
  const script = fileURLToPath(new URL('../scripts/ensure-build.mjs', import.meta.url));
  const r = spawnSync(process.execPath, [script], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`could not build dist/ for the CLI tests (${script} exited with ${r.status ?? r.signal})`);
}
