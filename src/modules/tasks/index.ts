// tasks: the Task type, names and prompts, task references, worktree provisioning, the task row's SQL.
// Its surface (docs/design.md §8): what other modules, the server and the CLI may import from it;
// its own files import each other directly, and its GraphQL lives in schema.ts.
export { assertName, assertPrompt, MAX_NAME_LENGTH, MAX_PROMPT_LENGTH } from './service.js';
export { likePrefix, MAX_CANDIDATES, resolveTaskRef, uuidPrefix } from './refs.js';
export { taskColumns, taskFromRow } from './sql.js';
export { assertRepositoryPresent, currentHead, ensureBranch, provisionTask, repositoryHead, repositoryOf, settleBranch, workspaceOf } from './workspace.js';
