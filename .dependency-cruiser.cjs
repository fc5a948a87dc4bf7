// The layering rule of src/ (docs/design.md §8), checked by test/structure.test.ts in `npm test`.
// Floors, from the bottom: infrastructure (config, errors, db, git, live, the schema builder) with
// the change floor above db (src/change/: changeWithGit, task access, the history catalogue), which
// imports no module; the domain modules, importing only downward in LAYERS order (the floor first)
// and meeting only at each other's surface (index.ts, and schema.ts for GraphQL); the transport,
// the server and the CLI on top. Git is reached only through its seam; services never import GraphQL.
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
      name: 'modules-meet-at-their-surface',
      comment:
        "a module's own files import each other freely; another module reaches it only through its surface, index.ts. " +
        "One exception: schema.ts is the module's GraphQL surface (its object refs, for other modules' schema.ts; services-never-import-graphql keeps services off it)",
      severity: 'error',
      from: { path: '^src/modules/([^/]+)/' },
      to: { path: '^src/modules/', pathNot: ['^src/modules/$1/', '^src/modules/[^/]+/(index|schema)\\.ts$'] },
    },
    {
      name: 'outside-meets-module-surfaces',
      comment:
        'the server, the transport and the CLI reach a module only through its surface, index.ts. ' +
        'One exception: src/schema/index.ts assembles the GraphQL schema from every schema.ts',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/modules/', '^src/schema/index\\.ts$'] },
      to: { path: '^src/modules/', pathNot: '^src/modules/[^/]+/index\\.ts$' },
    },
    {
      name: 'schema-assembly-meets-module-surfaces',
      comment: 'src/schema/index.ts imports only the modules\' schema.ts (and surfaces)',
      severity: 'error',
      from: { path: '^src/schema/index\\.ts$' },
      to: { path: '^src/modules/', pathNot: '^src/modules/[^/]+/(index|schema)\\.ts$' },
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
