// `npm run print-schema`: writes schema.graphql from the Pothos schema.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { printSchemaSDL } from './index.js';

export const SCHEMA_FILE = fileURLToPath(new URL('../../schema.graphql', import.meta.url));

fs.writeFileSync(SCHEMA_FILE, printSchemaSDL());
console.log(`wrote ${SCHEMA_FILE}`);
