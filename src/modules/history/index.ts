// The surface of this module (docs/design.md §8): what other modules, the server and the CLI may
// import from it. Its own files import each other directly; its GraphQL lives in schema.ts.
export { checkHistoryFilter, historyWhere, matchesHistoryFilter, type HistoryFilter } from './service.js';
export { JOINABLE_CONTRACT_FIELDS, JOINABLE_TASK_FIELDS, readHistoryPage, type HistoryRow } from './sql.js';
