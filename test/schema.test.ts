// schema.graphql is the committed contract; it must be exactly what the Pothos schema prints.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { printSchemaSDL } from '../src/schema/index.js';

describe('schema.graphql', () => {
  it('is up to date with the code (run `npm run print-schema` after changing the schema)', () => {
    const committed = fs.readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8');
    expect(committed).toBe(printSchemaSDL());
  });

  it('keeps the names that clients rely on (docs/design.md §5)', () => {
    const sdl = printSchemaSDL();
    for (const name of ['interface Node', 'type Contract implements Node', 'type Task implements Node', 'type User implements Node', 'type HistoryEvent implements Node', 'enum ContractPhase', 'enum TaskStatus', 'input HistoryFilter']) {
      expect(sdl).toContain(name);
    }
  });
});
