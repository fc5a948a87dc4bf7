// The layering rule of src/ (docs/design.md §8, .dependency-cruiser.cjs) holds, and the check
// really fails on an upward import, a cycle, git outside its seam, GraphQL in a service, a module
// reached past its surface and the change floor importing a module.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { cruise, type ICruiseResult } from 'dependency-cruiser';
import { describe, expect, it } from 'vitest';
import { tempDir } from './harness.js';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(import.meta.dirname, '..');
const config = require(path.join(ROOT, '.dependency-cruiser.cjs'));

async function violations(baseDir: string, what: string[]): Promise<string[]> {
  const cwd = process.cwd();
  process.chdir(baseDir); // rule paths are relative to the cruised tree's root
  try {
    const result = await cruise(what, { ruleSet: { forbidden: config.forbidden }, ...config.options, tsConfig: undefined, validate: true });
    const output = result.output as ICruiseResult;
    return output.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`);
  } finally {
    process.chdir(cwd);
  }
}

function writeTree(files: Record<string, string>): string {
  const root = tempDir('makima-structure-');
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), content);
  }
  return root;
}

describe('the module structure', () => {
  it('has no upward or two-way import between modules, no cycle, git only behind its seam, and modules meet at their surfaces', async () => {
    expect(await violations(ROOT, ['src'])).toEqual([]);
  }, 120_000);

  it('fails on an upward import, a cycle, git outside its seam, GraphQL in a service and an unlisted module', async () => {
    const root = writeTree({
      'src/git/index.ts': "export * from './repo.js';\n",
      'src/git/repo.ts': 'export const git = 1;\n',
      'src/schema/builder.ts': 'export const builder = 1;\n',
      'src/modules/workers/service.ts': "import '../tasks/service.js';\nexport const w = 1;\n",
      'src/modules/tasks/service.ts': "import '../workers/service.js';\nimport '../../git/repo.js';\nimport '../../schema/builder.js';\nexport const t = 1;\n",
      'src/modules/gadgets/service.ts': "import '../tasks/service.js';\n",
      'src/modules/contracts/service.ts': "import '../gadgets/service.js';\n",
    });
    const found = await violations(root, ['src']);
    expect(found).toEqual(
      expect.arrayContaining([
        'layering-tasks: src/modules/tasks/service.ts → src/modules/workers/service.ts',
        'no-circular: src/modules/tasks/service.ts → src/modules/workers/service.ts',
        'git-through-its-seam: src/modules/tasks/service.ts → src/git/repo.ts',
        'services-never-import-graphql: src/modules/tasks/service.ts → src/schema/builder.ts',
        'no-unknown-module: src/modules/contracts/service.ts → src/modules/gadgets/service.ts',
      ]),
    );
  }, 120_000);

  it("fails on a module reached past its surface, from a module, the server or the schema's assembly, and on the change floor importing a module", async () => {
    const root = writeTree({
      'src/schema/builder.ts': 'export const builder = 1;\n',
      'src/modules/tasks/sql.ts': 'export const taskColumns = 1;\n',
      'src/modules/tasks/index.ts': "export { taskColumns } from './sql.js';\n",
      'src/modules/tasks/schema.ts': "import { taskColumns } from './sql.js';\nimport '../../schema/builder.js';\nexport const TaskRef = taskColumns;\n",
      'src/modules/events/service.ts': "import '../tasks/sql.js';\nimport '../tasks/index.js';\n",
      'src/modules/events/schema.ts': "import '../tasks/schema.js';\nimport './service.js';\n",
      'src/schema/index.ts': "import '../modules/tasks/schema.js';\nimport '../modules/events/schema.js';\nimport '../modules/tasks/sql.js';\n",
      'src/server.ts': "import './modules/tasks/index.js';\nimport './modules/events/service.js';\n",
      'src/cli/task.ts': "import '../modules/tasks/schema.js';\n",
      'src/change/with-git.ts': "import '../modules/tasks/index.js';\n",
    });
    const found = await violations(root, ['src']);
    expect(found.sort()).toEqual([
      'infrastructure-below-modules: src/change/with-git.ts → src/modules/tasks/index.ts',
      'modules-meet-at-their-surface: src/modules/events/service.ts → src/modules/tasks/sql.ts',
      'outside-meets-module-surfaces: src/cli/task.ts → src/modules/tasks/schema.ts',
      'outside-meets-module-surfaces: src/server.ts → src/modules/events/service.ts',
      'schema-assembly-meets-module-surfaces: src/schema/index.ts → src/modules/tasks/sql.ts',
    ]);
  }, 120_000);
});
