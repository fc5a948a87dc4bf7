// Builds the timeline view (web/src, Preact + TSX) into web/dist: one JavaScript bundle, one
// stylesheet and index.html, all served by the makima server itself at `/` (src/http/web.ts) — nothing
// from a CDN, so the page works offline. GraphiQL's files go to web/dist/graphiql/ beside it
// (scripts/build-graphiql.mjs).
//
// Used three ways: `node scripts/build-web.mjs` (`npm run build:web`, part of `npm run build`),
// and `webStaleReason()` / `buildWeb()` from scripts/ensure-build.mjs, which rebuilds the page when a
// file under web/src is newer than the bundle (so `npm start` always serves the current page).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildGraphiql, graphiqlStaleReason } from './build-graphiql.mjs';
import { mtime, newestUnder } from './mtime.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SRC = path.join(ROOT, 'web', 'src');
const OUT = path.join(ROOT, 'web', 'dist');
const BUNDLE = path.join(OUT, 'app.js');

/** The newest modification time among web/src (files and folders), this script and web/tsconfig.json. */
function newestSource() {
  return newestUnder(SRC, [fileURLToPath(import.meta.url), path.join(ROOT, 'web', 'tsconfig.json')]);
}

/** Why web/dist must be (re)built, or undefined when it is current (or there is no web/src). */
export function webStaleReason() {
  if (!fs.existsSync(SRC)) return undefined;
  if (!fs.existsSync(BUNDLE)) return 'web/dist/app.js is missing';
  if (newestSource() > mtime(BUNDLE)) return 'web/src is newer than web/dist';
  return graphiqlStaleReason();
}

/** Bundles web/src/main.tsx (and its CSS) into web/dist and copies index.html, and takes GraphiQL's files out of ruru when they are not there yet (scripts/build-graphiql.mjs); throws on a build error. */
export async function buildWeb() {
  const started = Date.now();
  const esbuild = await import('esbuild');
  fs.mkdirSync(OUT, { recursive: true });
  await esbuild.build({
    entryPoints: { app: path.join(SRC, 'main.tsx') },
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: OUT,
    logLevel: 'warning',
    legalComments: 'none',
  });
  fs.copyFileSync(path.join(SRC, 'index.html'), path.join(OUT, 'index.html'));
  // The bundle's time is when the sources were read, so an edit made during the build counts as newer.
  const t = new Date(Math.min(started, Date.now()));
  fs.utimesSync(BUNDLE, t, t);
  if (graphiqlStaleReason()) await buildGraphiql();
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await buildWeb();
  } catch (err) {
    process.stderr.write(`makima: building the timeline view failed: ${err instanceof Error ? err.message : err}\n`);
    process.exitCode = 1;
  }
}
