// workers: claim, renew, complete, fail, the lease sweep, what a worker may push.
// Its surface (docs/design.md §8): what other modules, the server and the CLI may import from it;
// its own files import each other directly, and its GraphQL lives in schema.ts.
export { pushRights } from './push.js';
export { claimTask, completeTask, failTask, renewLease, startWorkers } from './service.js';
