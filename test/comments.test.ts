// Comments point at what a reader can open (docs/design.md §8, "comments say why and point at
// docs/design.md"): no comment cites an issue of a tracker outside the repository, and every file
// a comment names exists — so a rename or a removed file cannot leave a comment pointing nowhere.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const SCANNED = ['src', 'test', 'scripts', 'bench', 'web/src'];
const CODE = /\.(ts|tsx|mjs|cjs|js)$/;

function walk(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return ['node_modules', 'generated', 'dist', 'results'].includes(e.name) ? [] : walk(full);
    return [full];
  });
}

/** Every file of the repository (relative, '/'-separated), for resolving the names comments use. */
const FILES = walk(ROOT)
  .map((f) => path.relative(ROOT, f).split(path.sep).join('/'))
  .filter((f) => !f.startsWith('.git/'));
const DIRS = new Set(FILES.flatMap((f) => f.split('/').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('/'))));

/** The comments of a source file, each with its line number: `// …`, and `/* … *\/` blocks line by line. */
export function commentsOf(source: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let inBlock = false;
  source.split('\n').forEach((raw, i) => {
    let line = raw;
    if (inBlock) {
      const end = line.indexOf('*/');
      out.push({ line: i + 1, text: end === -1 ? line : line.slice(0, end) });
      if (end === -1) return;
      inBlock = false;
      line = line.slice(end + 2);
    }
    const block = line.search(/(^|\s)\/\*/);
    const slashes = line.search(/(^|[\s;,)}{])\/\/(?!\/)/);
    if (slashes !== -1 && (block === -1 || slashes < block)) {
      out.push({ line: i + 1, text: line.slice(slashes).replace(/^\s*\/\//, '') });
    } else if (block !== -1) {
      const rest = line.slice(block).replace(/^\s*\/\*/, '');
      const end = rest.indexOf('*/');
      out.push({ line: i + 1, text: end === -1 ? rest : rest.slice(0, end) });
      if (end === -1) inBlock = true;
    }
  });
  return out;
}

/**
 * Whether a comment cites an issue tracker: "issue #13", "issues #13/#14", "#13 §3", "(#13)" —
 * except a checkpoint's number, "(#1)", in a comment about checkpoints.
 */
export function citesAnIssue(text: string): boolean {
  return /\bissues? #?\d+|#\d+ §/i.test(text) || (/\(#\d+\)/.test(text) && !/checkpoint/i.test(text));
}

/** File names a comment mentions: a path with a known extension, or a docs/ or src/ folder path. */
const FILE_NAME = /(?<![\w@/.:-])((?:\.{1,2}\/)?[\w-]+(?:[./][\w-]+)*\.(?:ts|tsx|mjs|cjs|md|sql|prisma|yaml|cfg|graphql|html|css))(?![\w/])/g;

/** Whether `name`, mentioned in a comment of `file`, names a file that exists. */
export function resolves(name: string, file: string, files = FILES): boolean {
  const candidates = new Set<string>();
  const fromDir = path.posix.normalize(path.posix.join(path.posix.dirname(file), name));
  for (const n of [name, fromDir, `src/${name}`]) candidates.add(path.posix.normalize(n));
  if (name.startsWith('dist/')) candidates.add(`src/${name.slice(5)}`);
  const swapped = [...candidates].flatMap((c) => [c, c.replace(/\.js$/, '.ts'), c.replace(/\.js$/, '.tsx')]);
  if (swapped.some((c) => files.includes(c) || DIRS.has(c))) return true;
  // A path from a folder the comment leaves implicit (`modules/tasks/sql.ts`, `cli/index.ts`).
  if (name.includes('/')) return files.some((f) => f.endsWith(`/${name}`) || f.endsWith(`/${name.replace(/\.js$/, '.ts')}`));
  // A bare file name (`ws.ts`): some file of that name exists.
  return files.some((f) => path.posix.basename(f) === name || path.posix.basename(f) === name.replace(/\.js$/, '.ts'));
}

/** The scanned files; this one is left out, its examples being deliberate. */
function sourceFiles(): string[] {
  return SCANNED.flatMap((part) => walk(path.join(ROOT, part))).filter((f) => CODE.test(f) && f !== import.meta.filename);
}

describe('comments', () => {
  it('cite no issue number: they point at docs/design.md instead', () => {
    const found: string[] = [];
    for (const file of sourceFiles()) {
      for (const c of commentsOf(fs.readFileSync(file, 'utf8'))) if (citesAnIssue(c.text)) found.push(`${path.relative(ROOT, file)}:${c.line}: ${c.text.trim()}`);
    }
    expect(found).toEqual([]);
  });

  it('name only files that exist', () => {
    const found: string[] = [];
    for (const file of sourceFiles()) {
      const rel = path.relative(ROOT, file).split(path.sep).join('/');
      for (const c of commentsOf(fs.readFileSync(file, 'utf8'))) {
        for (const [, name] of c.text.matchAll(FILE_NAME)) if (!resolves(name, rel)) found.push(`${rel}:${c.line}: ${name}`);
      }
    }
    expect(found).toEqual([]);
  });

  it('are found and checked by the scan: a citation and a missing file are caught, a real file is not', () => {
    const source = "// see issue #13 §3\nconst a = 1; // (#14)\n// checkpointed (#1)\n/* the model:\n * src/modules/tasks/crash-points.ts and timeline/live.ts\n * and src/http/ws.ts, modules/history/schema.ts, docs/design.md */\nconst url = 'http://x//y';\n";
    const comments = commentsOf(source);
    expect(comments.filter((c) => citesAnIssue(c.text)).map((c) => c.line)).toEqual([1, 2]);
    const names = comments.flatMap((c) => [...c.text.matchAll(FILE_NAME)].map((m) => m[1]));
    expect(names).toEqual(['src/modules/tasks/crash-points.ts', 'timeline/live.ts', 'src/http/ws.ts', 'modules/history/schema.ts', 'docs/design.md']);
    expect(names.map((n) => resolves(n, 'src/config.ts'))).toEqual([false, false, true, true, true]);
  });
});
