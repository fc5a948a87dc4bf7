// auth: users and API tokens.
// Its surface (docs/design.md §8): what other modules, the server and the CLI may import from it;
// its own files import each other directly, and its GraphQL lives in schema.ts.
export { Authenticator } from './authenticator.js';
export { bearerToken, createApiToken, createUser, createUserAsAdmin, revokeApiToken } from './service.js';
