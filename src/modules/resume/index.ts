// resume: resumeTask, resumeSupervisor, resumeTaskFromCheckpoint.
// Its surface (docs/design.md §8): what other modules, the server and the CLI may import from it;
// its own files import each other directly, and its GraphQL lives in schema.ts.
export { resumeSupervisor, resumeTask, resumeTaskFromCheckpoint } from './service.js';
