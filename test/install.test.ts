// What a production install holds (docs/operations.md, "Node versions and what an install
// weighs"; docs/design.md §2): read from package-lock.json, which pins every package npm installs
// with its `engines` and whether only development needs it. Nothing here downloads anything.
import fs from 'node:fs';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

interface Locked {
  version?: string;
  dev?: boolean;
  devOptional?: boolean;
  optional?: boolean;
  engines?: { node?: string } | string[];
}

const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8')) as { engines: { node: string }; dependencies: Record<string, string>; devDependencies: Record<string, string> };
const lock = JSON.parse(fs.readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, Locked> };
const installed = Object.entries(lock.packages).filter(([where]) => where !== '');
/** What `npm ci --omit=dev` installs: every package not flagged development-only. */
const production = installed.filter(([, p]) => !p.dev);
/** The oldest Node of each line makima supports (package.json `engines`: `^20.19 || ^22.12 || >=24`). */
const supported = pkg.engines.node.split('||').map((range) => semver.minVersion(range.trim())!.version);

describe('a production install', () => {
  it('supports exactly the Node versions makima declares: the oldest of each line', () => {
    expect(supported).toEqual(['20.19.0', '22.12.0', '24.0.0']);
  });

  it('has no package that declares an engine outside a supported Node version (npm would print EBADENGINE)', () => {
    const refusing = production.flatMap(([where, p]) => {
      const range = !p.engines || Array.isArray(p.engines) ? undefined : p.engines.node;
      if (!range) return [];
      const not = supported.filter((version) => !semver.satisfies(version, range, { includePrerelease: true }));
      return not.length ? [`${where.replace(/^.*node_modules\//, '')}@${p.version} wants node ${range}, not ${not.join(', ')}`] : [];
    });
    expect(refusing).toEqual([]);
  });

  it('leaves out the build tools: GraphiQL (ruru), the Prisma CLI, tsx, esbuild and what they pull in', () => {
    const present = new Set(production.map(([where]) => where.replace(/^.*node_modules\//, '')));
    for (const tool of ['ruru', 'graphiql', 'monaco-editor', 'react', 'prisma', 'prisma-cli', '@prisma/dev', '@prisma/studio-core', 'effect', 'tsx', 'esbuild', 'vitest']) {
      expect(present.has(tool), tool).toBe(false);
    }
    // The Prisma CLI is installed under another name so that it satisfies no runtime package's peer (design §2).
    expect(pkg.devDependencies['prisma-cli']).toBe(`npm:prisma@${pkg.dependencies['@prisma/client']}`);
    expect(lock.packages['node_modules/prisma-cli'].version).toBe(pkg.dependencies['@prisma/client']);
  });
});
