// The one Pothos builder: Prisma, Relay and scope-auth plugins, scalars and the shared error type.
import SchemaBuilder from '@pothos/core';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin, { resolveNodes } from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import SimpleObjectsPlugin from '@pothos/plugin-simple-objects';
import type { GraphQLResolveInfo } from 'graphql';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import type { Context } from '../context.js';
import { UnauthenticatedError } from '../errors.js';
import type PrismaTypes from '../generated/pothos-types.js';
import { getDatamodel } from '../generated/pothos-types.js';

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  AuthScopes: { viewer: boolean };
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
    authScopes: (ctx) => ({ viewer: ctx.viewer !== null }),
    // Refuse a subscription when it starts, not at its first event.
    authorizeOnSubscribe: true,
    unauthorizedError: () => new UnauthenticatedError(),
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    edgesFieldOptions: { nullable: false },
    nodeFieldOptions: { nullable: false },
    defaultConnectionTypeOptions: { fields: () => ({}) },
    nodesQueryOptions: { resolve: (_root, args, ctx, info) => args.ids.map((id) => nodeOrNull(ctx, info, id)) },
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
builder.mutationType({ authScopes: { viewer: true } });
builder.subscriptionType({ authScopes: { viewer: true } });
