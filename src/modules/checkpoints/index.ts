// The surface of this module (docs/design.md §8): what other modules, the server and the CLI may
// import from it. Its own files import each other directly; its GraphQL lives in schema.ts.
export { branchFromCheckpoint } from './branch.js';
export { rewindTask, rewindTaskInTx } from './rewind.js';
export { checkpointDiff, checkpointOfTask, createCheckpoint, MAX_DIFFS_PER_REQUEST, patchBetween, saveUncommittedWork, snapshotOfCheckpoint } from './service.js';
