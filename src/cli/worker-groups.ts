// The process groups a worker started, kept on disk while they run (docs/design.md §15), so that
// what a dead worker left is stopped even when its reaper died with it (the OOM killer, a kill -9 of
// both). Each worker keeps one small file in its state directory, `worker-<pid>-<start time>.json`:
// who the worker is (pid, start time, boot) and every group it started — the agents, and the terminals
// an ACP agent opened, each its own group — with its leader's start time, so that a reused pid is
// never taken for a recorded one. An entry goes when its group has ended. When a worker starts, it
// stops the groups recorded by every worker in the directory that no longer runs, and removes their
// files. Linux only (/proc); elsewhere nothing is recorded and the reaper alone covers a dead worker.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { canIdentifyProcesses, isRecordedGroupRunning, isSameProcessRunning, processIdentity, stopRecordedGroup, type AgentRecord, type StopOutcome } from './worker-agents.js';

interface LedgerFile {
  workerId: string;
  workerPid: number;
  startTime: string;
  bootId: string;
  groups: AgentRecord[];
}

/** Where workers keep their files by default: $XDG_STATE_HOME/makima/workers, or ~/.local/state/makima/workers. */
export function defaultStateDir(): string {
  const base = process.env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  return path.join(base, 'makima', 'workers');
}

const FILE = /^worker-\d+-\d+\.json$/;

function read(file: string): LedgerFile | undefined {
  try {
    const ledger = JSON.parse(fs.readFileSync(file, 'utf8')) as LedgerFile;
    return Number.isInteger(ledger.workerPid) && typeof ledger.startTime === 'string' && Array.isArray(ledger.groups) ? ledger : undefined;
  } catch {
    return undefined;
  }
}

function write(file: string, ledger: LedgerFile): void {
  const temporary = `${file}.tmp`;
  fs.writeFileSync(temporary, `${JSON.stringify(ledger)}\n`);
  fs.renameSync(temporary, file);
}

/** This worker's file: the groups it started that may still run. */
export class GroupLedger {
  private constructor(
    private readonly file: string,
    private readonly ledger: LedgerFile,
  ) {}

  /** This worker's ledger in `dir`; undefined where processes cannot be identified (not Linux). */
  static open(dir: string, workerId: string): GroupLedger | undefined {
    const me = canIdentifyProcesses() ? processIdentity(process.pid) : undefined;
    if (!me) return undefined;
    const ledger: LedgerFile = { workerId, workerPid: process.pid, ...me, groups: [] };
    const file = path.join(dir, `worker-${process.pid}-${me.startTime}.json`);
    try {
      fs.mkdirSync(dir, { recursive: true });
      write(file, ledger);
    } catch (err) {
      // The worker works without it; only the clean-up after a death of worker and reaper is lost.
      process.stderr.write(`makima worker: could not keep its process groups in ${dir} (--state-dir): ${(err as Error).message}\n`);
      return undefined;
    }
    return new GroupLedger(file, ledger);
  }

  /** A group this worker just started. */
  add(group: AgentRecord): void {
    this.ledger.groups.push(group);
    this.save();
  }

  /** Drops the entries whose groups have ended. */
  prune(): void {
    const running = this.ledger.groups.filter(isRecordedGroupRunning);
    if (running.length === this.ledger.groups.length) return;
    this.ledger.groups = running;
    this.save();
  }

  /** The worker is exiting: its file goes, unless groups it started still run (the next worker here stops them). */
  close(): void {
    this.prune();
    if (this.ledger.groups.length === 0) fs.rmSync(this.file, { force: true });
  }

  private save(): void {
    try {
      write(this.file, this.ledger);
    } catch (err) {
      // Without the file the groups still run and the reaper still covers them: a warning, not a failure.
      process.stderr.write(`makima worker: could not record its process groups in ${this.file}: ${(err as Error).message}\n`);
    }
  }
}

export interface LeftoverGroup {
  pgid: number;
  taskId: string;
  leftoverWorkerId: string;
  leftoverWorkerPid: number;
  outcome: StopOutcome;
}

/**
 * Stops the groups recorded in `dir` by workers that no longer run, and removes their files (a file
 * whose groups would not stop is kept, for the next start to try again). Returns each group found
 * running, with what became of it.
 */
export async function stopLeftoverGroups(dir: string, graceMs: number): Promise<LeftoverGroup[]> {
  if (!canIdentifyProcesses()) return [];
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((name) => FILE.test(name));
  } catch {
    return []; // no directory yet: no worker ran here
  }
  const found: LeftoverGroup[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    const ledger = read(file);
    if (ledger && isSameProcessRunning(ledger.workerPid, ledger)) continue; // a live worker's own business
    const groups = ledger?.groups ?? [];
    const outcomes = await Promise.all(groups.map((group) => stopRecordedGroup(group, graceMs)));
    groups.forEach((group, i) => {
      if (outcomes[i] !== 'none') found.push({ pgid: group.pgid, taskId: group.taskId, leftoverWorkerId: ledger!.workerId, leftoverWorkerPid: ledger!.workerPid, outcome: outcomes[i] });
    });
    const stuck = groups.filter((_, i) => outcomes[i] === 'stuck');
    if (stuck.length && ledger) write(file, { ...ledger, groups: stuck });
    else fs.rmSync(file, { force: true });
  }
  return found;
}
