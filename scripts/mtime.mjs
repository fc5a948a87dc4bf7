// Modification times for the build scripts' staleness checks: is an output older than what it is
// built from? (scripts/ensure-build.mjs for dist/, scripts/build-web.mjs for web/dist.)
import fs from 'node:fs';
import path from 'node:path';

/** A file's or folder's modification time in milliseconds; 0 when it does not exist. */
export function mtime(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * The newest modification time among `dir`, every file and folder under it (a folder's time changes
 * when a file in it is added, removed or renamed) and the files `also`; a file whose name
 * `skipFile` accepts does not count.
 */
export function newestUnder(dir, also = [], skipFile = () => false) {
  let newest = Math.max(mtime(dir), ...also.map(mtime));
  const walk = (folder) => {
    for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
      if (entry.isFile() && skipFile(entry.name)) continue;
      const full = path.join(folder, entry.name);
      newest = Math.max(newest, mtime(full));
      if (entry.isDirectory()) walk(full);
    }
  };
  walk(dir);
  return newest;
}
