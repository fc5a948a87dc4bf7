// checkpoints: checkpoints, diffs, code rewind, branches from a checkpoint.
// Its surface (docs/design.md §8): what other modules, the server and the CLI may import from it;
// its own files import each other directly, and its GraphQL lives in schema.ts.
export { branchFromCheckpoint } from './branch.js';
export { rewindTask, rewindTaskInTx } from './rewind.js';
export { checkpointDiff, checkpointOfTask, createCheckpoint, MAX_DIFFS_PER_REQUEST, patchBetween, saveUncommittedWork, snapshotOfCheckpoint } from './service.js';
