// bench:install — what a production install weighs (docs/operations.md, "Node versions and what an
// install weighs"; design §2): `npm ci --omit=dev --ignore-scripts` of this checkout's package.json
// and package-lock.json in an empty directory — what the image keeps — beside the same install of
// an earlier commit (BENCH_INSTALL_BEFORE, a git revision; default the last commit before GraphiQL's
// files were built at build time) and the full development install of this checkout. Figures: the
// size of node_modules (bytes on disk, as `du` counts them), the number of packages, the wall time,
// and the EBADENGINE warning lines npm prints on this Node. Needs the npm registry (or npm's cache).
// Goal: a production install under 300 MB with no engine warning.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../lib/children.js';
import { describeMachine, machine, printTable, writeResults } from '../lib/report.js';

const BEFORE = process.env.BENCH_INSTALL_BEFORE ?? '46f9185';
const GOAL_BYTES = 300 * 1000 * 1000;

interface Install {
  name: string;
  bytes: number;
  packages: number;
  seconds: number;
  engineWarnings: number;
  warnedPackages: string[];
}

function install(name: string, files: { packageJson: string; lock: string }, omitDev: boolean): Install {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'makima-bench-install-'));
  try {
    fs.writeFileSync(path.join(dir, 'package.json'), files.packageJson);
    fs.writeFileSync(path.join(dir, 'package-lock.json'), files.lock);
    const started = process.hrtime.bigint();
    const args = ['ci', ...(omitDev ? ['--omit=dev'] : []), '--ignore-scripts', '--no-audit', '--no-fund'];
    // As a person's shell runs it: without the npm_* settings `npm run` hands its scripts (`-s` would silence the warnings counted here).
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
    const run = spawnSync('npm', args, { cwd: dir, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (run.status !== 0) throw new Error(`npm ${args.join(' ')} failed for ${name}:\n${run.stderr.slice(-2000)}`);
    const output = `${run.stdout}\n${run.stderr}`;
    const warnings = output.split('\n').filter((line) => line.includes('EBADENGINE'));
    const warned = [...new Set(output.match(/EBADENGINE\s+package: '([^']+)'/g)?.map((m) => m.replace(/^.*package: '|'$/g, '')) ?? [])].sort();
    const du = spawnSync('du', ['-sb', 'node_modules'], { cwd: dir, encoding: 'utf8' });
    const bytes = Number(du.stdout.split('\t')[0]);
    const lock = JSON.parse(files.lock) as { packages: Record<string, { dev?: boolean }> };
    const packages = Object.entries(lock.packages).filter(([where, p]) => where !== '' && !(omitDev && p.dev)).length;
    return { name, bytes, packages, seconds, engineWarnings: warnings.length, warnedPackages: warned };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function atRevision(revision: string): { packageJson: string; lock: string } {
  const show = (file: string) => {
    const r = spawnSync('git', ['show', `${revision}:${file}`], { cwd: REPO_ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) throw new Error(`git show ${revision}:${file}: ${r.stderr}`);
    return r.stdout;
  };
  return { packageJson: show('package.json'), lock: show('package-lock.json') };
}

const here = { packageJson: fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'), lock: fs.readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8') };
const rows = [
  install('production install, now (npm ci --omit=dev)', here, true),
  install(`production install, before (${BEFORE})`, atRevision(BEFORE), true),
  install('development install, now (npm ci)', here, false),
];
const mb = (n: number) => `${(n / 1e6).toFixed(0)} MB`;
printTable({
  title: `install weight on Node ${process.version} (${describeMachine(machine())})`,
  head: ['install', 'node_modules', 'packages', 'time', 'EBADENGINE lines', 'packages warned about'],
  rows: rows.map((r) => [r.name, mb(r.bytes), r.packages, `${r.seconds.toFixed(1)} s`, r.engineWarnings, r.warnedPackages.join(', ') || '—']),
});
const now = rows[0];
const goal = { productionUnder300MB: now.bytes < GOAL_BYTES, noEngineWarning: now.engineWarnings === 0 };
console.log(`goal: production install under 300 MB — ${goal.productionUnder300MB ? 'met' : 'NOT met'} (${mb(now.bytes)}); no engine warning — ${goal.noEngineWarning ? 'met' : 'NOT met'} (${now.engineWarnings})`);
const file = writeResults('install', { machine: machine(), node: process.version, npm: spawnSync('npm', ['--version'], { encoding: 'utf8' }).stdout.trim(), before: BEFORE, loadAverage: os.loadavg().slice(0, 2), goal, rows });
console.log(`written to ${file}`);
