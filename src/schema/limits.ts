// Bounds on what one request may ask for (docs/design.md §5), all checked before anything runs:
// the document's size and nesting; depth, aliases and cost through graphql-armor; page sizes,
// which are refused above the maximum instead of being silently clamped; and every argument
// value (arguments.ts: list lengths, text, IDs, JSON nesting, cursors).
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { Kind, visit, type DocumentNode, type ExecutionArgs, type GraphQLError, type ValueNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { BadInputError, UnauthenticatedError } from '../errors.js';
import { checkArgumentValues } from './arguments.js';
import { MAX_PAGE_SIZE } from './builder.js';

export const MAX_DEPTH = 12;
export const MAX_ALIASES = 30;
export const MAX_COST = 50_000;
/** The most tokens a document may have; large values belong in variables. */
export const MAX_TOKENS = 20_000;

export function limitPlugins(): Plugin[] {
  // graphql-armor rejects with a bare GraphQLError; rethrow it as our BAD_USER_INPUT so the client
  // gets a code and the server does not log it as unexpected.
  const onReject = [
    (_ctx: unknown, err: Error) => {
      throw new BadInputError(err.message.replace(/^Syntax Error: /, ''));
    },
  ];
  return [
    documentSizePlugin(),
    maxDepthPlugin({ n: MAX_DEPTH, flattenFragments: true, exposeLimits: true, onReject }),
    maxAliasesPlugin({ n: MAX_ALIASES, exposeLimits: true, onReject }),
    costLimitPlugin({ maxCost: MAX_COST, exposeLimits: true, onReject }),
    requestChecksPlugin(),
  ] as Plugin[];
}

/**
 * Parsing is bounded: at most MAX_TOKENS tokens, and a document nested so deeply that graphql-js's
 * recursive parser runs out of stack (a literal list in a list in a list…) is bad input too.
 */
function documentSizePlugin(): Plugin {
  return {
    onParse({ parseFn, setParseFn }) {
      setParseFn((source, options) => {
        try {
          return parseFn(source, { ...options, maxTokens: MAX_TOKENS });
        } catch (err) {
          if (err instanceof RangeError) throw new BadInputError('the document is nested too deeply to read: send deeply nested values (JSON) as variables');
          if (err instanceof Error && /tokens\. Parsing aborted/.test(err.message)) {
            throw new BadInputError(`the document has more than ${MAX_TOKENS} tokens: send large values (lists, JSON) as variables`);
          }
          throw err;
        }
      });
    },
  };
}

/**
 * The checks that need the variables, before execution (and before a subscription starts). A
 * refusal is the operation's result, not a thrown error: over graphql-ws a hook that throws
 * closes the whole socket, while a result with errors ends just that subscription. A request
 * without a valid token is told that first: every field it could run needs one.
 */
function requestChecksPlugin(): Plugin {
  const refusal = (args: ExecutionArgs): GraphQLError | undefined => {
    const variables = (args.variableValues ?? {}) as Record<string, unknown>;
    try {
      checkPageSizes(args.document, variables);
      checkArgumentValues(args.schema, args.document, args.operationName, variables);
    } catch (err) {
      if (!(err instanceof BadInputError)) throw err;
      return (args.contextValue as { viewer?: unknown } | undefined)?.viewer ? err : new UnauthenticatedError();
    }
    return undefined;
  };
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const error = refusal(args);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const error = refusal(args);
      if (error) setResultAndStopExecution({ errors: [error] });
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
