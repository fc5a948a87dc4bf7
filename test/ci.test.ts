// What CI checks (.ci/run, docs/testing.md), proven the way test/structure.test.ts proves
// its rules: `npm run typecheck` reaches every TypeScript file and fails on a planted type error in
// each part of the tree, .ci/run runs it, and the closing summary fails on a skip nobody expected.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain-JavaScript script, without type declarations
import { summarize } from '../scripts/ci-summary.mjs';
// @ts-expect-error: a plain-JavaScript script, without type declarations
import { EXPECTED_SKIPS } from '../scripts/expected-skips.mjs';

const ROOT = path.resolve(import.meta.dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const TYPECHECK: string = pkg.scripts.typecheck;
/** The parts of the tree that hold TypeScript, each type-checked by `npm run typecheck`. */
const PARTS = ['src', 'test', 'bench', 'scripts', 'web/src'];

/** Every .ts/.tsx file under `dir`, skipping installed and generated code. */
function tsFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return ['node_modules', 'generated', 'dist'].includes(e.name) ? [] : tsFiles(full);
    return /\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** The files each `tsc -p <config>` of the typecheck script checks. */
function checkedFiles(): Set<string> {
  const configs = [...TYPECHECK.matchAll(/tsc -p (\S+)/g)].map((m) => path.join(ROOT, m[1]));
  const files = new Set<string>();
  for (const config of configs) {
    const parsed = ts.getParsedCommandLineOfConfigFile(config, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(String(d.messageText)); } });
    for (const f of parsed!.fileNames) files.add(path.resolve(f));
  }
  return files;
}

/**
 * Runs the typecheck script in a temp tree holding the two tsconfig files, the installed packages
 * and `files` (path → content); returns its exit status and output.
 */
function typecheckTree(files: Record<string, string>): { status: number | null; output: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'makima-typecheck-'));
  try {
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(root, 'node_modules'));
    for (const [name, content] of Object.entries({ 'tsconfig.json': fs.readFileSync(path.join(ROOT, 'tsconfig.json'), 'utf8'), 'web/tsconfig.json': fs.readFileSync(path.join(ROOT, 'web/tsconfig.json'), 'utf8'), ...files })) {
      fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
      fs.writeFileSync(path.join(root, name), content);
    }
    const r = spawnSync('sh', ['-c', TYPECHECK], { cwd: root, encoding: 'utf8', env: { ...process.env, PATH: `${path.join(ROOT, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH}` } });
    return { status: r.status, output: r.stdout + r.stderr };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

const planted = (ok: boolean) => `export const n: number = ${ok ? '1' : "'not a number'"};\n`;

describe('npm run typecheck', () => {
  it('checks every TypeScript file of src, test, bench, scripts and web/src', () => {
    const checked = checkedFiles();
    const all = PARTS.flatMap((part) => tsFiles(path.join(ROOT, part)));
    expect(all.length).toBeGreaterThan(100);
    expect(all.filter((f) => !checked.has(f)).map((f) => path.relative(ROOT, f))).toEqual([]);
  });

  it('fails on a type error planted in any part of the tree, and passes without it', () => {
    const tree = (bad: string[]) => Object.fromEntries(PARTS.map((part) => [`${part}/planted.ts`, planted(!bad.includes(part))]));
    expect(typecheckTree(tree([]))).toMatchObject({ status: 0 });
    // The script stops at its first failing tsc: the web's own check is proven on its own.
    const server = typecheckTree(tree(['src', 'test', 'bench', 'scripts']));
    expect(server.status).not.toBe(0);
    for (const part of ['src', 'test', 'bench', 'scripts']) expect(server.output).toContain(`${part}/planted.ts`);
    const web = typecheckTree(tree(['web/src']));
    expect(web.status).not.toBe(0);
    expect(web.output).toContain('src/planted.ts');
  }, 60_000);

  it('is part of .ci/run, which stops at the first failing command', () => {
    const run = fs.readFileSync(path.join(ROOT, '.ci/run'), 'utf8');
    expect(run).toMatch(/^set -euo pipefail$/m);
    const lines = run.split('\n');
    const typecheck = lines.findIndex((l) => l.trim() === 'npm run typecheck');
    expect(typecheck).toBeGreaterThan(0);
    expect(typecheck).toBeLessThan(lines.findIndex((l) => l.includes('run_tests pglite')));
  });
});

const report = (tests: { file: string; name: string; status: string }[]) => ({
  numFailedTestSuites: 0,
  testResults: [...new Set(tests.map((t) => t.file))].map((file) => ({
    name: path.join(ROOT, file),
    assertionResults: tests.filter((t) => t.file === file).map((t) => ({ ancestorTitles: [], title: t.name, status: t.status })),
  })),
});

describe("CI's summary of the two runs", () => {
  const pgOnly = { file: 'test/pg.test.ts', name: 'on PostgreSQL', skipsOn: 'pglite', why: 'PostgreSQL only' };
  const plain = { file: 'test/a.test.ts', name: 'works', status: 'passed' };

  it('passes when every skip is expected on that engine and ran on the other', () => {
    const { problems, totals } = summarize(
      { pglite: report([plain, { file: pgOnly.file, name: 'on PostgreSQL shares events', status: 'skipped' }]), postgres: report([plain, { file: pgOnly.file, name: 'on PostgreSQL shares events', status: 'passed' }]) },
      [pgOnly],
    );
    expect(problems).toEqual([]);
    expect(totals).toEqual({ passed: 3, failed: 0, skipped: 1 });
  });

  it('fails on an unexpected skip, a skip on the engine a test must run on, a failure and a missing run', () => {
    const { problems } = summarize(
      {
        pglite: report([{ ...plain, status: 'skipped' }, { file: pgOnly.file, name: 'on PostgreSQL shares events', status: 'skipped' }]),
        postgres: report([{ ...plain, status: 'failed' }, { file: pgOnly.file, name: 'on PostgreSQL shares events', status: 'pending' }]),
      },
      [pgOnly],
    );
    expect(problems).toEqual([
      'pglite: skipped, and not an expected skip: test/a.test.ts > works',
      'postgres: failed: test/a.test.ts > works',
      'postgres: skipped, and not an expected skip: test/pg.test.ts > on PostgreSQL shares events',
      'postgres: skipped on the engine it must run on: test/pg.test.ts > on PostgreSQL shares events (PostgreSQL only)',
    ]);
    expect(summarize({ pglite: report([plain]), postgres: undefined }, []).problems).toEqual(['the postgres run wrote no report: it did not run to the end']);
  });

  it('names, in its list of expected skips, tests that exist', () => {
    for (const entry of EXPECTED_SKIPS as { file: string; name: string }[]) {
      const source = fs.readFileSync(path.join(ROOT, entry.file), 'utf8');
      const lastTitle = entry.name.split(' ').slice(-4).join(' ');
      expect(source, `${entry.file} > ${entry.name}`).toContain(lastTitle);
    }
  });
});
