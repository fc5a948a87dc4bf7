// The layering rule of src/ (docs/design.md §8), checked by test/structure.test.ts in `npm test`.
// Domain modules import only downward, in LAYERS order (the floor first); infrastructure imports
// no module; git is reached only through its seam; services never import GraphQL.
const LAYERS = ['auth', 'history', 'tasks', 'contracts', 'events', 'conversation', 'checkpoints', 'forks', 'compare', 'resume', 'workers', 'timeline', 'control', 'search', 'transcripts'];

const upward = LAYERS.map((module, i) => ({
  name: `layering-${module}`,
  comment: `${module} may import only modules below it: ${LAYERS.slice(0, i).join(', ') || '(none)'}`,
  severity: 'error',
  from: { path: `^src/modules/${module}/` },
  to: { path: `^src/modules/(${LAYERS.slice(i + 1).join('|') || '$^'})/` },
}));

module.exports = {
  forbidden: [
    ...upward,
    {
      name: 'no-unknown-module',
      comment: 'every folder under src/modules/ has a place in LAYERS (.dependency-cruiser.cjs)',
      severity: 'error',
      from: {},
      to: { path: '^src/modules/', pathNot: `^src/modules/(${LAYERS.join('|')})/` },
    },
    {
      name: 'no-circular',
      comment: 'no import cycles anywhere in src/',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'infrastructure-below-modules',
      comment: 'db, change, git, lib, live, the schema builder, config, context and errors import no domain module',
      severity: 'error',
      from: { path: '^src/(db|change|git|lib|live|schema|config\\.ts|context\\.ts|errors\\.ts)', pathNot: '^src/schema/(index|print)\\.ts$' },
      to: { path: '^src/modules/' },
    },
    {
      name: 'git-through-its-seam',
      comment: 'outside src/git/, git is reached only through src/git/index.ts',
      severity: 'error',
      from: { pathNot: '^src/git/' },
      to: { path: '^src/git/', pathNot: '^src/git/index\\.ts$' },
    },
    {
      name: 'no-simple-git-outside-git',
      comment: 'only src/git/ runs git',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/git/' },
      to: { path: 'node_modules/simple-git/' },
    },
    {
      name: 'services-never-import-graphql',
      comment: 'a domain rule does not know GraphQL: only schema files use the builder and other schema files',
      severity: 'error',
      from: { path: '^src/modules/', pathNot: '/(schema|details)\\.ts$' },
      to: { path: ['^src/schema/', '^src/modules/[^/]+/(schema|details)\\.ts$', 'node_modules/(graphql|@pothos)/'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/generated/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.js', '.mjs', '.cjs'] },
  },
};
