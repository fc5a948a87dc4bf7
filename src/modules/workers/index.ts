// The surface of this module (docs/design.md §8): what other modules, the server and the CLI may
// import from it. Its own files import each other directly; its GraphQL lives in schema.ts.
export { pushRights } from './push.js';
export { claimTask, completeTask, failTask, renewLease, startWorkers } from './service.js';
