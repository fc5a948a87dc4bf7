// The one Pothos builder: Prisma, Relay and scope-auth plugins, scalars and the shared error type.
// `node`/`nodes` answer NOT_FOUND for a global ID of a type that is not a Node, like any other ID
// they cannot resolve (docs/design.md §5).
import SchemaBuilder from '@pothos/core';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin, { resolveNodes } from '@pothos/plugin-relay';
import ScopeAuthPlugin, { AuthScopeFailureType, type AuthFailure } from '@pothos/plugin-scope-auth';
import SimpleObjectsPlugin from '@pothos/plugin-simple-objects';
import { isObjectType, type GraphQLResolveInfo } from 'graphql';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import type { Context } from '../context.js';
import { ForbiddenError, MakimaError, UnauthenticatedError } from '../errors.js';
import type PrismaTypes from '../generated/pothos-types.js';
import { getDatamodel } from '../generated/pothos-types.js';

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

/**
 * NOT_FOUND unless a decoded global ID names a type that implements Node: Pothos would otherwise
 * look up a type that does not exist (`node(id: base64("Foo:1"))`) and fail as an internal error.
 */
function assertNodeType(info: GraphQLResolveInfo, id: { typename: string; id: string } | null | undefined): void {
  if (!id) return;
  const type = info.schema.getType(id.typename);
  if (!isObjectType(type) || !type.getInterfaces().some((i) => i.name === 'Node')) {
    // eslint-disable-next-line no-control-regex
    const show = (s: string) => s.slice(0, 60).replace(/[\u0000-\u001f\u007f]/g, '?');
    throw new MakimaError('NOT_FOUND', `${show(id.typename)} ${show(id.id)} was not found: there is no type ${show(id.typename)} with IDs`);
  }
}

export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  /**
   * viewer: any valid token. full: a FULL token. worker: a FULL or WORKER token (the worker
   * protocol, and reporting on a task the worker holds). READ tokens have only `viewer`: queries
   * and subscriptions (README, "Accounts, tokens and scopes").
   */
  AuthScopes: { viewer: boolean; full: boolean; worker: boolean };
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    JSON: { Input: unknown; Output: unknown };
  };
  DefaultFieldNullability: false;
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
}>({
  defaultFieldNullability: false,
  plugins: [ScopeAuthPlugin, PrismaPlugin, RelayPlugin, SimpleObjectsPlugin],
  scopeAuth: {
    authScopes: (ctx) => ({
      viewer: ctx.viewer !== null,
      full: ctx.viewer?.scope === 'FULL',
      worker: ctx.viewer?.scope === 'FULL' || ctx.viewer?.scope === 'WORKER',
    }),
    // Refuse a subscription when it starts, not at its first event.
    authorizeOnSubscribe: true,
    unauthorizedError: (_parent, ctx, info, result) => {
      if (!ctx.viewer) return new UnauthenticatedError(ctx.authRefusal);
      const needs = neededScopes(result.failure);
      const field = `${info.parentType.name === 'Mutation' ? '' : `${info.parentType.name}.`}${info.fieldName}`;
      const error = new ForbiddenError(`${field} needs a ${needs.join(' or ')} token; this token ("${ctx.viewer.tokenName}") is ${ctx.viewer.scope}`);
      Object.assign(error.extensions, { requiredScopes: needs, tokenScope: ctx.viewer.scope });
      return error;
    },
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    edgesFieldOptions: { nullable: false },
    nodeFieldOptions: { nullable: false },
    defaultConnectionTypeOptions: { fields: () => ({}) },
    nodeQueryOptions: {
      resolve: (_root, args, _ctx, info, resolveNode) => {
        assertNodeType(info, args.id);
        return resolveNode(args.id);
      },
    },
    nodesQueryOptions: {
      args: { ids: { description: `At most ${MAX_PAGE_SIZE}`, extensions: { maxItems: MAX_PAGE_SIZE } } },
      // An id of a type that has no IDs is the client's error: null in its place, with NOT_FOUND
      // at that position; an id that names nothing the viewer can see is just null.
      resolve: (_root, args, ctx, info) =>
        args.ids.map((id) => Promise.resolve().then(() => assertNodeType(info, id)).then(() => nodeOrNull(ctx, info, id))),
    },
  },
  prisma: {
    client: (ctx) => ctx.prisma,
    dmmf: getDatamodel(),
    exposeDescriptions: false,
    filterConnectionTotalCount: true,
    onUnusedQuery: null,
    maxConnectionSize: MAX_PAGE_SIZE,
    defaultConnectionSize: DEFAULT_PAGE_SIZE,
  },
});

/** The token scopes that would have passed a failed scope check (for the FORBIDDEN message). */
function neededScopes(failure: AuthFailure): string[] {
  switch (failure.kind) {
    case AuthScopeFailureType.AuthScope:
      return failure.scope === 'worker' ? ['WORKER', 'FULL'] : failure.scope === 'full' ? ['FULL'] : ['any valid'];
    case AuthScopeFailureType.AnyAuthScopes:
    case AuthScopeFailureType.AllAuthScopes:
      return [...new Set(failure.failures.flatMap(neededScopes))];
    default:
      return ['FULL'];
  }
}

/**
 * One entry of `nodes(ids:)`, which is `[Node]!`: an id that names nothing the viewer can see
 * (missing, another user's, malformed) is null in its position, as Relay expects. Loaded all
 * together, one NOT_FOUND would fail the whole list and null the field.
 */
function nodeOrNull(ctx: Context, info: GraphQLResolveInfo, id: { id: string; typename: string }): Promise<unknown> {
  return resolveNodes(builder, ctx, info, [id]).then(
    ([node]) => node,
    (err: { code?: unknown; extensions?: { code?: unknown } }) => {
      // NotFoundError from a lookup (ids.ts nodeWhere), or Prisma's "record required but not found".
      if (err?.extensions?.code === 'NOT_FOUND' || err?.code === 'P2025') return null;
      throw err;
    },
  );
}

builder.addScalarType('DateTime', DateTimeResolver);
builder.addScalarType('JSON', JSONResolver);

builder.queryType({ authScopes: { viewer: true } });
// Every mutation needs a FULL token unless it says otherwise (schema/scopes.ts).
builder.mutationType({ authScopes: { full: true } });
builder.subscriptionType({ authScopes: { viewer: true } });
