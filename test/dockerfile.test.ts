// The Dockerfile, checked without a Docker engine (docs/testing.md, "The Docker image and its replay"): the fast half here —
// its parse, that the build stage copies every input of `npm run generate` and `npm run build`,
// that the runtime stage ships what `makima serve` reads — while scripts/replay-dockerfile.mjs,
// run once by .ci/run, replays the whole file and starts the result.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain-JavaScript script, without type declarations
import { dockerignore, parseDockerfile } from '../scripts/replay-dockerfile.mjs';

const ROOT = path.resolve(import.meta.dirname, '..');
type Instruction = { op: string; args: string[]; flags: Record<string, string | true>; text: string };
type Stage = { name: string; from: string; instructions: Instruction[] };
const stages: Stage[] = parseDockerfile(fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
const ignored: (rel: string) => boolean = dockerignore(fs.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8'));

/** What a stage's COPY lines copy from the build context (or from `from`), as source paths. */
const copied = (stage: Stage, from?: string) =>
  stage.instructions.filter((i) => i.op === 'COPY' && i.flags.from === from).flatMap((i) => i.args.slice(0, -1));

describe('parseDockerfile', () => {
  it('joins continued lines, drops comments and reads flags and the exec form', () => {
    const parsed = parseDockerfile('# syntax=docker/dockerfile:1\nFROM node:20 AS build\nWORKDIR /app\nRUN a \\\n # a comment\n && b\nFROM node:20\nCOPY --from=build /app/dist ./dist\nCMD ["serve", "--json"]\n');
    expect(parsed).toMatchObject([
      { name: 'build', from: 'node:20', instructions: [{ op: 'WORKDIR', args: ['/app'] }, { op: 'RUN', text: 'a && b' }] },
      { name: '1', instructions: [{ op: 'COPY', flags: { from: 'build' }, args: ['/app/dist', './dist'] }, { op: 'CMD', args: ['serve', '--json'] }] },
    ]);
  });

  it('reads .dockerignore patterns as docker does for plain names and globs', () => {
    const skip = dockerignore('node_modules\nweb/dist\n*.log\n');
    expect(['node_modules', 'node_modules/x', 'web/dist/app.js', 'x.log'].map(skip)).toEqual([true, true, true, true]);
    expect(['web/src/main.tsx', 'src/dist.ts', 'web'].map(skip)).toEqual([false, false, false]);
  });
});

describe('the Dockerfile', () => {
  const [build, runtime] = stages;

  it('copies into the build stage every input of the generate and build scripts, none of them ignored', () => {
    const sources = copied(build);
    for (const input of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'codegen.ts', 'schema.graphql', 'prisma', 'scripts', 'src', 'web'])
      expect(sources, input).toContain(input);
    for (const source of sources) {
      expect(fs.existsSync(path.join(ROOT, source)), `${source} exists`).toBe(true);
      expect(ignored(source), `${source} is not in .dockerignore`).toBe(false);
    }
    // The view is built from web/src, never copied prebuilt from a work tree.
    expect(ignored('web/dist/app.js')).toBe(true);
    expect(build.instructions.filter((i) => i.op === 'RUN').map((i) => i.text).join(' && ')).toMatch(/npm run generate.*npm run build/);
  });

  it('ships the compiled server, the built view and the migrations in the runtime stage', () => {
    expect(copied(runtime, build.name)).toEqual(expect.arrayContaining(['/app/dist', '/app/web/dist', '/app/prisma/migrations', '/app/node_modules']));
    const entry = runtime.instructions.find((i) => i.op === 'ENTRYPOINT')!;
    expect(entry.args).toEqual(['node', 'dist/main.js']);
    // The HEALTHCHECK, in exec form after its flags, is what the replay waits on.
    const health = runtime.instructions.find((i) => i.op === 'HEALTHCHECK')!;
    expect(health.args.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
    expect(health.args[3]).toContain('/ready');
  });

  it('is started by compose.yaml and its header command, which `user create` accepts', () => {
    const header = fs.readFileSync(path.join(ROOT, 'compose.yaml'), 'utf8').split('\n').find((l) => l.includes('user create'))!;
    expect(header).toMatch(/user create --name \S+/);
  });
});
