// makima's version, from package.json (read once, when the CLI starts).
import fs from 'node:fs';

function readVersion(): string {
  const file = new URL('../../package.json', import.meta.url);
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
}

export const VERSION = readVersion();
