// `makima import <file|dir>… --contract <id> [--source claude-code|codex|makima] [--name N] [--watch]`:
// agent sessions into makima as tasks. A directory is a Claude Code project folder
// (~/.claude/projects/<project>/: every *.jsonl in it) or Codex's sessions folder (~/.codex/sessions/:
// every rollout-*.jsonl below it, YYYY/MM/DD), one import each, with progress on standard error.
// Importing a session again adds only what is new. With --watch, the folders are followed and
// sessions imported as they grow, until Ctrl-C (import-watch.ts).
import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { graphql } from '../generated/gql/index.js';
import type { CliCommand } from './command.js';
import { clientCommand, clientFrom, type ClientOptions } from './client.js';
import { SessionWatcher, watchStateFile } from './import-watch.js';
import { CliError, UsageError, color, printJson, println } from './output.js';

const ImportTranscript = graphql(`
  mutation CliImportTranscript($input: ImportTranscriptInput!) {
    importTranscript(input: $input) {
      task { id name status messageCount }
      messageCount
      skipped { line reason }
    }
  }
`);

const SOURCES = { 'claude-code': 'CLAUDE_CODE_JSONL', codex: 'CODEX_JSONL', makima: 'MAKIMA_JSONL' } as const;
type Source = (typeof SOURCES)[keyof typeof SOURCES];

function sourceOf(value: string): Source {
  const key = value.toLowerCase();
  const source = Object.hasOwn(SOURCES, key) ? SOURCES[key as keyof typeof SOURCES] : undefined;
  if (!source) throw new InvalidArgumentError('claude-code, codex or makima');
  return source;
}

/** Codex's rollouts below a folder (sessions/YYYY/MM/DD/rollout-*.jsonl), at any depth. */
function rolloutsBelow(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => {
      const sub = path.join(dir, e.name);
      return [...fs.readdirSync(sub).filter((f) => /^rollout-.*\.jsonl$/.test(f)).map((f) => path.join(sub, f)), ...rolloutsBelow(sub)];
    });
}

/**
 * The files to import: the file itself, or every *.jsonl directly in the directory and every Codex
 * rollout below it, by path, whatever --source says: the two layouts do not overlap (a Claude Code
 * project's subfolders hold no rollout-*.jsonl).
 */
function sessionFiles(target: string): string[] {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(target);
  } catch {
    throw new CliError(`${target} does not exist`);
  }
  if (!stat.isDirectory()) return [target];
  const files = [...fs.readdirSync(target).filter((f) => f.endsWith('.jsonl')).map((f) => path.join(target, f)), ...rolloutsBelow(target)].sort();
  if (files.length === 0) throw new CliError(`${target} holds no .jsonl session files`);
  return files;
}

function bar(done: number, total: number, width = 24): string {
  const filled = Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}`;
}

type Target = { target: string; files: string[] };

/** A path of the command line: the session files it holds, or (with --watch) a folder to follow. */
function targetOf(target: string, watching: boolean): Target {
  if (!watching) return { target, files: sessionFiles(target) };
  if (!fs.statSync(target, { throwIfNoEntry: false })?.isDirectory()) throw new CliError(`${target} is not a folder: --watch follows folders (e.g. ~/.claude/projects, ~/.codex/sessions)`);
  return { target, files: [] };
}

type ImportOptions = ClientOptions & { json?: boolean; contract: string; source: Source; name?: string; watch?: boolean };
type Result = { file: string; task?: { id: string; name: string; messageCount: number }; added?: number; skipped?: { line: number; reason: string }[]; error?: string };

export const importCommand: CliCommand = {
  name: 'import',
  define: (cmd: Command) =>
  // The paths are checked as the command line is parsed (its options are known by then): a missing
  // file is reported before any request, even the one that resolves --contract.
  void clientCommand(cmd.argument('<paths...>', 'session files (.jsonl), Claude Code project folders or Codex sessions folders: every session in them', (target: string, previous: Target[] = []) => [...previous, targetOf(target, Boolean(cmd.opts().watch))]))
    .description('import agent sessions (Claude Code, Codex, or a makima JSONL export) as tasks you can search, export, fork and resume')
    .requiredOption('--contract <contract>', 'the contract the tasks join')
    .addOption(new Option('--source <source>', 'claude-code, codex or makima (with --watch, default: by file name)').argParser(sourceOf).default('CLAUDE_CODE_JSONL' as Source, 'claude-code'))
    .option('--name <name>', "the task's name (one file only; default: the session's summary or thread name, or its first prompt)")
    .option('--watch', "follow the folders (e.g. ~/.claude/projects and ~/.codex/sessions) and import sessions as they grow, until Ctrl-C")
    .action(async (targets: Target[], opts: ImportOptions, command: Command) => {
      if (opts.watch) return watch(targets.map((t) => t.target), opts, command.getOptionValueSource('source') === 'cli' ? opts.source : undefined);
      const files = targets.flatMap((t) => t.files);
      if (opts.name && files.length > 1) throw new CliError('--name names one task: give a file, not a directory');
      const results = await importFiles(files, opts);
      if (opts.json) printJson(files.length === 1 ? results[0] : results);
      else printResults(results);
      const failed = results.filter((r) => r.error).length;
      if (failed) throw new CliError(`${failed} of ${files.length} sessions could not be imported (see above)`);
    }),
};

async function importFiles(files: string[], opts: ImportOptions): Promise<Result[]> {
  const client = clientFrom(opts);
  const results: Result[] = [];
  const progress = files.length > 1 && !opts.json && Boolean(process.stderr.isTTY);
  for (const [i, file] of files.entries()) {
    if (progress) process.stderr.write(`\r${bar(i, files.length)} ${path.basename(file).slice(0, 40).padEnd(40)}`);
    try {
      const content = fs.readFileSync(file, 'utf8');
      const { importTranscript: r } = await client.request(ImportTranscript, { input: { contractId: opts.contract, source: opts.source, content, name: opts.name } });
      results.push({ file, task: r.task, added: r.messageCount, skipped: r.skipped });
    } catch (err) {
      if (files.length === 1) throw err;
      results.push({ file, error: (err as Error).message });
    }
  }
  if (progress) process.stderr.write(`\r${bar(files.length, files.length)} ${'done'.padEnd(40)}\n`);
  return results;
}

function printResults(results: Result[]): void {
  for (const r of results) {
    if (r.error) {
      println(`${color.red('failed')} ${r.file}: ${r.error}`);
      continue;
    }
    const again = r.added === 0 ? color.dim(' (already imported: nothing new)') : '';
    println(`${path.basename(r.file)} → ${color.bold(r.task!.name)} ${color.dim(r.task!.id)}: ${r.added} messages added, ${r.task!.messageCount} on the conversation${again}`);
    for (const s of r.skipped ?? []) println(color.dim(`  skipped line ${s.line}: ${s.reason}`));
  }
}

/** `--watch`: follows the folders until Ctrl-C or SIGTERM, then lets the import in flight finish. */
async function watch(dirs: string[], opts: ImportOptions, source: Source | undefined): Promise<void> {
  if (opts.name) throw new UsageError('--name names one task: --watch imports every session of the folders');
  const client = clientFrom(opts);
  const watcher = new SessionWatcher({
    dirs: dirs.map((d) => path.resolve(d)),
    source,
    json: Boolean(opts.json),
    stateFile: watchStateFile({ url: client.url, token: client.token, contract: opts.contract, source }),
    importTranscript: async (src, content) => (await client.request(ImportTranscript, { input: { contractId: opts.contract, source: src, content } })).importTranscript,
  });
  const { watching } = watcher.start();
  const how = watching === 'events' ? 'file events and a scan every second' : 'a scan every second (no file events here)';
  if (opts.json) println(JSON.stringify({ watching: dirs, by: watching }));
  else println(`watching ${dirs.join(', ')} (${how}); Ctrl-C to stop`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await watcher.stop();
  const { messages, files } = watcher.totals;
  if (opts.json) println(JSON.stringify({ stopped: true, messages, files: files.size }));
  else println(`stopped: ${messages} messages imported from ${files.size} session files`);
}
