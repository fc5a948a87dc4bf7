// The migrated database must match prisma/schema.prisma exactly — tables, columns, types,
// nullability, defaults, enums, indexes and foreign keys — so the hand-written migrations and the
// Prisma schema can never drift apart silently. The expected side comes from Prisma's own schema
// parser (prisma-schema-wasm, the same engine `prisma generate` uses).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../harness.js';

const require = createRequire(import.meta.url);
const wasm = require('@prisma/prisma-schema-wasm') as { get_dmmf(params: string): string };

interface DmmfField {
  name: string;
  dbName?: string | null;
  kind: 'scalar' | 'enum' | 'object';
  type: string;
  isRequired: boolean;
  isList: boolean;
  nativeType?: [string, string[]] | null;
  hasDefaultValue: boolean;
  default?: { name?: string } | unknown;
  relationFromFields?: string[];
  relationOnDelete?: string;
}
interface DmmfModel {
  name: string;
  dbName: string | null;
  fields: DmmfField[];
}
interface DmmfIndex {
  model: string;
  type: 'id' | 'unique' | 'normal' | 'fulltext';
  dbName?: string | null;
  fields: { name: string }[];
}
interface Dmmf {
  datamodel: { models: DmmfModel[]; enums: { name: string; dbName: string | null; values: { name: string; dbName: string | null }[] }[]; indexes: DmmfIndex[] };
}

const prismaSchema = fs.readFileSync(new URL('../../prisma/schema.prisma', import.meta.url), 'utf8');
const dmmf = JSON.parse(wasm.get_dmmf(JSON.stringify({ prismaSchema: [['schema.prisma', prismaSchema]] }))) as Dmmf;

/**
 * The `Unsupported("…")` fields of each model (e.g. the search vectors), which Prisma's DMMF leaves
 * out, read from the schema text: model name → field name → { column, type, nullable }.
 */
function unsupportedFields(): Map<string, Map<string, { column: string; type: string; nullable: boolean }>> {
  const out = new Map<string, Map<string, { column: string; type: string; nullable: boolean }>>();
  for (const [, model, body] of prismaSchema.matchAll(/^model (\w+) \{([\s\S]*?)^\}/gm)) {
    for (const [line, field, type, optional] of body.matchAll(/^\s*(\w+)\s+Unsupported\("([^"]+)"\)(\?)?.*$/gm)) {
      if (!out.has(model)) out.set(model, new Map());
      out.get(model)!.set(field, { column: /@map\("([^"]+)"\)/.exec(line)?.[1] ?? field, type, nullable: optional === '?' });
    }
  }
  return out;
}
const unsupported = unsupportedFields();

const models = dmmf.datamodel.models;
const table = (m: DmmfModel) => m.dbName ?? m.name;
const column = (f: DmmfField) => f.dbName ?? f.name;
const scalarFields = (m: DmmfModel) => m.fields.filter((f) => f.kind !== 'object');
const columnOf = (m: DmmfModel, fieldName: string) => {
  const field = m.fields.find((f) => f.name === fieldName);
  return field ? column(field) : unsupported.get(m.name)!.get(fieldName)!.column;
};

function expectedType(f: DmmfField): string {
  if (f.kind === 'enum') {
    const e = dmmf.datamodel.enums.find((x) => x.name === f.type)!;
    return `enum:${e.dbName ?? e.name}`;
  }
  const native = f.nativeType?.[0];
  if (native === 'Uuid') return 'uuid';
  if (native === 'Timestamptz') return `timestamptz(${f.nativeType![1][0] ?? 6})`;
  const map: Record<string, string> = { String: 'text', Int: 'integer', BigInt: 'bigint', Boolean: 'boolean', Json: 'jsonb', DateTime: 'timestamp(3)', Float: 'double precision' };
  return map[f.type];
}

function hasDbDefault(f: DmmfField): boolean {
  if (!f.hasDefaultValue) return false;
  const d = f.default as { name?: string } | undefined;
  return !(d && typeof d === 'object' && (d.name === 'uuid' || d.name === 'cuid'));
}

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => t?.drop());

async function actualColumns(): Promise<Record<string, { type: string; nullable: boolean; hasDefault: boolean }>> {
  const rows = await t.db.query<{ table_name: string; column_name: string; data_type: string; udt_name: string; is_nullable: string; column_default: string | null; datetime_precision: number | null }>(
    `SELECT table_name, column_name, data_type, udt_name, is_nullable, column_default, datetime_precision
       FROM information_schema.columns WHERE table_schema = current_schema() AND table_name <> '_prisma_migrations'`,
  );
  const out: Record<string, { type: string; nullable: boolean; hasDefault: boolean }> = {};
  for (const r of rows) {
    let type = r.data_type;
    if (type === 'USER-DEFINED') type = `enum:${r.udt_name}`;
    else if (type === 'timestamp with time zone') type = `timestamptz(${r.datetime_precision})`;
    else if (type === 'timestamp without time zone') type = `timestamp(${r.datetime_precision})`;
    else if (type === 'character varying') type = 'text';
    out[`${r.table_name}.${r.column_name}`] = { type, nullable: r.is_nullable === 'YES', hasDefault: r.column_default !== null };
  }
  return out;
}

describe('the migrated database matches schema.prisma', () => {
  it('has exactly the tables and columns, with their types, nullability and defaults', async () => {
    const expected: Record<string, { type: string; nullable: boolean; hasDefault: boolean }> = {};
    for (const m of models) {
      for (const f of scalarFields(m)) {
        expected[`${table(m)}.${column(f)}`] = { type: expectedType(f), nullable: !f.isRequired, hasDefault: hasDbDefault(f) };
      }
      // Generated columns (GENERATED ALWAYS AS … STORED) have no column default.
      for (const u of unsupported.get(m.name)?.values() ?? []) expected[`${table(m)}.${u.column}`] = { type: u.type, nullable: u.nullable, hasDefault: false };
    }
    expect(await actualColumns()).toEqual(expected);
  });

  it('has exactly the enums and their values', async () => {
    const rows = await t.db.query<{ typname: string; labels: string[] }>(
      `SELECT t.typname::text AS typname, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels
         FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = current_schema() GROUP BY t.typname`,
    );
    const actual = Object.fromEntries(rows.map((r) => [r.typname, r.labels]));
    const expected = Object.fromEntries(dmmf.datamodel.enums.map((e) => [e.dbName ?? e.name, e.values.map((v) => v.dbName ?? v.name)]));
    expect(actual).toEqual(expected);
  });

  it('has exactly the indexes, with Prisma’s names, columns and uniqueness', async () => {
    const rows = await t.db.query<{ name: string; tbl: string; cols: string[]; is_unique: boolean }>(
      `SELECT i.relname AS name, c.relname AS tbl, ix.indisunique AS is_unique,
              array(SELECT a.attname::text FROM unnest(ix.indkey) WITH ORDINALITY k(n, ord)
                      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.n ORDER BY k.ord) AS cols
         FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class c ON c.oid = ix.indrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = current_schema() AND c.relname <> '_prisma_migrations'`,
    );
    const actual = Object.fromEntries(rows.map((r) => [r.name, { table: r.tbl, columns: r.cols, unique: r.is_unique }]));
    const expected: Record<string, { table: string; columns: string[]; unique: boolean }> = {};
    for (const idx of dmmf.datamodel.indexes) {
      const m = models.find((x) => x.name === idx.model)!;
      const cols = idx.fields.map((f) => columnOf(m, f.name));
      const suffix = idx.type === 'id' ? 'pkey' : idx.type === 'unique' ? 'key' : 'idx';
      const name = idx.dbName ?? (idx.type === 'id' ? `${table(m)}_pkey` : `${table(m)}_${cols.join('_')}_${suffix}`);
      expected[name] = { table: table(m), columns: cols, unique: idx.type !== 'normal' };
    }
    expect(actual).toEqual(expected);
  });

  it('has exactly the foreign keys, with their referenced tables and delete rules', async () => {
    const rows = await t.db.query<{ name: string; tbl: string; cols: string[]; ref: string; on_delete: string }>(
      `SELECT con.conname AS name, c.relname AS tbl, r.relname AS ref, con.confdeltype AS on_delete,
              array(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, ord)
                      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.n ORDER BY k.ord) AS cols
         FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_class r ON r.oid = con.confrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE con.contype = 'f' AND n.nspname = current_schema()`,
    );
    const rule: Record<string, string> = { a: 'NoAction', r: 'Restrict', c: 'Cascade', n: 'SetNull', d: 'SetDefault' };
    const actual = Object.fromEntries(rows.map((r) => [r.name, { table: r.tbl, columns: r.cols, references: r.ref, onDelete: rule[r.on_delete] }]));
    const expected: Record<string, unknown> = {};
    for (const m of models) {
      for (const f of m.fields) {
        if (f.kind !== 'object' || !f.relationFromFields?.length) continue;
        const cols = f.relationFromFields.map((n) => columnOf(m, n));
        const target = models.find((x) => x.name === f.type)!;
        expected[`${table(m)}_${cols.join('_')}_fkey`] = {
          table: table(m),
          columns: cols,
          references: table(target),
          onDelete: f.relationOnDelete ?? (f.isRequired ? 'Restrict' : 'SetNull'),
        };
      }
    }
    expect(actual).toEqual(expected);
  });
});
