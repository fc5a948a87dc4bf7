// `makima capture`, which bin/makima.js loads directly, before and without the rest of the
// command line (docs/design.md §17): the hook's path is this file, capture.ts and client-config.ts.
// As a hook it always exits 0 and prints nothing — Claude Code reads a hook's stdout (as context for
// UserPromptSubmit and SessionStart, as decisions in JSON) — and logs problems to the capture log.
// `--flush` takes the owed snapshots and sends the spool now, in the foreground; `--drain` and
// `--snapshot` are what the hook starts detached.
import path from 'node:path';
import { captureDir, captureEvent, logProblem, spawnDrainer, type HookInput } from './capture.js';
import { awaitAllSnapshots, awaitSnapshot, snapshotHere, snapshotProcess, spawnSnapshot } from './capture-snapshot.js';

const USAGE = `usage: makima capture [--checkpoint-every stop|edit]   (a Claude Code hook: the event's JSON on stdin)
       makima capture --flush                         (send what is spooled now)
Install it with \`makima claude hooks install\` (docs/claude-code.md).`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Runs `makima capture <args>`; returns the exit status. */
export async function runCapture(args: string[], script: string): Promise<number> {
  const dir = captureDir();
  if (args.includes('--snapshot')) {
    // The snapshot first, then what the hook would have started: the drainer, in this process.
    const at = args.indexOf('--snapshot');
    await snapshotProcess(dir, args[at + 1] ?? '', args[at + 2] ?? '').catch((err: Error) => logProblem(dir, `snapshot failed: ${err.message}`));
  }
  if (args.includes('--flush') || args.includes('--drain') || args.includes('--snapshot')) {
    if (args.includes('--flush')) await awaitAllSnapshots(dir, 'capture --flush');
    const { drain } = await import('./capture-drain.js');
    const result = await drain(dir);
    if (!args.includes('--flush')) return 0;
    const summary = `sent ${result.sent} event(s), dropped ${result.dropped}, ${result.left} left in ${path.join(dir, 'spool')}`;
    process.stdout.write(`${result.stopped ? `${summary}: ${result.stopped}` : summary}\n`);
    return result.left === 0 ? 0 : 1;
  }
  if (process.stdin.isTTY) {
    process.stderr.write(`${USAGE}\n`);
    return 0;
  }
  const every = args[args.indexOf('--checkpoint-every') + 1];
  try {
    const input = JSON.parse(await readStdin()) as HookInput;
    await captureEvent(input, { dir, checkpointEvery: args.includes('--checkpoint-every') && every === 'edit' ? 'edit' : 'stop', startDrainer: spawnDrainer(script), startSnapshot: spawnSnapshot(script), snapshotHere, awaitSnapshot });
  } catch (err) {
    logProblem(dir, `hook event not captured: ${err instanceof Error ? err.message : String(err)}`);
  }
  return 0;
}
