// `makima import --watch`: a real process following a Claude Code projects folder and a Codex
// sessions folder while their files appear and grow (a line written in two halves included), each
// message imported exactly once, until Ctrl-C. The tests wait on the lines the process prints.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../../src/generated/gql/index.js';
import { startTestServer, tempDir, type TestServer, type TestUser } from '../harness.js';
import { createContract } from '../fixtures.js';
import { runMakima, spawnMakima, type Spawned } from './run.js';

const ImportTranscript = graphql(`
  mutation WatchReferenceImport($input: ImportTranscriptInput!) { importTranscript(input: $input) { task { id } messageCount } }
`);
const WholeTask = graphql(`
  query WatchWholeTask($id: ID!) {
    task(id: $id) { transcript(format: JSONL) conversation(first: 100) { edges { node { role content toolCalls createdAt } } } }
  }
`);

const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures');
const CLAUDE_SESSION = '7c0e4a52-3f1d-4b8e-9a6c-2d5f8e1b3c70';
const CODEX_SESSION = '0199a0b1-6c2e-7d3f-9a41-2f5e8c1d7b10';
const claudeLines = fs.readFileSync(path.join(FIXTURES, 'claude-code', 'round-trip.jsonl'), 'utf8').trimEnd().split('\n');
const codexFile = `rollout-2026-11-21T09-00-00-${CODEX_SESSION}.jsonl`;
const codexLines = fs.readFileSync(path.join(FIXTURES, 'codex', codexFile), 'utf8').trimEnd().split('\n');

let t: TestServer;
let user: TestUser;
let contractId: string;

beforeAll(async () => {
  t = await startTestServer();
  user = await t.createUser('watcher');
  contractId = (await createContract(user, await t.makeRepo())).id;
});
afterAll(async () => t?.stop());

type Line = { file?: string; task?: { id: string }; added?: number; skipped?: unknown[]; error?: string; retrying?: boolean; stopped?: boolean; messages?: number };

function lines(output: string): Line[] {
  return output.split('\n').flatMap((l) => (l.startsWith('{') ? [JSON.parse(l) as Line] : []));
}

/** Waits until the watcher has reported `count` messages added from `file` in all, and returns its import lines. */
function added(watch: Spawned, file: string, count: number): Promise<Line[]> {
  return watch.waitUntil((out) => {
    const mine = lines(out).filter((l) => l.file === file && l.added !== undefined);
    return mine.reduce((sum, l) => sum + l.added!, 0) >= count ? mine : undefined;
  }, `${count} messages from ${file}`);
}

/** The task's whole tree (every message record of its lossless export) and its conversation. */
async function wholeTask(taskId: string) {
  const { task } = await user.ok(WholeTask, { id: taskId });
  const tree = task!.transcript.split('\n').filter((l) => l.includes('"type":"message"')).length;
  return { tree, conversation: task!.conversation.edges.map((e) => e.node) };
}

/** The client's environment, with a configuration folder of its own (where the watcher keeps its offsets). */
function watchEnv(configHome = tempDir('makima-watch-config-')) {
  return { MAKIMA_URL: t.url, MAKIMA_TOKEN: user.token, XDG_CONFIG_HOME: configHome };
}

/** The same session imported in one go (under another session id): what the watcher must end up with. */
async function reference(content: string, source: 'CLAUDE_CODE_JSONL' | 'CODEX_JSONL') {
  const { importTranscript } = await user.ok(ImportTranscript, { input: { contractId, source, content } });
  return { added: importTranscript.messageCount, ...(await wholeTask(importTranscript.task.id)) };
}

describe('makima import --watch', () => {
  it('imports Claude Code and Codex sessions as their files appear and grow, each message once, a torn line once whole', async () => {
    const claudeDir = tempDir('makima-watch-claude-');
    const codexDir = tempDir('makima-watch-codex-');
    const watch = spawnMakima(['import', '--watch', claudeDir, codexDir, '--contract', contractId, '--json'], watchEnv());
    try {
      await watch.waitFor(/"watching"/);

      // Claude Code: a project folder and session file appear, then grow; one line arrives in two halves.
      const project = path.join(claudeDir, '-home-dev-cli-tool');
      fs.mkdirSync(project);
      const session = path.join(project, `${CLAUDE_SESSION}.jsonl`);
      const claudeName = path.join('-home-dev-cli-tool', `${CLAUDE_SESSION}.jsonl`);
      fs.writeFileSync(session, claudeLines.slice(0, 5).join('\n') + '\n');
      await added(watch, claudeName, 4);
      const torn = claudeLines[6];
      fs.appendFileSync(session, claudeLines[5] + '\n' + torn.slice(0, 50));
      const [, second] = await added(watch, claudeName, 5);
      expect(second.added).toBe(1); // the whole line only, not the half after it
      fs.appendFileSync(session, torn.slice(50) + '\n' + claudeLines.slice(7).join('\n') + '\n');
      const claudeImports = await added(watch, claudeName, 13);

      // Codex: its day folder appears with a rollout holding only the session's meta (nothing to import yet), then grows.
      const day = path.join(codexDir, '2026', '11', '21');
      fs.mkdirSync(day, { recursive: true });
      const rollout = path.join(day, codexFile);
      const codexName = path.join('2026', '11', '21', codexFile);
      fs.writeFileSync(rollout, codexLines[0] + '\n');
      const waiting = await watch.waitUntil((out) => lines(out).find((l) => l.file === codexName && l.error), 'the rollout waiting for a message');
      expect(waiting.retrying).toBe(false);
      // The call on line 10 is answered on line 11, which arrives in two halves after the call was imported.
      fs.appendFileSync(rollout, codexLines.slice(1, 10).join('\n') + '\n' + codexLines[10].slice(0, 60));
      const codexFirst = await watch.waitUntil((out) => lines(out).find((l) => l.file === codexName && l.added), 'the first Codex import');
      fs.appendFileSync(rollout, codexLines[10].slice(60) + '\n' + codexLines.slice(11).join('\n') + '\n');

      const expectedClaude = await reference(claudeLines.join('\n').replaceAll(CLAUDE_SESSION, '7c0e4a52-3f1d-4b8e-9a6c-2d5f8e1b3c79') + '\n', 'CLAUDE_CODE_JSONL');
      const expectedCodex = await reference(codexLines.join('\n').replaceAll(CODEX_SESSION, '0199a0b1-6c2e-7d3f-9a41-2f5e8c1d7b19') + '\n', 'CODEX_JSONL');
      const codexImports = await added(watch, codexName, expectedCodex.added);

      expect(await watch.stop('SIGINT')).toBe(0);
      const all = lines(watch.output());
      expect(all.at(-1)).toEqual({ stopped: true, messages: expectedClaude.added + expectedCodex.added, files: 2 });

      // Each message exactly once: the same tree and conversation as one import of the whole file.
      expect(claudeImports.reduce((sum, l) => sum + l.added!, 0)).toBe(expectedClaude.added);
      expect(claudeImports.every((l) => l.skipped!.length === 0)).toBe(true);
      expect(new Set(claudeImports.map((l) => l.task!.id)).size).toBe(1);
      const watchedClaude = await wholeTask(claudeImports[0].task!.id);
      expect(watchedClaude).toEqual({ tree: expectedClaude.tree, conversation: expectedClaude.conversation });

      expect(codexFirst.added).toBeGreaterThan(0);
      expect(new Set(codexImports.map((l) => l.task!.id)).size).toBe(1);
      const watchedCodex = await wholeTask(codexImports[0].task!.id);
      expect(watchedCodex).toEqual({ tree: expectedCodex.tree, conversation: expectedCodex.conversation });
      // The output on line 11 is a tool result answering the call: it found its call from the earlier import.
      expect(watchedCodex.conversation.some((m) => m.role === 'TOOL')).toBe(true);
    } finally {
      await watch.stop('SIGKILL');
    }
  });

  it('started again, imports only what is new: its offsets survive the restart, and a replaced file is read from its start', async () => {
    const dir = tempDir('makima-watch-restart-');
    const config = tempDir('makima-watch-config-');
    // One folder, so that a scan reaches the rollout (a/…) before the Claude Code session (b/…).
    fs.mkdirSync(path.join(dir, 'a'));
    fs.mkdirSync(path.join(dir, 'b'));
    const session = '7c0e4a52-3f1d-4b8e-9a6c-2d5f8e1b3c7a';
    const claudeName = path.join('b', `${session}.jsonl`);
    const codexName = path.join('a', codexFile.replace(CODEX_SESSION, '0199a0b1-6c2e-7d3f-9a41-2f5e8c1d7b1a'));
    const claude = claudeLines.map((l) => l.replaceAll(CLAUDE_SESSION, session));
    fs.writeFileSync(path.join(dir, claudeName), claude.slice(0, 5).join('\n') + '\n');
    fs.writeFileSync(path.join(dir, codexName), codexLines.join('\n').replaceAll(CODEX_SESSION, '0199a0b1-6c2e-7d3f-9a41-2f5e8c1d7b1a') + '\n');
    const run = async (until: (out: Line[]) => boolean, what: string) => {
      const watch = spawnMakima(['import', '--watch', dir, '--contract', contractId, '--json'], watchEnv(config));
      try {
        await watch.waitUntil((out) => (until(lines(out)) ? true : undefined), what);
        expect(await watch.stop('SIGINT')).toBe(0);
        return lines(watch.output()).filter((l) => l.file !== undefined);
      } finally {
        await watch.stop('SIGKILL');
      }
    };
    const first = await run((out) => out.some((l) => l.file === claudeName), 'the first run imports both files');
    expect(first.map((l) => [l.file, l.added! > 0])).toEqual([[codexName, true], [claudeName, true]]);
    expect(fs.readdirSync(path.join(config, 'makima', 'import-watch'))).toHaveLength(1);

    // Stopped, the session grows; started again, the rollout (unchanged) is not sent, and the session sends only its new lines.
    fs.appendFileSync(path.join(dir, claudeName), claude.slice(5).join('\n') + '\n');
    const second = await run((out) => out.some((l) => l.file === claudeName), 'the second run imports the new lines');
    expect(second).toEqual([expect.objectContaining({ file: claudeName, added: 13 - first[1].added!, skipped: [] })]);

    // The rollout replaced by a copy (another inode, the same size): read from its start, adding nothing.
    const rollout = path.join(dir, codexName);
    fs.copyFileSync(rollout, `${rollout}.copy`);
    fs.renameSync(`${rollout}.copy`, rollout);
    const third = await run((out) => out.some((l) => l.file === codexName), 'the third run reads the replaced rollout');
    expect(third).toEqual([expect.objectContaining({ file: codexName, added: 0 })]);
  });

  it('refuses a path that is not a folder, and --name, before watching', async () => {
    const env = watchEnv();
    const file = path.join(tempDir('makima-watch-file-'), 'a.jsonl');
    fs.writeFileSync(file, '');
    const cases: [string[], RegExp][] = [
      [[file], /is not a folder/],
      [['/nonexistent/folder'], /is not a folder/],
      [[tempDir('makima-watch-'), '--name', 'x'], /--name names one task/],
    ];
    for (const [args, message] of cases) {
      const run = await runMakima(['import', '--watch', ...args, '--contract', contractId], env);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(message);
    }
  });
});
