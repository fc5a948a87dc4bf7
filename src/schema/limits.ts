// Bounds on what one request may ask for (docs/design.md §5), all checked before anything runs:
// the document's size and nesting; depth, aliases and cost through graphql-armor; page sizes,
// which are refused above the maximum instead of being silently clamped; every argument value
// (arguments.ts: list lengths, text, JSON nesting, cursors); and fields that are expensive to
// resolve (a git diff), which a request may ask for only so many times.
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import {
  getNamedType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  valueFromASTUntyped,
  visit,
  type ArgumentNode,
  type DocumentNode,
  type ExecutionArgs,
  type FieldNode,
  type GraphQLError,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { BadInputError, UnauthenticatedError } from '../errors.js';
import { checkArgumentValues } from './arguments.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './builder.js';

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
const refusals = new WeakSet<object>();

/** Whether an error is a refusal by the request checks, made before the operation started. */
export function isRequestRefusal(error: unknown): boolean {
  return typeof error === 'object' && error !== null && refusals.has(error);
}

function requestChecksPlugin(): Plugin {
  const refusal = (args: ExecutionArgs): GraphQLError | undefined => {
    const variables = withDefaults(args.document, args.operationName, (args.variableValues ?? {}) as Record<string, unknown>);
    try {
      checkPageSizes(args.document, variables);
      checkArgumentValues(args.schema, args.document, args.operationName, variables);
      checkFieldBudgets(args.schema, args.document, args.operationName, variables);
    } catch (err) {
      if (!(err instanceof BadInputError)) throw err;
      const refusal = (args.contextValue as { viewer?: unknown } | undefined)?.viewer ? err : new UnauthenticatedError();
      refusals.add(refusal);
      return refusal;
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

/**
 * The variables as execution will see them: a variable the client left out takes its declared
 * default (`query($n: Int = 500)`), which the checks must see too.
 */
function withDefaults(document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown>): Record<string, unknown> {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operationName ? operations.find((o) => o.name?.value === operationName) : operations[0];
  const merged = { ...variables };
  for (const definition of operation?.variableDefinitions ?? []) {
    const name = definition.variable.name.value;
    if (merged[name] === undefined && definition.defaultValue) merged[name] = valueFromASTUntyped(definition.defaultValue);
  }
  return merged;
}

function valueOf(node: ValueNode, variables: Record<string, unknown>): unknown {
  if (node.kind === Kind.INT) return Number(node.value);
  if (node.kind === Kind.VARIABLE) return variables[node.name.value];
  return undefined;
}

/** Each document's `first` and `last` arguments, in document order: found once per document, checked per request. */
const pageSizeArguments = new WeakMap<DocumentNode, ArgumentNode[]>();

export function checkPageSizes(document: DocumentNode, variables: Record<string, unknown>): void {
  let found = pageSizeArguments.get(document);
  if (!found) {
    const args: ArgumentNode[] = [];
    visit(document, {
      Argument(node) {
        if (node.name.value === 'first' || node.name.value === 'last') args.push(node);
      },
    });
    pageSizeArguments.set(document, (found = args));
  }
  for (const node of found) {
    const value = valueOf(node.value, variables);
    if (typeof value !== 'number') continue;
    if (value < 0) throw new BadInputError(`${node.name.value} must not be negative`, node.name.value);
    if (value > MAX_PAGE_SIZE) {
      throw new BadInputError(`${node.name.value} is ${value}; at most ${MAX_PAGE_SIZE} items are returned per page — paginate with after`, node.name.value);
    }
  }
}

/** What a field declares in `extensions` to be resolved at most so many times per request. */
export interface FieldBudget {
  maxPerRequest?: number;
}

type Uses = Map<string, number>;

function addUses(into: Uses, from: Uses, times: number): void {
  for (const [coordinate, n] of from) into.set(coordinate, (into.get(coordinate) ?? 0) + n * times);
}

/**
 * How many times a field with `extensions: { maxPerRequest }` (Checkpoint.diff) can be resolved by
 * the operation, at most: every occurrence counts once per item of every list it is under — a
 * connection's page size (`first`/`last`, default DEFAULT_PAGE_SIZE), a list argument's length
 * (`nodes(ids:)`), or, for any other list, without bound. Above the field's budget the request is
 * refused before anything runs.
 */
/** The names of the fields of `schema` that declare a budget, found once per schema. */
const budgetedNames = new WeakMap<GraphQLSchema, Set<string>>();

function budgetedFieldNames(schema: GraphQLSchema): Set<string> {
  let names = budgetedNames.get(schema);
  if (!names) {
    names = new Set();
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) && !isInterfaceType(type)) continue;
      for (const field of Object.values(type.getFields())) {
        if (typeof (field.extensions as FieldBudget | undefined)?.maxPerRequest === 'number') names.add(field.name);
      }
    }
    budgetedNames.set(schema, names);
  }
  return names;
}

/**
 * Whether the document names a field with a budget anywhere (by name, whatever its type): most
 * documents name none, and then no variables can make them exceed one. Found once per document.
 */
const namesBudgetedField = new WeakMap<DocumentNode, boolean>();

function mayUseBudget(schema: GraphQLSchema, document: DocumentNode): boolean {
  let found = namesBudgetedField.get(document);
  if (found === undefined) {
    const names = budgetedFieldNames(schema);
    found = false;
    visit(document, {
      Field(node) {
        if (names.has(node.name.value)) found = true;
      },
    });
    namesBudgetedField.set(document, found);
  }
  return found;
}

export function checkFieldBudgets(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown>): void {
  if (!mayUseBudget(schema, document)) return;
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operationName ? operations.find((o) => o.name?.value === operationName) : operations.length === 1 ? operations[0] : undefined;
  const root = operation && schema.getRootType(operation.operation);
  if (!operation || !root) return;
  const fragments = new Map(
    document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f]),
  );
  const budgets = new Map<string, number>();
  const memo = new Map<string, Uses>();

  const listLength = (node: ValueNode): number => {
    if (node.kind === Kind.LIST) return node.values.length;
    if (node.kind === Kind.VARIABLE) {
      const value = variables[node.name.value];
      return Array.isArray(value) ? value.length : value == null ? 0 : 1;
    }
    return node.kind === Kind.NULL ? 0 : 1;
  };

  /** How many items each list level of `field` can hold, as far as the request says. */
  const itemsPerList = (field: GraphQLField<unknown, unknown>, node: FieldNode, pageSize: number | undefined): number => {
    if (field.name === 'edges' && pageSize !== undefined) return pageSize;
    const listArgs = field.args.filter((a) => isListType(isNonNullType(a.type) ? a.type.ofType : a.type));
    if (listArgs.length === 1) {
      const given = node.arguments?.find((a) => a.name.value === listArgs[0].name);
      return given ? listLength(given.value) : 0;
    }
    return Infinity;
  };

  const pageSizeOf = (field: GraphQLField<unknown, unknown>, node: FieldNode): number | undefined => {
    if (!field.args.some((a) => a.name === 'first' || a.name === 'last')) return undefined;
    const sizes = (node.arguments ?? [])
      .filter((a) => a.name.value === 'first' || a.name.value === 'last')
      .map((a) => valueOf(a.value, variables))
      .filter((v): v is number => typeof v === 'number');
    return sizes.length ? Math.max(...sizes) : DEFAULT_PAGE_SIZE;
  };

  const walk = (selectionSet: SelectionSetNode, parent: GraphQLNamedType, pageSize: number | undefined, path: string[]): Uses => {
    const uses: Uses = new Map();
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
        if (type) addUses(uses, walk(selection.selectionSet, type, pageSize, path), 1);
        continue;
      }
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        const type = fragment && schema.getType(fragment.typeCondition.name.value);
        if (!fragment || !type || path.includes(name)) continue;
        const key = `${name}:${pageSize}`;
        if (!memo.has(key)) memo.set(key, walk(fragment.selectionSet, type, pageSize, [...path, name]));
        addUses(uses, memo.get(key)!, 1);
        continue;
      }
      if (!isObjectType(parent) && !isInterfaceType(parent)) continue;
      const field = parent.getFields()[selection.name.value];
      if (!field) continue;
      const max = (field.extensions as FieldBudget | undefined)?.maxPerRequest;
      if (typeof max === 'number') {
        const coordinate = `${parent.name}.${field.name}`;
        budgets.set(coordinate, max);
        uses.set(coordinate, (uses.get(coordinate) ?? 0) + 1);
      }
      if (!selection.selectionSet) continue;
      let times = 1;
      for (let t: GraphQLOutputType = field.type; ; ) {
        if (isNonNullType(t)) t = t.ofType;
        else if (isListType(t)) {
          times *= itemsPerList(field, selection, pageSize);
          t = t.ofType;
        } else break;
      }
      if (times === 0) continue;
      const below = walk(selection.selectionSet, getNamedType(field.type), pageSizeOf(field, selection), path);
      addUses(uses, below, times);
    }
    return uses;
  };

  const uses = walk(operation.selectionSet, root, undefined, []);
  for (const [coordinate, count] of uses) {
    const max = budgets.get(coordinate)!;
    if (count <= max) continue;
    const asked = Number.isFinite(count) ? `up to ${count} times` : 'an unbounded number of times (under a list whose length it does not give)';
    throw new BadInputError(
      `this request asks for ${coordinate} ${asked}, counting every item of every page or list it is under; ` +
        `at most ${max} are resolved per request: ask for fewer (a smaller first) or use several requests`,
      coordinate,
    );
  }
}
