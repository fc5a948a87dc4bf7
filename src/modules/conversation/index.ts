// conversation: the message tree, appends, snapshots, conversation rewind.
// Its surface (docs/design.md §8): what other modules, the server and the CLI may import from it;
// its own files import each other directly, and its GraphQL lives in schema.ts.
export { rewindConversation, rewindConversationInTx } from './rewind.js';
export { appendMessages, assertReachable, createSnapshot, deepestSharedDepth, isOnPath, jumpFor, pathMessages, snapshotHead, snapshotOfTask, type JumpLink, type MessageDraft } from './service.js';
