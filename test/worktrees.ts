// Files and git for the checkpoint, rewind and fork tests: the worktree read as a map of files,
// writes to it, its git status and head, a recorder of every git command the server runs, and a
// database failure injected at a chosen insert. (The contract-and-task fixture on a real
// repository, taskOnRepo, and the GraphQL operations are in fixtures.ts.)
import fs from 'node:fs';
import path from 'node:path';
import { simpleGit } from 'simple-git';
import { tempDir, type TestServer } from './harness.js';

/** Every file under `dir` except git's own, path → bytes (latin1 keeps them exact and readable). */
export function fileMap(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${entry.name}` : entry.name;
      if (p === '.git') continue;
      if (entry.isDirectory()) walk(p);
      else out[p] = fs.readFileSync(path.join(dir, p)).toString('latin1');
    }
  };
  walk('');
  return out;
}

export function write(dir: string, files: Record<string, string | Buffer | null>): void {
  for (const [name, content] of Object.entries(files)) {
    const p = path.join(dir, name);
    if (content === null) {
      fs.rmSync(p);
      continue;
    }
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content);
  }
}

/** `git status --porcelain` without ignored files: what git considers changed, staged or untracked. */
export async function status(dir: string): Promise<string> {
  return simpleGit(dir).raw(['status', '--porcelain', '--untracked-files=all']);
}

export async function head(dir: string): Promise<string> {
  return simpleGit(dir).revparse(['HEAD']);
}

/**
 * Records the arguments of every git command this process runs from now on: a `git` first on PATH
 * that appends its arguments to a log and runs the real git. The server reads PATH per command.
 */
export function recordGitCommands(): { commands(): string; stop(): void } {
  const dir = tempDir('makima-git-log-');
  const log = path.join(dir, 'commands.log');
  const realGit = findOnPath('git');
  fs.writeFileSync(log, '');
  fs.writeFileSync(path.join(dir, 'git'), `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a" >> '${log}'; done\nprintf -- '----\\n' >> '${log}'\nexec '${realGit}' "$@"\n`, { mode: 0o755 });
  const original = process.env.PATH;
  process.env.PATH = `${dir}${path.delimiter}${original}`;
  return {
    commands: () => fs.readFileSync(log, 'utf8'),
    stop: () => {
      process.env.PATH = original;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function findOnPath(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, name);
    if (dir && fs.existsSync(p)) return p;
  }
  throw new Error(`${name} is not on PATH`);
}

/** Runs `body` while inserts into `table` matching `condition` fail: a real database failure, injected by a trigger. */
export async function failInserts(t: TestServer, table: string, condition: string, body: () => Promise<void>): Promise<void> {
  const name = `fail_${table}`;
  await t.db.prisma.$executeRawUnsafe(
    `CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF ${condition} THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$`,
  );
  await t.db.prisma.$executeRawUnsafe(`CREATE TRIGGER ${name} BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION ${name}()`);
  try {
    await body();
  } finally {
    await t.db.prisma.$executeRawUnsafe(`DROP TRIGGER ${name} ON ${table}`);
    await t.db.prisma.$executeRawUnsafe(`DROP FUNCTION ${name}()`);
  }
}
