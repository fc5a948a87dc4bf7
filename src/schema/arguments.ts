// One check of every argument value of an operation, before it runs (docs/design.md §5): list
// lengths, plain text, JSON nesting and cursors, against bounds the schema declares. Variables are
// checked as the client sent them, before graphql-js coerces them, so a list of a million entries
// is refused after reading its length rather than after coercing a million values, and nothing of
// a refused request reaches a resolver, the database or git.
//
// Bounds come from `extensions` in the schema, with defaults for everything that declares none:
// - `maxItems` on an argument or input field: the most items its list may hold (default
//   MAX_LIST_ITEMS);
// - `maxLength` on an argument or input field: the longest text it takes (default MAX_TEXT_LENGTH);
// - `cursor` (a CursorKind) on a connection type or a field: what its `after`/`before` must be.
// Every text value (String, ID, DateTime, …) must also be storable: no NUL character, no unpaired
// surrogate, and so must every key and string inside a JSON value; every ID well-formed (a UUID,
// or a global ID holding one); every JSON value at most MAX_JSON_DEPTH levels deep. Whether an ID names the right type of object is the resolver's
// check (decodeId), and whether it exists the service's.
import {
  getNamedType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  Kind,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputField,
  type GraphQLInputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValueNode,
  type VariableDefinitionNode,
} from 'graphql';
import { jsonTooDeep, MAX_JSON_DEPTH, unstorableJsonReason, unstorableText, unstorableTime } from '../db/json.js';
import { BadInputError } from '../errors.js';
import type { CursorKind } from './cursors.js';
import { isUuid } from './ids.js';
import { perOperation } from './per-operation.js';

/** The most items of a list argument or input field that declares no `maxItems`. */
export const MAX_LIST_ITEMS = 100;
/** The longest text argument or input field that declares no `maxLength` (the longest prompt). */
export const MAX_TEXT_LENGTH = 100_000;

/** What an argument or input field may declare in its `extensions`. */
export interface InputBounds {
  maxItems?: number;
  maxLength?: number;
}

interface Bounds extends InputBounds {
  cursor?: CursorKind;
}

type Variables = Readonly<Record<string, unknown>>;

function boundsOf(def: GraphQLArgument | GraphQLInputField): Bounds {
  const ext = (def.extensions ?? {}) as InputBounds;
  return { maxItems: ext.maxItems, maxLength: ext.maxLength };
}

/** The cursor kind of a field's `after`/`before`: declared on the field, or on the connection type it returns. */
function cursorOf(field: GraphQLField<unknown, unknown>): CursorKind | undefined {
  const own = (field.extensions as { cursor?: CursorKind } | undefined)?.cursor;
  return own ?? (getNamedType(field.type).extensions as { cursor?: CursorKind } | undefined)?.cursor;
}

function show(value: string): string {
  // eslint-disable-next-line no-control-regex
  const cut = value.length > 60 ? `${value.slice(0, 60)}…` : value;
  return cut.replace(/[\u0000-\u001f\u007f\ud800-\udfff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function isJsonScalar(type: GraphQLInputType): boolean {
  return isScalarType(type) && type.name === 'JSON';
}

/** A raw UUID, or a global ID: base64 of `<Type>:<UUID>` (padding optional, as decodeId reads it). */
function isWellFormedId(value: string): boolean {
  if (isUuid(value)) return true;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return false;
  const text = Buffer.from(value, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(text.slice(0, colon)) && isUuid(text.slice(colon + 1));
}

class ArgumentCheck {
  constructor(
    private readonly variables: Variables,
    private readonly definitions: Map<string, VariableDefinitionNode>,
  ) {}

  private list(length: number, bounds: Bounds, path: string): void {
    const max = bounds.maxItems ?? MAX_LIST_ITEMS;
    if (length > max) throw new BadInputError(`${path} has ${length} items; at most ${max} are accepted in one request: send fewer, or split them over several requests`, path);
  }

  private text(value: string, type: GraphQLInputType, bounds: Bounds, path: string): void {
    const max = bounds.maxLength ?? MAX_TEXT_LENGTH;
    if (value.length > max) throw new BadInputError(`${path} is ${value.length} characters long; at most ${max} are accepted`, path);
    const problem = unstorableText(value);
    if (problem) {
      const what = bounds.cursor ? 'a cursor' : this.what(path);
      throw new BadInputError(
        problem === 'NUL'
          ? `${path} contains a NUL character (\\u0000), which ${what} cannot hold: remove it`
          : `${path} contains an unpaired UTF-16 surrogate, which ${what} cannot hold: send well-formed Unicode text`,
        path,
      );
    }
    // A time the DateTime scalar reads but the database cannot store (year 0); not a time at all, the scalar refuses.
    const date = isScalarType(type) && type.name === 'DateTime' ? new Date(value) : null;
    const time = date && !Number.isNaN(date.getTime()) ? unstorableTime(date) : undefined;
    if (time) throw new BadInputError(`${path} ${time}: send a time in that range`, path);
    if (isScalarType(type) && type.name === 'ID' && !isWellFormedId(value)) {
      throw new BadInputError(`${path}: "${show(value)}" is not an ID: pass the id of an object as the API returned it, or its UUID`, path);
    }
    if (bounds.cursor && !bounds.cursor.accepts(value)) {
      throw new BadInputError(
        `${path}: "${show(value)}" is not a cursor of this list, which takes ${bounds.cursor.what}: pass a cursor this list returned (pageInfo.endCursor, an edge's cursor)`,
        path,
      );
    }
  }

  /** What the value at `path` is, in words: `input.branchName` → "a branch name", `ids[2]` → "an id". */
  private what(path: string): string {
    const name = /([A-Za-z]+)(\[\d+\])?$/.exec(path);
    if (!name) return 'text';
    const words = name[1].replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
    const one = name[2] && words.endsWith('s') ? words.slice(0, -1) : words;
    return `${/^[aeiou]/.test(one) ? 'an' : 'a'} ${one}`;
  }

  private json(value: unknown, path: string): void {
    const deep = jsonTooDeep(value, MAX_JSON_DEPTH);
    if (deep) throw new BadInputError(`${path} ${deep}`, path);
    // Keys too: a jsonb column refuses a NUL or lone surrogate in a key as much as in a string.
    const unstorable = unstorableJsonReason(value);
    if (unstorable) throw new BadInputError(`${path} ${unstorable}`, path);
  }

  /** A value as the client sent it in the variables, at a position of `type`. */
  raw(value: unknown, type: GraphQLInputType, bounds: Bounds, path: string): void {
    if (value === null || value === undefined) return;
    const t = isNonNullType(type) ? type.ofType : type;
    if (isListType(t)) {
      const item = { maxLength: bounds.maxLength, cursor: bounds.cursor };
      if (!Array.isArray(value)) return this.raw(value, t.ofType, item, path); // one value stands for a list of one
      this.list(value.length, bounds, path);
      value.forEach((v, i) => this.raw(v, t.ofType, item, `${path}[${i}]`));
      return;
    }
    if (isInputObjectType(t)) {
      if (typeof value !== 'object' || Array.isArray(value)) return; // coercion refuses it
      for (const [name, def] of Object.entries(t.getFields())) {
        if (Object.hasOwn(value, name)) this.raw((value as Record<string, unknown>)[name], def.type, boundsOf(def), `${path}.${name}`);
      }
      return;
    }
    if (isJsonScalar(t)) return this.json(value, path);
    if (typeof value === 'string') this.text(value, t, bounds, path);
  }

  /** A value written in the document (after validation: it has the shape of `type`, JSON aside). */
  literal(node: ValueNode, type: GraphQLInputType, bounds: Bounds, path: string): void {
    if (node.kind === Kind.VARIABLE) {
      const name = node.name.value;
      if (Object.hasOwn(this.variables, name)) return this.raw(this.variables[name], type, bounds, path);
      const fallback = this.definitions.get(name)?.defaultValue;
      if (fallback) this.literal(fallback, type, bounds, path);
      return;
    }
    if (node.kind === Kind.NULL) return;
    const t = isNonNullType(type) ? type.ofType : type;
    if (isListType(t)) {
      const item = { maxLength: bounds.maxLength, cursor: bounds.cursor };
      if (node.kind !== Kind.LIST) return this.literal(node, t.ofType, item, path);
      this.list(node.values.length, bounds, path);
      node.values.forEach((v, i) => this.literal(v, t.ofType, item, `${path}[${i}]`));
      return;
    }
    if (isInputObjectType(t)) {
      if (node.kind !== Kind.OBJECT) return;
      const fields = t.getFields();
      for (const f of node.fields) {
        const def = fields[f.name.value];
        if (def) this.literal(f.value, def.type, boundsOf(def), `${path}.${f.name.value}`);
      }
      return;
    }
    if (isJsonScalar(t)) return this.jsonLiteral(node, path);
    if (node.kind === Kind.STRING) this.text(node.value, t, bounds, path);
  }

  /** A key or string of a JSON value written in the document (or a variable inside it): storable, like one sent in the variables. */
  private jsonText(value: unknown, path: string): void {
    const unstorable = unstorableJsonReason(value);
    if (unstorable) throw new BadInputError(`${path} ${unstorable}`, path);
  }

  /** A JSON value written in the document: its nesting, its text, and any variables inside it. */
  private jsonLiteral(node: ValueNode, path: string): void {
    const stack: [ValueNode, number][] = [[node, 0]];
    while (stack.length) {
      const [n, depth] = stack.pop()!;
      if (n.kind === Kind.VARIABLE) {
        if (Object.hasOwn(this.variables, n.name.value)) {
          const deep = jsonTooDeep(this.variables[n.name.value], MAX_JSON_DEPTH - depth);
          if (deep) throw new BadInputError(`${path} is nested more than ${MAX_JSON_DEPTH} levels deep: flatten it`, path);
          this.jsonText(this.variables[n.name.value], path);
        }
        continue;
      }
      if (n.kind === Kind.STRING) this.jsonText(n.value, path);
      if (n.kind === Kind.OBJECT) for (const f of n.fields) this.jsonText(f.name.value, path);
      if (n.kind !== Kind.LIST && n.kind !== Kind.OBJECT) continue;
      if (depth + 1 > MAX_JSON_DEPTH) throw new BadInputError(`${path} is nested more than ${MAX_JSON_DEPTH} levels deep: flatten it`, path);
      for (const child of n.kind === Kind.LIST ? n.values : n.fields.map((f) => f.value)) stack.push([child, depth + 1]);
    }
  }
}

/** One argument written in an operation or a fragment, with what it is checked against. */
interface ArgumentSite {
  value: ValueNode;
  type: GraphQLInputType;
  bounds: Bounds;
  name: string;
}

/** The arguments of `operation` and of every fragment of the document, in document order: found once per document (per-operation.ts). */
const argumentSites = perOperation((schema, document, operation): ArgumentSite[] => {
  const sites: ArgumentSite[] = [];
  for (const definition of [operation, ...document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION)]) {
    const typeInfo = new TypeInfo(schema);
    visit(
      definition,
      visitWithTypeInfo(typeInfo, {
        Argument(node) {
          const arg = typeInfo.getArgument();
          if (!arg) return false;
          const field = typeInfo.getDirective() ? null : typeInfo.getFieldDef();
          const bounds = boundsOf(arg);
          if (field && (arg.name === 'after' || arg.name === 'before')) bounds.cursor = cursorOf(field);
          sites.push({ value: node.value, type: arg.type, bounds, name: arg.name });
          return false; // its value is walked by the check
        },
      }),
    );
  }
  return sites;
});

/**
 * Checks every argument of the operation to run (and of the fragments it may use) against the
 * schema's bounds; throws a BadInputError naming the first argument that breaks one.
 */
export function checkArgumentValues(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, variables: Variables): void {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operationName ? operations.find((o) => o.name?.value === operationName) : operations.length === 1 ? operations[0] : undefined;
  if (!operation) return; // graphql-js answers that itself
  const definitions = new Map((operation.variableDefinitions ?? []).map((d) => [d.variable.name.value, d]));
  const check = new ArgumentCheck(variables, definitions);
  for (const site of argumentSites(schema, document, operation)) check.literal(site.value, site.type, site.bounds, site.name);
}
