// The schema documents itself (docs/design.md §5): the linter finds nothing wrong with the API
// schema, and does find what is planted in a schema made to break each rule.
import { buildSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { getSchema } from '../src/schema/index.js';
import { lintSchema } from './schema-lint.js';

describe('the schema linter', () => {
  it('finds nothing wrong with the API schema', () => {
    expect(lintSchema(getSchema())).toEqual([]);
  });

  it('reports an undescribed type, field, argument, input field and enum value, and names out of convention', () => {
    const planted = buildSchema(`
      "A query." type Query { "Described." ok(first: Int): Int bare: Int, Bad_name: Int }
      type Naked { "Described." x: Int }
      "An input." input ThingInput { y: Int }
      "A colour." enum Colour { RED "Green." GREEN blue }
      "Mutations." type Mutation { "Does it." doIt(input: ThingInput): Naked }
    `);
    expect(lintSchema(planted)).toEqual(
      expect.arrayContaining([
        'Query.ok(first:): has no description',
        'Query.bare: has no description',
        'Query.Bad_name: is not camelCase',
        'Naked: has no description',
        'ThingInput.y: has no description',
        'Colour.RED: has no description',
        'Colour.blue: is not CONSTANT_CASE',
        'Mutation.doIt: returns Naked, not DoItPayload',
      ]),
    );
  });
});
