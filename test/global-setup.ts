// Runs once before the suite: the tests import src/ as TypeScript, but the CLI tests (test/cli) run
// bin/makima.js, which runs the compiled dist/. Bring dist/ up to date here, once, so those tests
// exercise the current code and no test's time limit is spent building (also for `npx vitest run`).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const script = fileURLToPath(new URL('../scripts/ensure-build.mjs', import.meta.url));
  const r = spawnSync(process.execPath, [script], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`could not build dist/ for the CLI tests (${script} exited with ${r.status ?? r.signal})`);
}
