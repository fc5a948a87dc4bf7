// The surface of this module (docs/design.md §8): what other modules, the server and the CLI may
// import from it. Its own files import each other directly; its GraphQL lives in schema.ts.
export { archiveContract, archiveTask, startArchiveRetention } from './archive.js';
export { cancelTask } from './cancel.js';
