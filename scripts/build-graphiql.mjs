// GraphiQL's files for makima's server (src/http/graphiql.ts; docs/design.md §2, "What an install
// weighs"): Ruru's prebuilt GraphiQL distribution taken out of the `ruru` package at build time
// into web/dist/graphiql/, so that a production install needs neither ruru nor the GraphiQL, Monaco
// and React packages it depends on (about 250 MB, and packages that want Node ≥ 22).
//
// Writes, for each of Ruru's static files, `files/<name>.br` (Ruru ships them brotli-compressed),
// `manifest.json` (name → etag), and Ruru's HTML page with placeholders that the server fills in
// (the GraphQL path, the default query, makima's own fetcher script).
//
// Used by scripts/build-web.mjs (`npm run build:web`, and scripts/ensure-build.mjs when the files
// are missing or older than the installed ruru).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const GRAPHIQL_OUT = path.join(ROOT, 'web', 'dist', 'graphiql');
const MANIFEST = path.join(GRAPHIQL_OUT, 'manifest.json');

/** The placeholders the page holds; src/http/graphiql.ts replaces exactly these. */
export const PLACEHOLDERS = {
  endpoint: '__MAKIMA_GRAPHQL_PATH__',
  defaultQuery: '__MAKIMA_DEFAULT_QUERY__',
  configScript: '<!--MAKIMA_CONFIG_SCRIPT-->',
};
/** Where the server serves the files (src/http/graphiql.ts GRAPHIQL_STATIC_PATH). */
const STATIC_PATH = '/graphiql-static/';

/** ruru's own package.json, found from its exported entry (the package exports no package.json). */
function ruruPackageDir() {
  const require = createRequire(import.meta.url);
  let dir = path.dirname(require.resolve('ruru/static'));
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}

/** Why web/dist/graphiql must be (re)built, or undefined when it is current or ruru is not installed (a production install). */
export function graphiqlStaleReason() {
  let dir;
  try {
    dir = ruruPackageDir();
  } catch {
    return undefined;
  }
  if (!fs.existsSync(MANIFEST)) return 'web/dist/graphiql is missing';
  const { ruru } = JSON.parse(fs.readFileSync(MANIFEST, 'utf8'));
  const installed = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
  return ruru === installed ? undefined : `web/dist/graphiql holds ruru ${ruru}, ruru ${installed} is installed`;
}

export async function buildGraphiql() {
  const dir = ruruPackageDir();
  const version = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
  // The files Ruru's getStaticFile serves (brotli, with their etags): its bundleCode module.
  const { bundleData } = await import(path.join(path.dirname(createRequire(import.meta.url).resolve('ruru/static')), 'bundleCode.js'));
  const { ruruHTML } = await import('ruru/server');
  const temporary = `${GRAPHIQL_OUT}.${process.pid}.tmp`;
  fs.rmSync(temporary, { recursive: true, force: true });
  fs.mkdirSync(path.join(temporary, 'files'), { recursive: true });
  const files = {};
  for (const [name, { buffer, etag }] of Object.entries(bundleData)) {
    if (!/^[\w.-]+$/.test(name)) throw new Error(`ruru ships a file with an unexpected name: ${name}`);
    fs.writeFileSync(path.join(temporary, 'files', `${name}.br`), buffer);
    files[name] = etag;
  }
  const page = ruruHTML({
    staticPath: STATIC_PATH,
    endpoint: PLACEHOLDERS.endpoint,
    clientConfig: { defaultQuery: PLACEHOLDERS.defaultQuery, isHeadersEditorEnabled: true },
    htmlParts: {
      titleTag: '<title>makima · GraphiQL</title>',
      configScript: (original) => `${original}\n${PLACEHOLDERS.configScript}`,
    },
  });
  for (const placeholder of Object.values(PLACEHOLDERS)) {
    if (page.split(placeholder).length !== 2) throw new Error(`Ruru's page does not hold ${placeholder} exactly once`);
  }
  fs.writeFileSync(path.join(temporary, 'page.html'), page);
  fs.writeFileSync(path.join(temporary, 'manifest.json'), `${JSON.stringify({ ruru: version, staticPath: STATIC_PATH, placeholders: PLACEHOLDERS, files }, null, 2)}\n`);
  fs.rmSync(GRAPHIQL_OUT, { recursive: true, force: true });
  fs.renameSync(temporary, GRAPHIQL_OUT);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await buildGraphiql();
  } catch (err) {
    process.stderr.write(`makima: building GraphiQL's files failed: ${err instanceof Error ? err.message : err}\n`);
    process.exitCode = 1;
  }
}
