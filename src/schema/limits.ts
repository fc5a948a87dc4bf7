// Bounds on what one request may ask for (docs/design.md §5): depth, aliases and cost through graphql-armor,
// and page sizes, which are refused above the maximum instead of being silently clamped.
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { Kind, visit, type DocumentNode, type ValueNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { BadInputError } from '../errors.js';
import { MAX_PAGE_SIZE } from './builder.js';

export const MAX_DEPTH = 12;
export const MAX_ALIASES = 30;
export const MAX_COST = 50_000;

export function limitPlugins(): Plugin[] {
  // graphql-armor rejects with a bare GraphQLError; rethrow it as our BAD_USER_INPUT so the client
  // gets a code and the server does not log it as unexpected.
  const onReject = [
    (_ctx: unknown, err: Error) => {
      throw new BadInputError(err.message.replace(/^Syntax Error: /, ''));
    },
  ];
  return [
    maxDepthPlugin({ n: MAX_DEPTH, flattenFragments: true, exposeLimits: true, onReject }),
    maxAliasesPlugin({ n: MAX_ALIASES, exposeLimits: true, onReject }),
    costLimitPlugin({ maxCost: MAX_COST, exposeLimits: true, onReject }),
    pageSizePlugin(),
  ] as Plugin[];
}

function pageSizePlugin(): Plugin {
  return {
    onExecute({ args }) {
      checkPageSizes(args.document, (args.variableValues ?? {}) as Record<string, unknown>);
    },
    onSubscribe({ args }) {
      checkPageSizes(args.document, (args.variableValues ?? {}) as Record<string, unknown>);
    },
  };
}

function valueOf(node: ValueNode, variables: Record<string, unknown>): unknown {
  if (node.kind === Kind.INT) return Number(node.value);
  if (node.kind === Kind.VARIABLE) return variables[node.name.value];
  return undefined;
}

export function checkPageSizes(document: DocumentNode, variables: Record<string, unknown>): void {
  visit(document, {
    Argument(node) {
      if (node.name.value !== 'first' && node.name.value !== 'last') return;
      const value = valueOf(node.value, variables);
      if (typeof value !== 'number') return;
      if (value < 0) throw new BadInputError(`${node.name.value} must not be negative`, node.name.value);
      if (value > MAX_PAGE_SIZE) {
        throw new BadInputError(`${node.name.value} is ${value}; at most ${MAX_PAGE_SIZE} items are returned per page — paginate with after`, node.name.value);
      }
    },
  });
}
