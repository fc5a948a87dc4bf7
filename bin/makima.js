#!/usr/bin/env node
// The installed `makima` command (and what `npm start` / `npm run makima` run): the compiled
// JavaScript in dist/, built by `npm install` (postinstall) or `npm run build` — the command line
// bundled into one file, dist/cli/makima.mjs (scripts/bundle-cli.mjs), or dist/main.js without it.
//
// In a source checkout dist/ can fall behind src/ (an edit, a `git pull`, `npm run generate`). Then
// this builds it first, printing "makima: building…" on stderr, rather than falling back to tsx:
// - a fallback would be silent, so a checkout would quietly go back to paying the TypeScript compile
//   (0.7–0.9 s) on every command until someone remembered `npm run build`, and the CLI tests could
//   pass on code that the compiled build never ran;
// - the check is cheap (one stat per file under src/, a few ms), and a build happens once per change,
//   under a lock, so commands started together (a worker and `timeline --follow`) build once;
// - type errors do not stop it: tsc writes the JavaScript all the same, just as tsx would have run it;
// - the build's output goes to stderr only, so `--json` output stays machine-readable.
// Without src/ (a copy holding only dist/) there is nothing to check and dist/ is run as it is.
//
// Node 22.1 and later keep the compiled code of what they load (module.enableCompileCache), which
// takes a further share off every start; Node 20 has no such cache and starts without it.
import fs from 'node:fs';
import module from 'node:module';

module.enableCompileCache?.();
// `makima capture` is a Claude Code hook, run at every event: it loads only its own few modules, with
// no build check (a build would stall the agent), and always exits 0 (docs/claude-code.md).
if (process.argv[2] === 'capture' && !process.argv.includes('--help') && !process.argv.includes('-h')) {
  try {
    const { runCapture } = await import('../dist/cli/capture-main.js');
    process.exitCode = await runCapture(process.argv.slice(3), process.argv[1]);
  } catch {
    process.exitCode = 0;
  }
} else {
  await runCli();
}

/** Every other command: dist/ rebuilt when src/ is newer, then the bundled command line. */
async function runCli() {
  const { ensureBuild } = await import('../scripts/ensure-build.mjs');
  try {
    await ensureBuild();
  } catch (err) {
    process.stderr.write(`makima: ${err instanceof Error ? err.message : err}\n`);
    process.exit(1);
  }
  const bundle = new URL('../dist/cli/makima.mjs', import.meta.url);
  await import(fs.existsSync(bundle) ? bundle.href : '../dist/main.js');
}
