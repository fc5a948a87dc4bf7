// What a results file measured (bench/results/<name>.json, through report.ts's writeResults): the
// commit of the code and whether the tree differed from it, the Node version, the settings the run
// was given in its environment, and the machine's load average when the run started and ended —
// so that a file says by itself whether its figures still describe the code.
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { REPO_ROOT } from './children.js';

/** Taken when the benchmark's modules load, before it does anything. */
const started = { at: new Date().toISOString(), loadAverage: os.loadavg() };

/** Environment variables that change what a benchmark measures (a database URL may hold a password: left out). */
const SETTING = /^(BENCH_|MAKIMA_|NODE_OPTIONS$|NODE_ENV$)/;

export interface Provenance {
  commit: string | null;
  /** Files that differed from the commit when the run started (bench/results/ aside); the figures then describe those changes too. */
  dirty: boolean;
  changedFiles: string[];
  node: string;
  argv: string[];
  env: Record<string, string>;
  startedAt: string;
  finishedAt: string;
  loadAverage: { start: number[]; end: number[] };
}

function git(...args: string[]): string | null {
  const run = spawnSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' });
  // Trimmed at the end only: a porcelain line may begin with a space (" M file").
  return run.status === 0 ? run.stdout.trimEnd() : null;
}

const tree = (() => {
  const status = git('status', '--porcelain', '--', '.', ':(exclude)bench/results');
  const changedFiles = status === null ? [] : status.split('\n').filter(Boolean).map((line) => line.slice(3));
  return { commit: git('rev-parse', 'HEAD'), dirty: changedFiles.length > 0, changedFiles: changedFiles.slice(0, 50) };
})();

/** The run's provenance, as of now (its end). */
export function provenance(): Provenance {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name, value]) => SETTING.test(name) && value !== undefined)) as Record<string, string>;
  return {
    ...tree,
    node: process.version,
    argv: process.argv.slice(2),
    env,
    startedAt: started.at,
    finishedAt: new Date().toISOString(),
    loadAverage: { start: started.loadAverage, end: os.loadavg() },
  };
}
