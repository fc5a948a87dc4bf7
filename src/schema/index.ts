// Assembles the schema: every domain's schema file registers its types on the one builder.
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { builder } from './builder.js';
import '../modules/auth/schema.js';
import '../modules/history/schema.js';
import '../modules/tasks/schema.js';
import '../modules/contracts/schema.js';
import '../modules/events/schema.js';
import '../modules/conversation/schema.js';
import '../modules/checkpoints/schema.js';
import '../modules/forks/schema.js';
import '../modules/compare/schema.js';
import '../modules/resume/schema.js';
import '../modules/workers/schema.js';
import '../modules/timeline/schema.js';
import '../modules/control/schema.js';
import '../modules/search/schema.js';
import '../modules/transcripts/schema.js';

let schema: GraphQLSchema | undefined;

export function getSchema(): GraphQLSchema {
  schema ??= builder.toSchema({ sortSchema: false });
  return schema;
}

/** The SDL committed as schema.graphql; a test fails when the file is stale. */
export function printSchemaSDL(): string {
  return `${printSchema(lexicographicSortSchema(getSchema()))}\n`;
}
