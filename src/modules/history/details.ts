// GraphQL: `HistoryEvent.details`, a union with one object type per event kind of the catalogue
// (like GitHub's timeline items), generated from the catalogue's schemas so that the two cannot
// disagree. Fields keep the names of `data`; ids become global IDs of the node they name.
import { encodeGlobalID } from '@pothos/plugin-relay';
import type { z } from 'zod';
import { builder } from '../../schema/builder.js';
import { API_ENUMS } from '../../schema/enums.js';
import { apiEnums, catalogueEntries, eventSchema, nodeIds } from '../../change/catalogue.js';

const pascal = (s: string) => s.toLowerCase().replace(/(^|_)([a-z])/g, (_m, _u, c: string) => c.toUpperCase());

/** The GraphQL name of an event kind's details: TASK/status_changed → TaskStatusChangedDetails. */
export function detailsTypeName(type: string, subtype: string): string {
  return `${pascal(type)}${pascal(subtype)}Details`;
}

type Data = Record<string, unknown>;
type FieldType = { type: unknown; nullable: boolean; convert: (value: unknown) => unknown };
type Converter = [key: string, convert: (value: unknown) => unknown];

/** A field served as stored. */
const same = (v: unknown) => v;

/** The GraphQL type of one field of the catalogue, and how its stored value is served. */
function fieldType(schema: z.ZodType, objectName: string, field: string): FieldType {
  let nullable = false;
  let s = schema;
  while (s._zod.def.type === 'nullable' || s._zod.def.type === 'optional') {
    nullable = true;
    s = (s._zod.def as unknown as { innerType: z.ZodType }).innerType;
  }
  const def = s._zod.def as unknown as { type: string; element?: z.ZodType; shape?: Record<string, z.ZodType>; format?: string };
  switch (def.type) {
    case 'string': {
      const node = nodeIds.get(s)?.node;
      if (node) return { type: 'ID', nullable, convert: (v) => (typeof v === 'string' ? encodeGlobalID(node, v) : v) };
      return { type: def.format === 'datetime' ? 'DateTime' : 'String', nullable, convert: same };
    }
    case 'number':
      return { type: 'Int', nullable, convert: same };
    case 'boolean':
      return { type: 'Boolean', nullable, convert: same };
    case 'enum': {
      const name = apiEnums.get(s)?.name as keyof typeof API_ENUMS | undefined;
      return { type: name ? API_ENUMS[name] : 'String', nullable, convert: same };
    }
    case 'array': {
      const element = fieldType(def.element!, objectName, field);
      return { type: [element.type], nullable, convert: element.convert === same ? same : (v) => (Array.isArray(v) ? v.map(element.convert) : v) };
    }
    case 'object':
      return { type: objectType(`${objectName}${pascal(field)}`, def.shape!, s.description), nullable, convert: same };
    default:
      throw new Error(`history catalogue: ${objectName}.${field} has a type (${def.type}) that details cannot serve`);
  }
}

/** A field's description: on the schema itself, or on the one it makes optional or nullable. */
function describedOf(schema: z.ZodType): string | undefined {
  for (let s: z.ZodType | undefined = schema; s; s = (s._zod.def as unknown as { innerType?: z.ZodType }).innerType) {
    if (s.description) return s.description;
  }
  return undefined;
}

/** The fields of each details type not served as stored (ids), by type name: `HistoryEvent.data` converts them the same way. */
const converters = new Map<string, Converter[]>();

function objectType(name: string, shape: Record<string, z.ZodType>, description?: string) {
  const fields = Object.entries(shape).map(([key, schema]) => ({ key, schema, ...fieldType(schema, name, key) }));
  converters.set(name, fields.filter((f) => f.convert !== same).map((f): Converter => [f.key, f.convert]));
  return builder.objectRef<Data>(name).implement({
    description,
    fields: (t) =>
      Object.fromEntries(
        fields.map((f) => [
          f.key,
          // The field types come from the catalogue at run time, so Pothos cannot check them statically.
          t.field({
            type: f.type as 'String',
            nullable: f.nullable,
            description: describedOf(f.schema),
            resolve: (data: Data) => f.convert(data[f.key] ?? null) as string,
          }),
        ]),
      ),
  });
}

const kinds = catalogueEntries().map((e) => ({
  ...e,
  name: detailsTypeName(e.type, e.subtype),
  ref: objectType(detailsTypeName(e.type, e.subtype), e.data.shape as Record<string, z.ZodType>, `${e.type}/${e.subtype}: ${e.when}`),
}));

export const HistoryEventDetailsRef = builder.unionType('HistoryEventDetails', {
  description: 'The typed data of a history event, one type per event kind',
  types: kinds.map((k) => k.ref),
  resolveType: (details) => (details as { __typename: string }).__typename,
});

/** The details of a stored event, or null for a kind the catalogue does not declare. */
export function historyEventDetails(type: string, subtype: string | null, data: unknown): Data | null {
  if (!subtype || !eventSchema(type, subtype) || typeof data !== 'object' || data === null) return null;
  return { ...(data as Data), __typename: detailsTypeName(type, subtype) };
}

/** The converters of each declared kind's data, by `type/subtype`: found once per kind, not once per event. */
const dataConverters = new Map<string, Converter[]>();

function dataConvertersOf(type: string, subtype: string): Converter[] | undefined {
  const kind = `${type}/${subtype}`;
  let found = dataConverters.get(kind);
  if (!found && eventSchema(type, subtype)) dataConverters.set(kind, (found = converters.get(detailsTypeName(type, subtype)) ?? []));
  return found;
}

/**
 * A stored event's `data` as the API serves it: the ids the catalogue declares (raw UUIDs in the
 * database) become global IDs, as in `details`; everything else, and the data of a kind the
 * catalogue does not declare, is served as stored.
 */
export function historyEventData(type: string, subtype: string | null, data: unknown): unknown {
  if (!subtype || typeof data !== 'object' || data === null || Array.isArray(data)) return data;
  const convert = dataConvertersOf(type, subtype);
  if (!convert?.length) return data;
  const served: Data = { ...(data as Data) };
  for (const [key, fn] of convert) if (Object.hasOwn(served, key)) served[key] = fn(served[key]) ?? served[key];
  return served;
}
