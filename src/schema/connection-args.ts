// The arguments every Relay connection shares (docs/design.md §5): `first` pages forward from
// `after`, `last` backward from `before`. Given both, Pothos would silently use one and ignore the
// other, so a request that passes both to any connection is refused before anything runs, in this
// one place rather than in each connection's resolver. An empty cursor is no cursor.
import {
  getNamedType,
  getOperationAST,
  getVariableValues,
  isNonNullType,
  Kind,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type ArgumentNode,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValueNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { BadInputError } from '../errors.js';
import { perOperation } from './per-operation.js';

/** A field written with both `first` and `last` (given or not: that depends on the variables). */
interface BothEnds {
  field: string;
  first: ArgumentNode;
  last: ArgumentNode;
}

/** The fields of `operation` (and of its document's fragments) written with both: found once per document (per-operation.ts), checked per request. */
const fieldsWithBothEnds = perOperation((schema, document, operation): BothEnds[] => {
  const found: BothEnds[] = [];
  for (const definition of document.definitions) {
    if (definition !== operation && definition.kind !== Kind.FRAGMENT_DEFINITION) continue;
    const typeInfo = new TypeInfo(schema);
    visit(
      definition,
      visitWithTypeInfo(typeInfo, {
        Field(node) {
          const first = node.arguments?.find((a) => a.name.value === 'first');
          const last = node.arguments?.find((a) => a.name.value === 'last');
          if (!first || !last) return;
          const parent = typeInfo.getParentType();
          found.push({ field: parent ? `${parent.name}.${node.name.value}` : node.name.value, first, last });
        },
      }),
    );
  }
  return found;
});

/** Throws BAD_USER_INPUT when a field of `operation` (or of a fragment) is given both `first` and `last`. */
export function checkConnectionArguments(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown>): void {
  const given = (arg: ArgumentNode): boolean => {
    if (arg.value.kind === Kind.NULL) return false;
    return arg.value.kind !== Kind.VARIABLE || variables[arg.value.name.value] != null;
  };
  for (const { field, first, last } of fieldsWithBothEnds(schema, document, operation)) {
    if (!given(first) || !given(last)) continue;
    throw new BadInputError(
      `${field}: first and last cannot be used together — pass first (with after) to page forward, or last (with before) to page backward`,
      'last',
    );
  }
}

/**
 * `after: ""` and `before: ""` mean no cursor, as in the reference implementation
 * (graphql-relay-js): Apollo Client's relayStylePagination keeps an empty page's `endCursor` as ""
 * and sends it back. The document is rewritten so that every later check and resolver sees null.
 */
export function emptyCursorsAsNull(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown>): DocumentNode {
  const isEmpty = (value: ValueNode): boolean =>
    (value.kind === Kind.STRING && value.value === '') || (value.kind === Kind.VARIABLE && variables[value.name.value] === '');
  const typeInfo = new TypeInfo(schema);
  return visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Argument(node) {
        if ((node.name.value !== 'after' && node.name.value !== 'before') || !isEmpty(node.value)) return undefined;
        const type = typeInfo.getArgument()?.type;
        if (!type || isNonNullType(type) || getNamedType(type).name !== 'String') return undefined;
        return { ...node, value: { kind: Kind.NULL } };
      },
    }),
  );
}

/**
 * The yoga plugin: checks every operation, over HTTP, SSE and graphql-ws alike, with its variables
 * as execution will see them (defaults applied). Variables that do not coerce are left for
 * execution to report.
 */
export function connectionArgumentsPlugin(): Plugin {
  const check = ({ args }: { args: { schema: GraphQLSchema; document: DocumentNode; operationName?: string | null; variableValues?: unknown } }) => {
    const operation = getOperationAST(args.document, args.operationName);
    // Most operations write no field with both: then there is nothing to coerce the variables for.
    if (!operation || fieldsWithBothEnds(args.schema, args.document, operation).length === 0) return;
    const variables = getVariableValues(args.schema, operation.variableDefinitions ?? [], (args.variableValues ?? {}) as Record<string, unknown>);
    if (variables.coerced) checkConnectionArguments(args.schema, args.document, operation, variables.coerced);
  };
  return { onExecute: check, onSubscribe: check };
}

/**
 * Rewrites `after: ""` / `before: ""` to null before any other plugin sees the operation (it comes
 * before the request checks, which would refuse "" as a malformed cursor), over HTTP, SSE and
 * graphql-ws alike. `args` is the object execution receives, so it is changed in place.
 */
export function emptyCursorPlugin(): Plugin {
  const rewrite = ({ args }: { args: { schema: GraphQLSchema; document: DocumentNode; variableValues?: unknown } }) => {
    const variables = (args.variableValues ?? {}) as Record<string, unknown>;
    if (!Object.values(variables).includes('') && !documentHasEmptyString(args.document)) return;
    args.document = emptyCursorsAsNull(args.schema, args.document, variables);
  };
  return { onExecute: rewrite, onSubscribe: rewrite };
}

/** A cheap pre-check: most documents hold no empty string literal, and need no rewrite. */
function documentHasEmptyString(document: DocumentNode): boolean {
  const source = document.loc?.source.body;
  return source === undefined || /""/.test(source);
}
