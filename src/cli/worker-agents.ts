// The reference worker's agents as processes (Linux): an agent runs in its own process group, which
// is recorded in the worktree's git dir while it runs, and stopped — by the reaper when its worker
// dies, or by the next run in that worktree — only after checking that the group is still the one
// recorded, not a stranger that got the same number. Node built-ins only: the reaper loads this.
import fs from 'node:fs';
import path from 'node:path';

/** Who an agent is, saved while it runs in `<worktree git dir>/makima-agent.json`. */
export interface AgentRecord {
  /** Its process group: the pid of the agent's shell, which leads the group. */
  pgid: number;
  /** The leader's start time (clock ticks after boot, /proc/<pid>/stat): a reused pid has another. */
  startTime: string;
  /** The boot the start time counts from. */
  bootId: string;
  taskId: string;
  workerId: string;
  workerPid: number;
}

export type StopOutcome = 'none' | 'stopped' | 'stuck';

const RECORD_FILE = 'makima-agent.json';
const HAS_PROC = process.platform === 'linux' && fs.existsSync('/proc/self/stat');
const POLL_MS = 50;
const KILL_WAIT_MS = 5000;

interface ProcStat {
  state: string;
  pgrp: number;
  startTime: string;
}

/** /proc/<pid>/stat's state, process group and start time; undefined when there is no such process. */
function procStat(pid: number): ProcStat | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses, so split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], pgrp: Number(fields[2]), startTime: fields[19] };
  } catch {
    return undefined;
  }
}

function bootId(): string {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

/** Whether processes can be identified here (Linux's /proc); elsewhere nothing is recorded or checked. */
export function canIdentifyProcesses(): boolean {
  return HAS_PROC;
}

/** The record of an agent just started as the leader of its own process group. */
export function agentRecord(pid: number, ids: { taskId: string; workerId: string }): AgentRecord | undefined {
  const stat = procStat(pid);
  if (!stat) return undefined;
  return { pgid: pid, startTime: stat.startTime, bootId: bootId(), taskId: ids.taskId, workerId: ids.workerId, workerPid: process.pid };
}

/** Who process `pid` is: its start time and the boot it counts from; undefined when there is no such process. */
export function processIdentity(pid: number): { startTime: string; bootId: string } | undefined {
  const stat = procStat(pid);
  return stat && stat.state !== 'Z' ? { startTime: stat.startTime, bootId: bootId() } : undefined;
}

/** Whether process `pid` still runs and is the one identified (a reused pid has another start time). */
export function isSameProcessRunning(pid: number, identity: { startTime: string; bootId: string }): boolean {
  const now = processIdentity(pid);
  return now !== undefined && now.startTime === identity.startTime && (!identity.bootId || now.bootId === identity.bootId);
}

/** Where a worktree's agent is recorded: its own git dir (`.git` is a file `gitdir: …` in a linked worktree). */
export function recordPath(worktreePath: string): string | undefined {
  const dotGit = path.join(worktreePath, '.git');
  try {
    if (fs.statSync(dotGit).isDirectory()) return path.join(dotGit, RECORD_FILE);
    const gitdir = /^gitdir: (.+)$/m.exec(fs.readFileSync(dotGit, 'utf8'))?.[1]?.trim();
    return gitdir ? path.join(path.resolve(worktreePath, gitdir), RECORD_FILE) : undefined;
  } catch {
    return undefined;
  }
}

export function writeRecord(file: string, record: AgentRecord): void {
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, `${JSON.stringify(record)}\n`);
  fs.renameSync(temporary, file);
}

export function readRecord(file: string): AgentRecord | undefined {
  try {
    const record = JSON.parse(fs.readFileSync(file, 'utf8')) as AgentRecord;
    return Number.isInteger(record.pgid) && record.pgid > 1 && typeof record.startTime === 'string' ? record : undefined;
  } catch {
    return undefined;
  }
}

/** Removes the record if it is still this one (a later run may have replaced it). */
export function removeRecord(file: string, record: AgentRecord): void {
  const current = readRecord(file);
  if (current && (current.pgid !== record.pgid || current.startTime !== record.startTime)) return;
  fs.rmSync(file, { force: true });
}

/**
 * Whether the recorded group still runs and is the recorded one. Its leader, when alive, must have
 * the recorded start time (a pid can be reused, but not while its group has members, so a leader
 * with another start time means the group is gone). When the leader has exited and processes it
 * started remain in the group, one of them must carry the run's MAKIMA_TASK_ID and MAKIMA_WORKER_ID.
 */
export function isRecordedGroupRunning(record: AgentRecord): boolean {
  // Without /proc (not Linux) nothing can be checked: the reaper, which alone runs there, is handed
  // the group while its agent runs and trusts the number.
  if (!canIdentifyProcesses()) return groupRunning(record.pgid);
  if (record.bootId && record.bootId !== bootId()) return false;
  const leader = procStat(record.pgid);
  if (leader && leader.state !== 'Z' && leader.pgrp === record.pgid) return leader.startTime === record.startTime;
  if (leader && leader.state !== 'Z' && leader.startTime !== record.startTime) return false;
  const marker = [`MAKIMA_TASK_ID=${record.taskId}`, `MAKIMA_WORKER_ID=${record.workerId}`];
  return liveMembers(record.pgid).some((pid) => {
    const stat = procStat(pid);
    if (!stat || BigInt(stat.startTime) < BigInt(record.startTime)) return false;
    try {
      const environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      return marker.every((m) => environ.includes(m));
    } catch {
      return false;
    }
  });
}

/** Whether any process of the group has not exited (zombies waiting to be reaped do not count). */
function groupRunning(pgid: number): boolean {
  if (canIdentifyProcesses()) return liveMembers(pgid).length > 0;
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The processes of a group that have not exited (zombies waiting to be reaped do not count). */
function liveMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat && stat.pgrp === pgid && stat.state !== 'Z') members.push(Number(entry));
  }
  return members;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone
  }
}

/**
 * Stops the recorded agent's whole process group, if it still runs and is the recorded one:
 * SIGTERM, then SIGKILL after `graceMs`. 'none' when there was nothing to stop, 'stuck' when
 * processes of the group remain even after SIGKILL. There is no event for the end of a process
 * that is not one's child, so the group is watched through /proc.
 */
export async function stopRecordedGroup(record: AgentRecord, graceMs: number): Promise<StopOutcome> {
  if (!isRecordedGroupRunning(record)) return 'none';
  // From here the group's number cannot be reused while any of its processes lives, so it is
  // signalled and watched by number.
  signalGroup(record.pgid, 'SIGTERM');
  if (await groupEnds(record.pgid, graceMs)) return 'stopped';
  signalGroup(record.pgid, 'SIGKILL');
  return (await groupEnds(record.pgid, KILL_WAIT_MS)) ? 'stopped' : 'stuck';
}

async function groupEnds(pgid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    if (!groupRunning(pgid)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
