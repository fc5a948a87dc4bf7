// forks: forkTask.
// Its surface (docs/design.md §8): what other modules, the server and the CLI may import from it;
// its own files import each other directly, and its GraphQL lives in schema.ts.
export { forkTask, type ForkTaskInput } from './service.js';
