// The closing line of CI (.ci/run): reads vitest's JSON reports of the PGlite and the PostgreSQL
// runs and fails unless every test passed or is an expected skip (scripts/expected-skips.mjs) on
// that engine — and every expected skip's tests passed on the other engine, so nothing is skipped
// everywhere. Usage: node scripts/ci-summary.mjs <pglite.json> <postgres.json>
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXPECTED_SKIPS } from './expected-skips.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Every test of one report: its file (relative to the repository), full name and status. */
function testsOf(report) {
  return report.testResults.flatMap((file) =>
    file.assertionResults.map((t) => ({
      file: path.relative(ROOT, file.name).split(path.sep).join('/'),
      name: [...t.ancestorTitles, t.title].join(' '),
      status: t.status === 'passed' || t.status === 'failed' ? t.status : 'skipped',
    })),
  );
}

const matches = (entry, test) => test.file === entry.file && test.name.startsWith(entry.name);

/**
 * The problems of the two runs, one line each (none: CI passes), and the totals.
 * `reports` maps an engine ('pglite', 'postgres') to its parsed report, or undefined when the run
 * wrote none (it did not run, or vitest crashed).
 */
export function summarize(reports, expected = EXPECTED_SKIPS) {
  const problems = [];
  const totals = { passed: 0, failed: 0, skipped: 0 };
  const tests = {};
  for (const [engine, report] of Object.entries(reports)) {
    if (!report) {
      problems.push(`the ${engine} run wrote no report: it did not run to the end`);
      continue;
    }
    tests[engine] = testsOf(report);
    if (report.numFailedTestSuites > 0 && tests[engine].every((t) => t.status !== 'failed')) problems.push(`${engine}: ${report.numFailedTestSuites} test file(s) failed to run`);
    for (const t of tests[engine]) {
      totals[t.status] += 1;
      if (t.status === 'failed') problems.push(`${engine}: failed: ${t.file} > ${t.name}`);
      if (t.status === 'skipped' && !expected.some((e) => e.skipsOn === engine && matches(e, t))) problems.push(`${engine}: skipped, and not an expected skip: ${t.file} > ${t.name}`);
    }
    if (tests[engine].length === 0) problems.push(`${engine}: no test ran`);
  }
  for (const entry of expected) {
    for (const [engine, list] of Object.entries(tests)) {
      if (engine === entry.skipsOn) continue;
      const own = list.filter((t) => matches(entry, t));
      if (own.length === 0) problems.push(`${engine}: the expected skip "${entry.file} > ${entry.name}" names no test: fix scripts/expected-skips.mjs`);
      for (const t of own) if (t.status === 'skipped') problems.push(`${engine}: skipped on the engine it must run on: ${t.file} > ${t.name} (${entry.why})`);
    }
  }
  return { problems, totals };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [pglite, postgres] = process.argv.slice(2);
  const read = (file) => (file && fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined);
  const { problems, totals } = summarize({ pglite: read(pglite), postgres: read(postgres) });
  for (const p of problems) console.error(`!! ${p}`);
  console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped (${EXPECTED_SKIPS.length} expected skips, scripts/expected-skips.mjs)`);
  if (problems.length > 0 || totals.passed === 0) process.exit(1);
}
