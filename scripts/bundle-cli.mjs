// Bundles the command line (dist/main.js and everything it imports statically) into one file,
// dist/cli/makima (an .mjs module), which bin/makima.js runs: loading one file instead of ~150 modules from dist/
// and node_modules is most of what makes a client command start fast (docs/design.md §17).
//
// Only what is imported statically goes in the bundle: the commands, the API client, commander,
// graphql's printer, graphql-ws's client, ws. Every dynamic import() stays a dynamic import, of
// the compiled file in dist/ (a project module) or of the package (from node_modules): that is how
// `serve`, `migrate` and `user create` reach the server, Prisma and PGlite, which a client command
// must never load. The bundle sits in dist/cli/ so that the paths its modules resolve from
// import.meta.url (package.json, two levels up) are the same as in dist/cli/*.js.
//
// Used by `npm run build` (`node scripts/bundle-cli.mjs`) and by scripts/ensure-build.mjs after tsc.
// Without esbuild (an install that has none) it writes nothing and bin/makima.js runs dist/main.js.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(ROOT, 'dist');
export const CLI_BUNDLE = path.join(DIST, 'cli', 'makima.mjs');

/** Keeps every dynamic import out of the bundle, rewritten to point at its file in dist/ from the bundle's folder. */
const dynamicImportsStay = {
  name: 'dynamic-imports-stay',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind !== 'dynamic-import') return undefined;
      if (!args.path.startsWith('.')) return { external: true };
      const target = path.resolve(args.resolveDir, args.path);
      const relative = path.relative(path.dirname(CLI_BUNDLE), target).split(path.sep).join('/');
      return { path: relative.startsWith('.') ? relative : `./${relative}`, external: true };
    });
  },
};

/** Whether esbuild is installed, so that the bundle can be made. */
export function canBundle() {
  try {
    createRequire(path.join(ROOT, 'package.json')).resolve('esbuild');
    return true;
  } catch {
    return false;
  }
}

/** Writes the bundle dist/cli/makima (.mjs) from dist/main.js; returns false (writing nothing) when esbuild is not installed. */
export async function bundleCli() {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    fs.rmSync(CLI_BUNDLE, { force: true });
    return false;
  }
  await esbuild.build({
    entryPoints: [path.join(DIST, 'main.js')],
    outfile: CLI_BUNDLE,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // ws and commander are CommonJS: their require() calls of Node's modules need a require.
    banner: { js: "import { createRequire as __makimaRequire } from 'node:module'; const require = __makimaRequire(import.meta.url);" },
    plugins: [dynamicImportsStay],
    logLevel: 'warning',
  });
  return true;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await bundleCli();
}
