// GraphQL: the User type and `viewer`, API tokens (create, list, revoke) and createUser (administrator only).
import { builder } from '../../schema/builder.js';
import { ID_CURSOR } from '../../schema/cursors.js';
import { decodeId, nodeWhere } from '../../schema/ids.js';
import { requireViewer, serviceContext } from '../../schema/viewer.js';
import { TokenScope } from '../../generated/prisma/enums.js';
import { createApiToken, createUserAsAdmin, MAX_TOKEN_NAME_LENGTH, MAX_USER_NAME_LENGTH, revokeApiToken } from './service.js';

export const UserRef = builder.prismaNode('User', {
  description: 'A person (or team) with API tokens; everything they create is theirs alone',
  id: { field: 'id' },
  findUnique: (id, ctx) => nodeWhere(id, 'User', { AND: [{ id: ctx.viewer?.id ?? '' }] }),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The name given at `makima user create`' }),
    isAdmin: t.exposeBoolean('isAdmin', { description: 'The administrator (the first user) may create users (createUser)' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the user was created' }),
  }),
});

builder.queryField('viewer', (t) =>
  t.prismaField({
    type: 'User',
    description: 'The user whose token made this request',
    resolve: (query, _root, _args, ctx) => ctx.prisma.user.findUniqueOrThrow({ ...query, where: { id: requireViewer(ctx).id } }),
  }),
);

export const TokenScopeEnum = builder.enumType(TokenScope, {
  name: 'TokenScope',
  description: 'What an API token may do. A refused operation is FORBIDDEN and names the scope it needs.',
  values: {
    FULL: { description: 'Everything the user may do' },
    READ: { description: 'Queries and subscriptions only (dashboards)' },
    WORKER: {
      description:
        'Worker machines: queries, subscriptions, claimTask, renewLease, completeTask, failTask, and appendMessages, recordTaskEvents and createCheckpoint with the `workerId` of a worker that holds the task. No rewinds, forks, contracts, cancels, archives or tokens.',
    },
  } as const,
});

export const ApiTokenRef = builder.prismaNode('ApiToken', {
  description: 'An API token of the viewer. The secret itself is shown only once, by createApiToken; it is stored as a hash.',
  id: { field: 'id' },
  findUnique: (id, ctx) => nodeWhere(id, 'ApiToken', { userId: ctx.viewer?.id ?? '' }),
  fields: (t) => ({
    name: t.exposeString('name', { description: "The token's name, shown in history events it causes (HistoryEvent.actor)" }),
    scope: t.expose('scope', { type: TokenScopeEnum, description: 'What the token may do' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the token was created' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true, description: 'When the token was last used (refreshed at most once a minute); null if never' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true, description: 'After this the token is refused (UNAUTHENTICATED); null: never expires' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true, description: 'When the token was revoked (revokeApiToken); null while it is valid' }),
  }),
});

builder.queryField('apiTokens', (t) =>
  t.prismaConnection(
    {
      type: 'ApiToken',
      cursor: 'id',
      description: "The viewer's API tokens, newest first, revoked ones included (never their secrets). Needs a FULL token. `first` ≤ 100.",
      authScopes: { full: true },
      skipTypeScopes: true,
      resolve: (query, _root, _args, ctx) =>
        ctx.prisma.apiToken.findMany({ ...query, where: { userId: requireViewer(ctx).id }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }),
    },
    { name: 'ApiTokenConnection', description: 'A page of API tokens', extensions: { cursor: ID_CURSOR } },
    { description: 'An API token and its cursor' },
  ),
);

const CreateApiTokenInput = builder.inputType('CreateApiTokenInput', {
  description: 'A new API token for the viewer',
  fields: (t) => ({
    name: t.string({ required: true, description: `What the token is for (printable, 1..${MAX_TOKEN_NAME_LENGTH} characters)` }),
    scope: t.field({ type: TokenScopeEnum, defaultValue: 'FULL', description: 'What the token may do (default FULL)' }),
    expiresAt: t.field({ type: 'DateTime', description: 'When the token stops working (must be in the future); null: never' }),
  }),
});

const CreateApiTokenPayload = builder.simpleObject('CreateApiTokenPayload', {
  description: 'The new token: its secret, shown this once, and its record',
  fields: (t) => ({
    token: t.string({ description: 'The secret, to send as "Authorization: Bearer <token>". Shown only here: it is stored as a hash.' }),
    apiToken: t.field({ type: ApiTokenRef, description: "The token's record (as apiTokens lists it)" }),
  }),
});

const RevokeApiTokenInput = builder.inputType('RevokeApiTokenInput', {
  description: 'The token to revoke',
  fields: (t) => ({ id: t.id({ required: true, description: "One of the viewer's API tokens (NOT_FOUND otherwise)" }) }),
});

const RevokeApiTokenPayload = builder.simpleObject('RevokeApiTokenPayload', {
  description: 'The revoked token',
  fields: (t) => ({ apiToken: t.field({ type: ApiTokenRef, description: 'The token, with revokedAt set' }) }),
});

const CreateUserInput = builder.inputType('CreateUserInput', {
  description: 'A new user',
  fields: (t) => ({ name: t.string({ required: true, description: `The user's name (1..${MAX_USER_NAME_LENGTH} characters)` }) }),
});

const CreateUserPayload = builder.simpleObject('CreateUserPayload', {
  description: 'The new user and its first token (FULL, named "default")',
  fields: (t) => ({
    user: t.field({ type: UserRef, description: 'The new user (not the viewer: node(id) does not show it to the administrator)' }),
    token: t.string({ description: "The new user's API token, shown only here" }),
  }),
});

builder.mutationFields((t) => ({
  createApiToken: t.field({
    type: CreateApiTokenPayload,
    description: 'Creates an API token for the viewer; its secret is in the payload and never shown again. Needs a FULL token. BAD_USER_INPUT for an empty or too long name, or an expiresAt in the past.',
    args: { input: t.arg({ type: CreateApiTokenInput, required: true, description: 'Name, scope and expiry' }) },
    resolve: (_root, { input }, ctx) => createApiToken(serviceContext(ctx), input),
  }),
  revokeApiToken: t.field({
    type: RevokeApiTokenPayload,
    description:
      'Revokes one of the viewer\'s API tokens (also the calling one): every server instance refuses it at once (UNAUTHENTICATED) and closes its graphql-ws sockets with 4419. Needs a FULL token. NOT_FOUND for another user\'s token; CONFLICT if already revoked.',
    args: { input: t.arg({ type: RevokeApiTokenInput, required: true, description: 'The token' }) },
    resolve: async (_root, { input }, ctx) => ({ apiToken: await revokeApiToken(serviceContext(ctx), decodeId(String(input.id), 'ApiToken', 'id')) }),
  }),
  createUser: t.field({
    type: CreateUserPayload,
    description:
      'Creates a user and its first API token (FULL), without stopping the server (`makima user create` uses it when a server holds the embedded database). Only the administrator — the first user — may: FORBIDDEN otherwise. Needs a FULL token.',
    args: { input: t.arg({ type: CreateUserInput, required: true, description: "The user's name" }) },
    resolve: async (_root, { input }, ctx) => {
      const created = await createUserAsAdmin(serviceContext(ctx), input.name);
      return { user: await ctx.prisma.user.findUniqueOrThrow({ where: { id: created.id } }), token: created.token };
    },
  }),
}));
