// control: cancelTask, archiveTask, archiveContract, the archive retention.
// Its surface (docs/design.md §8): what other modules, the server and the CLI may import from it;
// its own files import each other directly, and its GraphQL lives in schema.ts.
export { archiveContract, archiveTask, startArchiveRetention } from './archive.js';
export { cancelTask } from './cancel.js';
