// events: a task's raw event stream and its subscription.
// Its surface (docs/design.md §8): what other modules, the server and the CLI may import from it;
// its own files import each other directly, and its GraphQL lives in schema.ts.
export { followTaskEvents, recordTaskEvents, recordTaskEventsInTx, type TaskEventDraft } from './service.js';
