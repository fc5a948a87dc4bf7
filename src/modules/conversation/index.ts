// conversation: the message tree, appends, snapshots, conversation rewind.
// Its surface (docs/design.md §8): what other modules, the server and the CLI may import from it;
// its own files import each other directly, and its GraphQL lives in schema.ts.
export { rewindConversation, rewindConversationInTx } from './rewind.js';
export { appendMessages, assertReachable, createSnapshot, deepestSharedDepth, isOnPath, pathMessages, snapshotHead, snapshotOfTask, type MessageDraft } from './service.js';
