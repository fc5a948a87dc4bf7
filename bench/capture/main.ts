// bench:capture — what one Claude Code hook event costs the agent: the wall time of a whole
// `makima capture` process with the event's JSON on stdin (docs/claude-code.md), beside the floor (an
// empty Node process), in the same interleaved rounds so that background load weighs on all alike.
// The goal (docs/design.md §17): at most 150 ms over the floor at p95.
//
// Rows: node -e 0 (floor); UserPromptSubmit and PostToolUse, each with a new transcript line; Stop
// with a checkpoint of the repository (one file changed per round, so each Stop commits, which is
// checked). Beside them, when Stop's snapshot, taken after the hook returns, is done. The whole set
// runs at each repository size (BENCH_CAPTURE_FILES, default 1,000 and 10,000 files), each with its
// own server, repository and floor, one size after the other in the same run.
// The hooks' drainers (and Stop's snapshot process) run against a real embedded server (`makima
// serve`) in the background, as they would; each row waits (untimed) for what it started to finish,
// so that it does not run beside the next row's process, nor make the next event wait for Stop's
// snapshot — events of a real session are seconds apart. BENCH_CAPTURE_ROUNDS (default 30) sets the
// rounds per size; results go to bench/results/capture.json (`markdown.ts` prints them for the docs).
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../lib/children.js';
import { describeMachine, machine, median, ms, percentile, printTable, writeResults } from '../lib/report.js';
import { serveRepository } from '../lib/serve.js';
import { timed } from '../lib/wall-time.js';

const ROUNDS = Number(process.env.BENCH_CAPTURE_ROUNDS ?? 30);
const BIN = path.join(REPO_ROOT, 'bin/makima.js');
const FILES = (process.env.BENCH_CAPTURE_FILES ?? '1000,10000').split(',').map(Number);
const GOAL_MS = 150;

/** A repository of `count` small files, 20 to a folder. */
function files(count: number): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    const [d, f] = [Math.floor(i / 20), i % 20];
    files[`pkg${d}/file${f}.ts`] = `export const v${d}_${f} = ${d * f};\n`.repeat(20);
  }
  return files;
}

interface Row {
  name: string;
  p50Ms: number;
  p95Ms: number;
  overFloorP50Ms: number;
  overFloorP95Ms: number;
}

interface Size {
  files: number;
  loadAverage: number[];
  rows: Row[];
  stopSnapshotDone: { p50Ms: number; p95Ms: number };
}

/** Every row in ROUNDS interleaved rounds against a repository of `fileCount` files. */
async function measure(fileCount: number): Promise<Size> {
  const server = await serveRepository(BIN, 'capture', files(fileCount));
  const { dir, repo } = server;
  try {
    const env = { ...process.env, MAKIMA_URL: server.url, MAKIMA_TOKEN: server.token, XDG_CONFIG_HOME: path.join(dir, 'config'), NO_COLOR: '1' };
    const session = crypto.randomUUID();
    const transcript = path.join(dir, 'session.jsonl');
    let line = 0;
    let parent: string | null = null;
    const appendLine = () => {
      const uuid = `m${++line}`;
      const role = line % 2 ? 'user' : 'assistant';
      fs.appendFileSync(transcript, `${JSON.stringify({ parentUuid: parent, type: role, uuid, sessionId: session, cwd: repo, timestamp: new Date().toISOString(), message: { role, content: `message ${line}` } })}\n`);
      parent = uuid;
    };
    const event = (name: string, extra: Record<string, unknown> = {}) => JSON.stringify({ session_id: session, transcript_path: transcript, cwd: repo, hook_event_name: name, ...extra });
    const capture = [process.execPath, BIN, 'capture'];
    const captureDir = path.join(dir, 'config', 'makima', 'capture');
    const owed = (folder: string) => fs.existsSync(path.join(captureDir, folder)) && fs.readdirSync(path.join(captureDir, folder)).some((f) => f.endsWith('.json'));
    /** Waits until Stop's snapshot is taken and the drainer has sent the spool and let go of its lock (polled: it is other processes' work). */
    const drained = async () => {
      const deadline = Date.now() + 60_000;
      while (owed('snapshots') || fs.existsSync(path.join(captureDir, 'drain.lock')) || owed('spool')) {
        if (Date.now() > deadline) throw new Error(`the drainer did not finish: ${fs.readFileSync(path.join(captureDir, 'capture.log'), 'utf8')}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    let edit = 0;
    let lastCommit: string | undefined;
    const snapshotDone: number[] = [];
    const rows: [string, () => Promise<number>][] = [
      ['node -e 0 (floor)', () => timed([process.execPath, '-e', '0'], env, '')],
      ['UserPromptSubmit (one new line)', () => (appendLine(), timed(capture, env, event('UserPromptSubmit')))],
      ['PostToolUse (one new line)', () => (appendLine(), timed(capture, env, event('PostToolUse', { tool_name: 'Bash' })))],
      [
        `Stop (one new line, checkpoint of ${fileCount.toLocaleString('en-US')} files)`,
        async () => {
          appendLine();
          fs.writeFileSync(path.join(repo, 'pkg0', 'file0.ts'), `export const edited = ${++edit};\n`);
          const started = process.hrtime.bigint();
          const hook = await timed(capture, env, event('Stop'));
          // The snapshot goes on after the hook: an event this soon after Stop would wait for it.
          while (owed('snapshots')) await new Promise((resolve) => setTimeout(resolve, 2));
          snapshotDone.push(Number(process.hrtime.bigint() - started) / 1e6);
          const commit = (JSON.parse(fs.readFileSync(path.join(captureDir, 'sessions', `${session}.json`), 'utf8')) as { commit?: string }).commit;
          if (!commit || commit === lastCommit) throw new Error(`Stop ${edit} made no checkpoint: ${fs.readFileSync(path.join(captureDir, 'capture.log'), 'utf8')}`);
          lastCommit = commit;
          return hook;
        },
      ],
    ];
    for (const [, run] of rows) await run(); // warm the file cache, the compile cache and the session's first import
    await drained();
    snapshotDone.length = 0;
    const samples = new Map<string, number[]>(rows.map(([name]) => [name, []]));
    const load = [os.loadavg()[0]];
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const [name, run] of rows) {
        samples.get(name)!.push(await run());
        if (name !== rows[0][0]) await drained();
      }
    }
    load.push(os.loadavg()[0]);
    const floor = samples.get(rows[0][0])!;
    const round1 = (v: number) => Math.round(v * 10) / 10;
    const results = rows.map(([name]): Row => {
      const s = samples.get(name)!;
      return {
        name,
        p50Ms: round1(median(s)),
        p95Ms: round1(percentile(s, 95)),
        overFloorP50Ms: round1(median(s) - median(floor)),
        overFloorP95Ms: round1(percentile(s, 95) - percentile(floor, 95)),
      };
    });
    const snapshot = { p50Ms: round1(median(snapshotDone)), p95Ms: round1(percentile(snapshotDone, 95)) };
    printTable({
      title: `bench:capture — ${fileCount.toLocaleString('en-US')} files, wall time of one hook process, ${ROUNDS} rounds; load average ${load.map((l) => l.toFixed(1)).join(' → ')}`,
      head: ['event', 'p50', 'p95', 'p50 over the floor', 'p95 over the floor'],
      rows: results.map((r) => [r.name, ms(r.p50Ms), ms(r.p95Ms), ms(r.overFloorP50Ms), ms(r.overFloorP95Ms)]),
    });
    console.log(`Stop's snapshot, in the background: done ${ms(snapshot.p50Ms)} (p50), ${ms(snapshot.p95Ms)} (p95) after the hook started; an event sooner waits for it`);
    return { files: fileCount, loadAverage: load, rows: results, stopSnapshotDone: snapshot };
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const m = machine();
  console.log(`bench:capture — ${describeMachine(m)}`);
  const sizes: Size[] = [];
  for (const count of FILES) sizes.push(await measure(count));
  const worst = Math.max(...sizes.flatMap((s) => s.rows.slice(1).map((r) => r.overFloorP95Ms)));
  const goal = { met: worst <= GOAL_MS, worstOverFloorP95Ms: worst };
  console.log(`goal: every hook event ≤ ${GOAL_MS} ms over the floor at p95 — ${goal.met ? 'met' : 'NOT met'} (worst ${worst.toFixed(1)} ms)`);
  const settings = { rounds: ROUNDS, files: FILES, goalMs: GOAL_MS };
  console.log(`wrote ${writeResults('capture', { machine: m, node: process.version, settings, goal, sizes })}`);
}

main().catch((err: unknown) => {
  console.error('bench:capture failed:', err);
  process.exit(1);
});
