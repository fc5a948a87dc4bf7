// Keeps dist/ (the compiled build that `npm start` and bin/makima.js run) up to date with src/.
//
// dist/ is current when dist/main.js exists and dist/.buildinfo (tsc's incremental state, written by
// `npm run build`) is newer than everything the build reads: every file and folder under src/ (a
// folder's time changes when a file in it is added, removed or renamed) and the two tsconfig files.
// Otherwise it runs the build (tsc -p tsconfig.build.json), removes compiled files whose source is
// gone, and stamps dist/.buildinfo, since tsc leaves that file untouched when nothing it emits changed.
//
// The timeline view (web/src → web/dist, scripts/build-web.mjs) is rebuilt the same way, under the
// same lock, when a file under web/src is newer than its bundle.
//
// Used three ways: `node scripts/ensure-build.mjs` (the command line; exit status 1 when the build
// cannot produce dist/), `await ensureBuild()` from bin/makima.js, and test/global-setup.ts.
// The check costs a few milliseconds (one stat per file under src/); a build takes seconds, and
// runs under a lock so that several makima commands started at once build only once.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWeb, webStaleReason } from './build-web.mjs';
import { bundleCli, canBundle, CLI_BUNDLE } from './bundle-cli.mjs';
import { mtime, newestUnder } from './mtime.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SRC = path.join(ROOT, 'src');
const DIST = path.join(ROOT, 'dist');
const ENTRY = path.join(DIST, 'main.js');
const STAMP = path.join(DIST, '.buildinfo');
const CONFIGS = ['tsconfig.json', 'tsconfig.build.json'].map((f) => path.join(ROOT, f));
/** Source files that are not compiled (tsconfig.build.json's exclude), so they never make dist/ stale. */
const isTest = (name) => name.endsWith('.test.ts');

/** The newest modification time among src/ (files and folders) and the tsconfig files. */
function newestSource() {
  return newestUnder(SRC, CONFIGS, isTest);
}

/** Why dist/ must be (re)built, or undefined when it is current (or there is no src/ to build from). */
export function staleReason() {
  if (!fs.existsSync(SRC)) return undefined;
  if (!fs.existsSync(ENTRY)) return 'dist/main.js is missing';
  const stamp = mtime(STAMP);
  if (stamp === 0) return 'dist/.buildinfo is missing';
  if (mtime(CLI_BUNDLE) < stamp && canBundle()) return 'dist/cli/makima.mjs is missing or older than dist/';
  return newestSource() > stamp ? 'src/ is newer than dist/' : undefined;
}

/** Deletes dist/ files whose source under src/ no longer exists (tsc never removes an output). */
function pruneOrphans(dir = DIST) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    const rel = path.relative(DIST, full);
    if (entry.isDirectory()) {
      if (rel === '.build.lock') continue;
      pruneOrphans(full);
      if (fs.readdirSync(full).length === 0) fs.rmdirSync(full);
    } else if (entry.name.endsWith('.js') && !fs.existsSync(path.join(SRC, rel.replace(/\.js$/, '.ts')))) {
      fs.rmSync(full);
    }
  }
}

/**
 * Runs tsc; its output goes to stderr (so a command's stdout, e.g. `--json`, stays clean).
 * Returns tsc's exit status: 0, or 2 when it found type errors but wrote every file all the same
 * (type errors are `npm run typecheck`'s business; tsx ran such code too), or 1/3 when it wrote nothing.
 */
function runTsc() {
  let tsc;
  try {
    tsc = createRequire(path.join(ROOT, 'package.json')).resolve('typescript/bin/tsc');
  } catch {
    throw new Error('TypeScript is not installed (it is a devDependency): run `npm install`, then `npm run build`');
  }
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: ['ignore', 2, 2] });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

/**
 * Builds dist/ when it is stale. Returns false when it was current, true when it built.
 * Throws when the build could not produce dist/. `log` receives one line before a build starts.
 */
export async function ensureBuild({ log = (line) => process.stderr.write(`${line}\n`) } = {}) {
  if (!staleReason() && !webStaleReason()) return false;
  fs.mkdirSync(DIST, { recursive: true });
  // proper-lockfile keeps refreshing the lock's time while we hold it, so a lock left by a killed
  // build is taken over after `stale` ms, while a slow build on a busy machine keeps its lock.
  const { default: lockfile } = await import('proper-lockfile');
  const release = await lockfile.lock(DIST, {
    lockfilePath: path.join(DIST, '.build.lock'),
    realpath: false,
    stale: 15_000,
    retries: { retries: 600, minTimeout: 200, maxTimeout: 500 },
  });
  try {
    const webReason = webStaleReason(); // another process may have built while we waited for the lock
    if (webReason) {
      log(`makima: building the timeline view… (${webReason})`);
      await buildWeb();
    }
    const reason = staleReason();
    if (!reason) return Boolean(webReason);
    log(`makima: building… (${reason})`);
    const started = Date.now();
    const newest = newestSource();
    const status = runTsc();
    if (status !== 0 && status !== 2) throw new Error(`the build failed (tsc exited with status ${status}): see above, or run \`npm run build\``);
    if (!fs.existsSync(ENTRY)) throw new Error('the build did not produce dist/main.js');
    pruneOrphans();
    await bundleCli();
    // The stamp is the time the sources were read, so an edit made during the build still counts as newer.
    const t = new Date(Math.max(started, newest));
    if (!fs.existsSync(STAMP)) fs.writeFileSync(STAMP, '');
    fs.utimesSync(STAMP, t, t);
    if (status === 2) log('makima: the build has type errors (listed above) but wrote dist/ all the same; `npm run typecheck` checks everything');
    return true;
  } finally {
    await release();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await ensureBuild();
  } catch (err) {
    process.stderr.write(`makima: ${err instanceof Error ? err.message : err}\n`);
    process.exitCode = 1;
  }
}
