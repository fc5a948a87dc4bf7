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
   * and subscriptions (docs/operations.md, "Accounts, tokens and scopes").
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
    edgesFieldOptions: { nullable: false, description: 'The items of this page, in the order of the list' },
    nodeFieldOptions: { nullable: false, description: 'The item' },
    cursorFieldOptions: { description: "This item's position: pass it as `after` (or `before`) to page from it" },
    pageInfoFieldOptions: { description: 'Where this page is in the list, for paging on' },
    nodeTypeOptions: { description: 'An object with a global ID: fetch any of them with `node(id:)`' },
    idFieldOptions: { description: 'The global ID: what `node(id:)` and every ID argument take (they also take the raw UUID)' },
    pageInfoTypeOptions: { description: 'Where a page is in its list. An empty page has null cursors' },
    hasNextPageFieldOptions: { description: 'Whether items follow this page (paging forward with first)' },
    hasPreviousPageFieldOptions: { description: 'Whether items precede this page (paging backward with last)' },
    startCursorFieldOptions: { description: 'The cursor of the first item of the page; null when the page is empty' },
    endCursorFieldOptions: { description: 'The cursor of the last item of the page: pass it as `after` for the next page; null when the page is empty' },
    firstArgOptions: { description: `Page forward: at most this many items after \`after\`, 0–${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE}); more is BAD_USER_INPUT, not a silent cut. Not with \`last\`` },
    afterArgOptions: { description: 'A cursor this list returned: the page starts after it. A cursor of another kind of list is BAD_USER_INPUT' },
    lastArgOptions: { description: `Page backward: at most this many items before \`before\`, 0–${MAX_PAGE_SIZE}. Not with \`first\`` },
    beforeArgOptions: { description: 'A cursor this list returned: the page ends before it' },
    defaultConnectionTypeOptions: { fields: () => ({}) },
    nodeQueryOptions: {
      description: 'The object with this global ID (or raw UUID); NOT_FOUND when it is not one of yours, exactly as when it does not exist',
      args: { id: { description: 'A global ID, as any `id` field returns it' } },
      resolve: (_root, args, _ctx, info, resolveNode) => {
        assertNodeType(info, args.id);
        return resolveNode(args.id);
      },
    },
    nodesQueryOptions: {
      description: 'The objects with these IDs, in the same order; null in the place of an id that names nothing of yours',
      args: { ids: { description: `Global IDs (or raw UUIDs), at most ${MAX_PAGE_SIZE}`, extensions: { maxItems: MAX_PAGE_SIZE } } },
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

builder.addScalarType('DateTime', DateTimeResolver, { description: 'A date and time, as an ISO 8601 string with a time zone (RFC 3339): 2026-11-30T12:00:00Z' });
builder.addScalarType('JSON', JSONResolver, { description: 'Any JSON value: an object, array, string, number, boolean or null' });

builder.queryType({ authScopes: { viewer: true }, description: "Reading: everything is the viewer's own (the token's user); another user's object is NOT_FOUND, like a missing one" });
// Every mutation needs a FULL token unless it says otherwise (schema/scopes.ts).
builder.mutationType({
  authScopes: { full: true },
  description: 'Changing state: each mutation takes one `input`, returns a payload, and is atomic with the history event it writes; a refused one changes nothing',
});
builder.subscriptionType({
  authScopes: { viewer: true },
  description: 'Following history live over graphql-ws (or server-sent events): first what is stored after the cursor `after`, then new events as they commit',
});
