// The arguments every Relay connection shares (docs/design.md §5): `first` pages forward from
// `after`, `last` backward from `before`. Given both, Pothos would silently use one and ignore the
// other, so a request that passes both to any connection is refused before anything runs, in this
// one place rather than in each connection's resolver.
import {
  getOperationAST,
  getVariableValues,
  Kind,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type ArgumentNode,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { BadInputError } from '../errors.js';

/** Throws BAD_USER_INPUT when a field of `operation` (or of a fragment) is given both `first` and `last`. */
export function checkConnectionArguments(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown>): void {
  const given = (arg: ArgumentNode | undefined): boolean => {
    if (arg === undefined || arg.value.kind === Kind.NULL) return false;
    return arg.value.kind !== Kind.VARIABLE || variables[arg.value.name.value] != null;
  };
  for (const definition of document.definitions) {
    if (definition !== operation && definition.kind !== Kind.FRAGMENT_DEFINITION) continue;
    const typeInfo = new TypeInfo(schema);
    visit(
      definition,
      visitWithTypeInfo(typeInfo, {
        Field(node) {
          const first = node.arguments?.find((a) => a.name.value === 'first');
          const last = node.arguments?.find((a) => a.name.value === 'last');
          if (!given(first) || !given(last)) return;
          const parent = typeInfo.getParentType();
          const field = parent ? `${parent.name}.${node.name.value}` : node.name.value;
          throw new BadInputError(
            `${field}: first and last cannot be used together — pass first (with after) to page forward, or last (with before) to page backward`,
            'last',
          );
        },
      }),
    );
  }
}

/**
 * The yoga plugin: checks every operation, over HTTP, SSE and graphql-ws alike, with its variables
 * as execution will see them (defaults applied). Variables that do not coerce are left for
 * execution to report.
 */
export function connectionArgumentsPlugin(): Plugin {
  const check = ({ args }: { args: { schema: GraphQLSchema; document: DocumentNode; operationName?: string | null; variableValues?: unknown } }) => {
    const operation = getOperationAST(args.document, args.operationName);
    if (!operation) return;
    const variables = getVariableValues(args.schema, operation.variableDefinitions ?? [], (args.variableValues ?? {}) as Record<string, unknown>);
    if (variables.coerced) checkConnectionArguments(args.schema, args.document, operation, variables.coerced);
  };
  return { onExecute: check, onSubscribe: check };
}
