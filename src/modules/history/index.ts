// history: the history filter and its SQL, the HistoryEvent type and its typed details.
// Its surface (docs/design.md §8): what other modules, the server and the CLI may import from it;
// its own files import each other directly, and its GraphQL lives in schema.ts.
export { checkHistoryFilter, historyWhere, matchesHistoryFilter, type HistoryFilter } from './service.js';
export { JOINABLE_CONTRACT_FIELDS, JOINABLE_TASK_FIELDS, readHistoryPage, type HistoryRow } from './sql.js';
