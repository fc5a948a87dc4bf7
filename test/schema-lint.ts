// The schema linter run by test/schema-lint.test.ts: every type, field, argument, input field and
// enum value has a description, and every name follows the conventions (docs/design.md §5). A
// hand-written walk of the schema with graphql-js rather than graphql-schema-linter, which is no
// longer maintained and pulls in deprecated dependencies; its rules are the ones below.
import { isEnumType, isInputObjectType, isInterfaceType, isObjectType, isScalarType, type GraphQLSchema } from 'graphql';

const PASCAL = /^[A-Z][A-Za-z0-9]*$/;
const CAMEL = /^[a-z][A-Za-z0-9]*$/;
const CONSTANT = /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/;

/** Every rule broken by `schema`, one line each: `Coordinate: what is wrong`. */
export function lintSchema(schema: GraphQLSchema): string[] {
  const problems: string[] = [];
  const described = (coordinate: string, description: string | null | undefined) => {
    if (!description?.trim()) problems.push(`${coordinate}: has no description`);
    else if (!/^[A-Z0-9`'"(]/.test(description.trim())) problems.push(`${coordinate}: its description does not start with a capital letter`);
  };
  const named = (coordinate: string, name: string, pattern: RegExp, style: string) => {
    if (!pattern.test(name)) problems.push(`${coordinate}: is not ${style}`);
  };
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__')) continue;
    const builtIn = isScalarType(type) && ['String', 'Int', 'Float', 'Boolean', 'ID'].includes(type.name);
    if (builtIn) continue;
    named(type.name, type.name, PASCAL, 'PascalCase');
    described(type.name, type.description);
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        const coordinate = `${type.name}.${field.name}`;
        named(coordinate, field.name, CAMEL, 'camelCase');
        described(coordinate, field.description);
        for (const arg of field.args) {
          named(`${coordinate}(${arg.name}:)`, arg.name, CAMEL, 'camelCase');
          described(`${coordinate}(${arg.name}:)`, arg.description);
        }
      }
    }
    if (isInputObjectType(type)) {
      if (!type.name.endsWith('Input') && !type.name.endsWith('Filter')) problems.push(`${type.name}: an input type's name ends in Input or Filter`);
      for (const field of Object.values(type.getFields())) {
        named(`${type.name}.${field.name}`, field.name, CAMEL, 'camelCase');
        described(`${type.name}.${field.name}`, field.description);
      }
    }
    if (isEnumType(type)) {
      for (const value of type.getValues()) {
        named(`${type.name}.${value.name}`, value.name, CONSTANT, 'CONSTANT_CASE');
        described(`${type.name}.${value.name}`, value.description);
      }
    }
  }
  for (const [root, type] of [['Mutation', schema.getMutationType()]] as const) {
    for (const field of Object.values(type?.getFields() ?? {})) {
      const payload = field.type.toString().replace(/!$/, '');
      if (payload !== `${field.name[0].toUpperCase()}${field.name.slice(1)}Payload`) problems.push(`${root}.${field.name}: returns ${payload}, not ${field.name[0].toUpperCase()}${field.name.slice(1)}Payload`);
    }
  }
  return problems;
}

