// GraphQL Code Generator: typed documents from the committed schema.graphql — for the CLI and the
// tests (src/generated/gql/), and for the browser view (web/src/generated/, as plain strings so the
// page ships no GraphQL parser). A document that no longer fits the schema fails `npm run generate`;
// a document edited since the last generate has no type, so `npm run typecheck` fails on it.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config = {
  useTypeImports: true,
  scalars: { DateTime: 'string', JSON: 'unknown' },
  enumsAsTypes: true,
};

const codegen: CodegenConfig = {
  schema: 'schema.graphql',
  ignoreNoDocuments: true,
  emitLegacyCommonJSImports: false,
  errorsOnly: true,
  generates: {
    'src/generated/gql/': {
      documents: ['src/cli/**/*.ts', 'test/**/*.ts'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config,
    },
    'web/src/generated/': {
      documents: ['web/src/**/*.{ts,tsx}', '!web/src/generated/**'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: { ...config, documentMode: 'string', avoidOptionals: { field: true, inputValue: false, object: true, defaultValue: false } },
    },
  },
};

export default codegen;
