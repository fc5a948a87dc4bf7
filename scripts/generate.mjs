// `npm run generate`: the Prisma client and Pothos types (offline: see DESIGN §2), then GraphQL codegen.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const env = { ...process.env, PATH: `${path.join(root, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH}`, PRISMA_SCHEMA_ENGINE_BINARY: path.join(root, 'scripts', 'schema-engine-unavailable.sh'), PRISMA_HIDE_UPDATE_MESSAGE: '1' };

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, env, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

run(bin('prisma'), ['generate']);
if (fs.existsSync(path.join(root, 'schema.graphql'))) run(bin('graphql-codegen'), ['--config', 'codegen.ts']);
