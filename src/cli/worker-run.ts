// One task on the reference worker: runs the agent command in the task's worktree with the full
// context on stdin, turns its stdout into task events, messages and checkpoints (worker-protocol),
// keeps the lease renewed, shows the agent's output to the operator as it comes (each line with its
// time), and completes or fails the task when the agent exits.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ResultOf } from '@graphql-typed-document-node/core';
import { graphql } from '../generated/gql/index.js';
import { GitError } from '../errors.js';
import { ApiError, type ApiClient } from './client.js';
import { CliError, summarize } from './output.js';
import { agentRecord, canIdentifyProcesses, isRecordedGroupRunning, readRecord, recordPath, removeRecord, stopRecordedGroup, writeRecord, type AgentRecord } from './worker-agents.js';
import { driveAcpAgent } from './worker-acp.js';
import type { GroupLedger } from './worker-groups.js';
import type { AcpHost, AcpOptions } from './worker-acp-host.js';
import { ackLine, parseLine, type AckError, type AckId, type Instruction, type MessageRole, type TaskEventType } from './worker-protocol.js';

export const ClaimTask = graphql(`
  mutation CliClaimTask($input: ClaimTaskInput!) {
    claimTask(input: $input) {
      assignment {
        reason resumeNote worktreePath branch commitSha gitUrl leaseExpiresAt
        task {
          id name prompt status isSupervisor branch baseCommit headCommit messageCount
          contract { id name description phase }
        }
        conversation { id index role content toolCalls createdAt }
      }
    }
  }
`);

const RenewLease = graphql(`
  mutation CliRenewLease($input: RenewLeaseInput!) { renewLease(input: $input) { leaseExpiresAt } }
`);
const AppendMessages = graphql(`
  mutation CliAppendMessages($input: AppendMessagesInput!) { appendMessages(input: $input) { messages { id index } } }
`);
const RecordTaskEvents = graphql(`
  mutation CliRecordTaskEvents($input: RecordTaskEventsInput!) { recordTaskEvents(input: $input) { events { seq } } }
`);
const CreateCheckpoint = graphql(`
  mutation CliCreateCheckpoint($input: CreateCheckpointInput!) {
    createCheckpoint(input: $input) { checkpoint { id number commitSha message } }
  }
`);
const CompleteTask = graphql(`
  mutation CliCompleteTask($input: CompleteTaskInput!) { completeTask(input: $input) { task { id status } } }
`);
const FailTask = graphql(`
  mutation CliFailTask($input: FailTaskInput!) { failTask(input: $input) { task { id status lastError } } }
`);

export type Assignment = NonNullable<ResultOf<typeof ClaimTask>['claimTask']['assignment']>;

/** What a checkpoint the agent asked for became. */
export interface CheckpointMade {
  id: string;
  number: number;
  commitSha: string;
}

/**
 * Where the agent works and how its work becomes a checkpoint: the server's worktree (local mode,
 * below) or a clone on this machine (worker-remote.ts, docs/design.md §11).
 */
export interface Workspace {
  /** The directory the agent runs in. */
  readonly path: string;
  /** Records a checkpoint of the directory as it is now; undefined when the task is no longer this worker's. */
  checkpoint(message: string): Promise<CheckpointMade | undefined>;
  /** The run is ending while the lease may still be held: saves what the agent left uncommitted. */
  saveLeftovers?(lost: boolean): Promise<void>;
}

/** What a workspace may use of its run: the API through the run's call (retries, loss of the task) and the report. */
export interface RunTools {
  client: ApiClient;
  workerId: string;
  report: Report;
  call<T>(request: () => Promise<T>): Promise<T | undefined>;
}

export type OpenWorkspace = (assignment: Assignment, tools: RunTools) => Promise<Workspace>;

/** Local mode: the agent works in the task's worktree on the server's disk, which the server commits. */
const serverWorktree: OpenWorkspace = async (assignment, { client, workerId, call }) => ({
  path: assignment.worktreePath,
  async checkpoint(message) {
    const result = await call(() => client.request(CreateCheckpoint, { input: { taskId: assignment.task.id, workerId, message } }));
    return result?.createCheckpoint.checkpoint;
  },
});

/** How the worker tells its operator what happens: an event name, details for --json, a line for people. */
export type Report = (event: string, details: Record<string, unknown>, text: string) => void;

export interface RunOptions {
  client: ApiClient;
  workerId: string;
  leaseSeconds: number;
  command: string;
  report: Report;
  /** Aborted when the worker is told to stop (Ctrl-C, SIGTERM): the task is released. */
  signal: AbortSignal;
  /** Set: the command is an ACP agent, driven by worker-acp instead of the stdout protocol. */
  acp?: AcpOptions;
  /** Close the agent's stdin after the context (agents that read it to the end), instead of keeping it for acks. */
  closeStdin?: boolean;
  /** Where the agent works; default: the server's worktree. */
  openWorkspace?: OpenWorkspace;
  /** The worker's record of the process groups it starts (worker-groups.ts); none where processes cannot be identified. */
  groups?: GroupLedger;
}

export type RunOutcome =
  | { kind: 'completed' }
  | { kind: 'failed'; error: string }
  | { kind: 'released' }
  | { kind: 'lost'; reason: string }
  | { kind: 'cancelled'; reason: string };

/** Why the task was failed when the worker was stopped; the task can then be resumed. */
export const WORKER_STOPPED = 'worker stopped';
const BATCH_EVENTS = 100;
const BATCH_BYTES = 512 * 1024;
const BATCH_DELAY_MS = 200;
const STDERR_TAIL = 4000;
export const KILL_GRACE_MS = 5000;
/**
 * The reaper's script, next to this module: dist/cli/worker-reaper.js, whether this module is
 * its compiled file or the CLI bundle beside it; the TypeScript file when run from source.
 */
const REAPER = fileURLToPath(new URL(`./worker-reaper${path.extname(fileURLToPath(import.meta.url)) === '.ts' ? '.ts' : '.js'}`, import.meta.url));

type AgentEnd = { error: Error } | { code: number | null; signal: NodeJS.Signals | null };

export async function runAssignment(options: RunOptions, assignment: Assignment): Promise<RunOutcome> {
  return new TaskRun(options, assignment).run();
}

class TaskRun {
  private readonly taskId: string;
  private child: ChildProcess | undefined;
  private lost: string | undefined;
  private stopping = false;
  /** The task was lost because it was cancelled (cancelTask), not because the lease lapsed. */
  private cancelled = false;
  private declared: { kind: 'done' } | { kind: 'fail'; error: string } | undefined;
  private batch: { type: TaskEventType; data: unknown }[] = [];
  private batchBytes = 0;
  private batchTimer: NodeJS.Timeout | undefined;
  /** API work, one call at a time in line order (a timed flush may run between two lines). */
  private serial: Promise<void> = Promise.resolve();
  private unexpected: unknown;
  private leaseUntil: number;
  private stderrTail = '';
  private lineNumber = 0;
  /** Watches this worker for the agent: it stops the agent's group if the worker dies (worker-reaper). */
  private reaper: ChildProcess | undefined;
  private record: { file: string; agent: AgentRecord } | undefined;
  /** How the agent is asked to stop before it is killed (ACP: session/cancel); unset: killed at once. */
  private interrupt: (() => void) | undefined;
  private workspace: Workspace | undefined;
  private leftoversSaved = false;

  constructor(
    private readonly options: RunOptions,
    private readonly assignment: Assignment,
  ) {
    this.taskId = assignment.task.id;
    this.leaseUntil = Date.parse(assignment.leaseExpiresAt);
  }

  async run(): Promise<RunOutcome> {
    const { signal, report } = this.options;
    const { task } = this.assignment;
    const where = this.assignment.worktreePath ? `, worktree ${this.assignment.worktreePath}` : '';
    report('claimed', { taskId: task.id, name: task.name, reason: this.assignment.reason, worktreePath: this.assignment.worktreePath, branch: this.assignment.branch }, `claimed ${task.name} (${task.id}): ${this.assignment.reason}${where}`);
    if (signal.aborted) return this.finish({ code: null, signal: null });

    const onStop = () => {
      this.stopping = true;
      if (this.interrupt) this.interrupt();
      else this.kill();
    };
    signal.addEventListener('abort', onStop);
    // Renewed from the claim on: preparing a remote workspace (a first fetch) may take a while.
    const renewals = setInterval(() => void this.renew(), (this.options.leaseSeconds * 1000) / 2);
    try {
      const workspace = await this.openWorkspace();
      if ('error' in workspace) return await this.finish(workspace);
      const end = await this.runAgent(workspace);
      clearTimeout(this.batchTimer);
      await this.enqueue(() => this.flush());
      if (this.unexpected) throw this.unexpected;
      return await this.finish(end);
    } finally {
      clearInterval(renewals);
      signal.removeEventListener('abort', onStop);
      this.kill();
      this.stopWatching();
    }
  }

  /** Opens the workspace; what went wrong (git could not fetch or check out) ends the run as a failure to start. */
  private async openWorkspace(): Promise<Workspace | { error: Error }> {
    const tools: RunTools = { client: this.options.client, workerId: this.options.workerId, report: this.options.report, call: (request) => this.call(request) };
    try {
      this.workspace = await (this.options.openWorkspace ?? serverWorktree)(this.assignment, tools);
      return this.workspace;
    } catch (err) {
      if (!(err instanceof GitError)) throw err;
      process.stderr.write(`makima worker: could not prepare the workspace of task ${this.taskId}: ${err.message}\n`);
      return { error: err };
    }
  }

  /** Starts the agent and processes its stdout until it exits and its output is read. */
  private async runAgent(workspace: Workspace): Promise<AgentEnd> {
    const recordFile = canIdentifyProcesses() ? recordPath(workspace.path) : undefined;
    if (recordFile && !(await this.stopLeftover(recordFile))) {
      return { error: new Error('an agent left running there by an earlier run could not be stopped; stop it, then resume the task') };
    }
    // The command is the operator's own string, run by the shell as written; task data reaches the
    // agent only on stdin and in MAKIMA_TASK_ID, never inside the command line.
    const child = spawn('/bin/sh', ['-c', this.options.command], {
      cwd: workspace.path,
      env: { ...process.env, MAKIMA_TASK_ID: this.taskId, MAKIMA_WORKER_ID: this.options.workerId },
      stdio: ['pipe', 'pipe', 'pipe'],
      // Its own process group, so that stopping kills the agent and everything it started.
      detached: true,
    });
    this.child = child;
    const ended = new Promise<AgentEnd>((resolve) => {
      child.once('error', (error) => resolve({ error }));
      child.once('close', (code, sig) => resolve({ code, signal: sig }));
    });
    if (child.pid) {
      this.watch(child.pid, recordFile);
      this.options.report('agent_started', { taskId: this.taskId, pid: child.pid, reaperPid: this.reaper?.pid ?? null }, `  agent started (pid ${child.pid}): ${this.options.command}`);
    }
    // An agent that never reads its context closes stdin early; that is its business, not an error.
    child.stdin.on('error', () => {});
    child.stderr.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-STDERR_TAIL);
    });
    // An ACP agent's stdin and stdout carry JSON-RPC (docs/design.md §15), not makima's lines.
    if (this.options.acp) {
      await driveAcpAgent(child, this.acpHost(workspace), this.options.acp);
      this.kill();
      return ended;
    }
    // The context is one line; stdin then stays open for the answers to instructions with an "id"
    // (docs/design.md §4) until the agent's verdict or its end.
    child.stdin.write(`${JSON.stringify(this.context())}\n`);
    if (this.options.closeStdin) child.stdin.end();
    const lines = readline.createInterface({ input: child.stdout, crlfDelay: Infinity });
    for await (const line of lines) await this.handle(line);
    child.stdin.end();
    return ended;
  }

  /** What the ACP driver needs from this run: where the agent works, and the run's ordered reports. */
  private acpHost(workspace: Workspace): AcpHost {
    return {
      workdir: workspace.path,
      assignment: this.assignment,
      workerId: this.options.workerId,
      report: this.options.report,
      event: (type, data) => {
        this.stream(type, data);
        void this.addEvent(type, data, JSON.stringify(data).length);
      },
      inOrder: (work) => this.enqueue(() => this.flush().then(work)),
      request: (send) => this.call(() => send(this.options.client)),
      appendMessage: async (message) => (await this.appendMessage(message))?.id,
      checkpoint: async (message) => void (await this.checkpoint(message)),
      recordError: (message) => this.recordError(message),
      declare: (outcome) => (this.declared = outcome),
      stderrTail: () => this.stderrTail,
      gone: () => this.lost !== undefined || this.stopping || this.options.signal.aborted,
      onInterrupt: (interrupt) => (this.interrupt = interrupt),
      kill: () => this.kill(),
      watchGroup: (pgid) => this.watchGroup(pgid),
      groupEnded: () => this.groupEnded(),
    };
  }

  private context() {
    const { task, reason, conversation, branch, commitSha, resumeNote } = this.assignment;
    return { task, reason, conversation, worktreePath: this.workspace?.path, branch, commitSha, resumeNote: resumeNote ?? null };
  }

  private async handle(line: string): Promise<void> {
    const at = ++this.lineNumber;
    if (this.lost) return;
    const instruction = parseLine(line);
    switch (instruction.kind) {
      case 'event':
        this.stream(instruction.type, instruction.data);
        return this.addEvent(instruction.type, instruction.data, line.length);
      case 'done':
      case 'fail':
        this.declared = instruction;
        // The verdict is the agent's last word: once it is answered, stdin ends, so that an agent
        // reading it sees the end and may exit.
        return this.enqueue(async () => {
          if (instruction.id !== undefined) this.answer(instruction.id, {});
          this.child?.stdin?.end();
        });
      default:
        return this.enqueue(() => this.flush().then(() => this.perform(instruction, at)));
    }
  }

  /**
   * A message, a checkpoint or an invalid line, in its turn; what the API refuses is reported like an
   * invalid line. With an id, the agent is answered with what was made or why nothing was.
   */
  private async perform(instruction: Extract<Instruction, { kind: 'message' | 'checkpoint' | 'invalid' }>, at: number): Promise<void> {
    let answer: Record<string, unknown> | { error: AckError } | undefined;
    try {
      if (instruction.kind === 'message') answer = { message: await this.appendMessage(instruction) };
      else if (instruction.kind === 'checkpoint') answer = { checkpoint: await this.checkpoint(instruction.message) };
      else {
        await this.protocolError(at, instruction.reason);
        answer = { error: { code: 'INVALID_INSTRUCTION', message: instruction.reason } };
      }
    } catch (err) {
      if (!(err instanceof ApiError) && !(err instanceof GitError)) throw err;
      await this.protocolError(at, `the ${instruction.kind} was refused: ${err.message}`);
      answer = { error: { code: err instanceof ApiError ? (err.codes.find(Boolean) ?? 'ERROR') : err.code, message: err.message } };
    }
    if (instruction.id === undefined) return;
    const made = Object.values(answer).every((value) => value !== undefined);
    this.answer(instruction.id, made ? answer : { error: { code: 'TASK_LOST', message: this.lost ?? "the task is no longer this worker's" } });
  }

  /** Writes the answer to instruction `id` on the agent's stdin (nothing when the agent closed it or --close-stdin). */
  private answer(id: AckId, result: Record<string, unknown> | { error: AckError }): void {
    const stdin = this.child?.stdin;
    if (!stdin || stdin.writableEnded || stdin.destroyed) return;
    stdin.write(ackLine(id, result));
  }

  /** Shows the operator what the agent reports as it reports it, each line with the time it was read. */
  private stream(type: TaskEventType, data: unknown): void {
    const at = new Date().toISOString();
    const text = type === 'OUTPUT' && typeof data === 'string' ? data : `${type.toLowerCase()} ${summarize(data, 200)}`;
    this.options.report('output', { taskId: this.taskId, at, type, data }, `  ${at.slice(11, 23)} │ ${text}`);
  }

  private async addEvent(type: TaskEventType, data: unknown, bytes: number): Promise<void> {
    this.batch.push({ type, data });
    this.batchBytes += bytes;
    if (this.batch.length >= BATCH_EVENTS || this.batchBytes >= BATCH_BYTES) return this.enqueue(() => this.flush());
    this.batchTimer ??= setTimeout(() => void this.enqueue(() => this.flush()), BATCH_DELAY_MS);
  }

  /**
   * Runs `work` after all work queued before it. An unexpected failure is kept (and the agent
   * stopped) rather than rejected here, where a timer may have queued the work; run() throws it.
   */
  private enqueue(work: () => Promise<void>): Promise<void> {
    this.serial = this.serial
      .then(() => (this.unexpected ? undefined : work()))
      .catch((err: unknown) => {
        this.unexpected ??= err;
        this.kill();
      });
    return this.serial;
  }

  private async flush(): Promise<void> {
    clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    const events = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    if (!events.length || this.lost) return;
    try {
      await this.call(() => this.options.client.request(RecordTaskEvents, { input: { taskId: this.taskId, workerId: this.options.workerId, events } }));
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      await this.recordError(`${events.length} output events were refused: ${err.message}`);
    }
  }

  private async appendMessage(message: { role: MessageRole; content: unknown; toolCalls?: unknown }): Promise<{ id: string; index: number } | undefined> {
    const result = await this.call(() =>
      this.options.client.request(AppendMessages, {
        input: { taskId: this.taskId, workerId: this.options.workerId, messages: [{ role: message.role, content: message.content, toolCalls: message.toolCalls }] },
      }),
    );
    const appended = result?.appendMessages.messages[0];
    if (!appended) return undefined;
    this.options.report('message', { taskId: this.taskId, role: message.role, index: appended.index }, `  message #${appended.index} (${message.role.toLowerCase()})`);
    return { id: appended.id, index: appended.index };
  }

  private async checkpoint(message: string): Promise<CheckpointMade | undefined> {
    const made = await this.workspace?.checkpoint(message);
    if (!made) return undefined;
    const { id, number, commitSha } = made;
    this.options.report('checkpoint', { taskId: this.taskId, number, commitSha, message }, `  checkpoint #${number} ${commitSha.slice(0, 10)} ${message}`);
    return { id, number, commitSha };
  }

  /**
   * A line the worker could not act on: a warning, and an ERROR task event so that it is in the
   * task's history. Runs inside the serial queue, after the events of the lines before it.
   */
  private async protocolError(at: number, reason: string): Promise<void> {
    const text = `makima worker: line ${at} of the agent's output: ${reason}`;
    process.stderr.write(`${text}\n`);
    await this.recordError(text);
  }

  private async recordError(message: string): Promise<void> {
    try {
      await this.call(() => this.options.client.request(RecordTaskEvents, { input: { taskId: this.taskId, workerId: this.options.workerId, events: [{ type: 'ERROR', data: { message } }] } }));
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      process.stderr.write(`makima worker: could not record an error event: ${err.message}\n`);
    }
  }

  private async renew(): Promise<void> {
    try {
      const result = await this.call(
        () => this.options.client.request(RenewLease, { input: { taskId: this.taskId, workerId: this.options.workerId, leaseSeconds: this.options.leaseSeconds } }),
        { retry: false },
      );
      if (result) {
        this.leaseUntil = Date.parse(result.renewLease.leaseExpiresAt);
        this.options.report('lease_renewed', { taskId: this.taskId, leaseExpiresAt: result.renewLease.leaseExpiresAt }, `  lease renewed until ${result.renewLease.leaseExpiresAt}`);
      }
    } catch (err) {
      // The next renewal tries again; the lease is half used when this one runs.
      process.stderr.write(`makima worker: could not renew the lease: ${(err as Error).message}\n`);
    }
  }

  /**
   * One API call for the held task. A CONFLICT (or NOT_FOUND) means the task is not ours any more
   * (the lease lapsed and it was interrupted, or it was resumed elsewhere): the run is abandoned and
   * undefined returned. A network failure is retried until the lease would have lapsed. Any other
   * API error is thrown for the caller to report.
   */
  private async call<T>(request: () => Promise<T>, { retry = true } = {}): Promise<T | undefined> {
    for (let attempt = 0; ; attempt++) {
      if (this.lost) return undefined;
      try {
        return await request();
      } catch (err) {
        if (err instanceof ApiError) {
          // cancelTask: the server answers the next call with CONFLICT, reason CANCELLED: stop the agent.
          if (err.codes.includes('CONFLICT') && err.reasons.includes('CANCELLED')) return this.lose(err.message, true);
          if (err.codes.includes('CONFLICT') || err.codes.includes('NOT_FOUND')) return this.lose(err.message);
          throw err;
        }
        if (!(err instanceof CliError) || !retry) throw err;
        if (Date.now() > this.leaseUntil) return this.lose(`${err.message}; the lease has lapsed`);
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 250 * 2 ** attempt)));
      }
    }
  }

  private lose(reason: string, cancelled = false): undefined {
    if (!this.lost) {
      this.lost = reason;
      this.cancelled = cancelled;
      if (this.interrupt) this.interrupt();
      else this.kill();
    }
    return undefined;
  }

  /** Reports the outcome to the API: released when stopping, else the agent's verdict or its exit status. */
  private async finish(end: AgentEnd): Promise<RunOutcome> {
    const { report } = this.options;
    const task = this.assignment.task;
    if (!this.leftoversSaved) {
      this.leftoversSaved = true;
      await this.workspace?.saveLeftovers?.(Boolean(this.lost));
    }
    if (this.lost && this.cancelled) {
      report('cancelled', { taskId: task.id, reason: this.lost }, `cancelled ${task.name} (${task.id}): its agent was stopped — ${this.lost}`);
      return { kind: 'cancelled', reason: this.lost };
    }
    if (this.lost) {
      report('lost', { taskId: task.id, reason: this.lost }, `lost ${task.name} (${task.id}): ${this.lost}`);
      return { kind: 'lost', reason: this.lost };
    }
    if (this.stopping || this.options.signal.aborted) {
      const failed = await this.call(() => this.fail(WORKER_STOPPED));
      if (!failed) return this.finish(end);
      report('released', { taskId: task.id }, `released ${task.name} (${task.id}): FAILED with "${WORKER_STOPPED}"; resume it with makima task resume ${task.id}`);
      return { kind: 'released' };
    }
    const error = this.failure(end);
    if (error === undefined) {
      const done = await this.call(() => this.options.client.request(CompleteTask, { input: { taskId: task.id, workerId: this.options.workerId } }));
      if (!done) return this.finish(end);
      report('completed', { taskId: task.id }, `completed ${task.name} (${task.id})`);
      return { kind: 'completed' };
    }
    const failed = await this.call(() => this.fail(error));
    if (!failed) return this.finish(end);
    report('failed', { taskId: task.id, error }, `failed ${task.name} (${task.id}): ${error}`);
    return { kind: 'failed', error };
  }

  /** Why the task failed, or undefined when it succeeded: a declared outcome wins over the exit status. */
  private failure(end: AgentEnd): string | undefined {
    if (this.declared?.kind === 'fail') return this.declared.error;
    if (this.declared?.kind === 'done') return undefined;
    if ('error' in end) return `could not start the agent in ${this.workspace?.path ?? 'its workspace'}: ${end.error.message}`;
    if (end.code === 0) return undefined;
    const how = end.signal ? `was killed by ${end.signal}` : `exited with status ${end.code}`;
    const tail = this.stderrTail.trim();
    return tail ? `the agent ${how}; the end of its stderr:\n${tail}` : `the agent ${how}`;
  }

  private fail(error: string) {
    return this.options.client.request(FailTask, { input: { taskId: this.taskId, workerId: this.options.workerId, error } });
  }

  /**
   * Before an agent starts in the worktree: stops an agent that an earlier run left there (its worker
   * and reaper both died), so that a resumed task never runs beside it. False when it would not stop.
   */
  private async stopLeftover(recordFile: string): Promise<boolean> {
    const leftover = readRecord(recordFile);
    if (!leftover) return true;
    const outcome = await stopRecordedGroup(leftover, KILL_GRACE_MS);
    if (outcome === 'stuck') return false;
    removeRecord(recordFile, leftover);
    if (outcome === 'stopped') {
      this.options.report(
        'leftover_stopped',
        { taskId: this.taskId, pgid: leftover.pgid, leftoverTaskId: leftover.taskId, leftoverWorkerId: leftover.workerId },
        `  stopped an agent an earlier run left in the worktree (process group ${leftover.pgid}, worker ${leftover.workerId})`,
      );
    }
    return true;
  }

  /**
   * Records the agent (process group) in the worktree's git dir and starts its reaper, which holds a
   * pipe from this process and stops the agent's group when the pipe closes without "disarm": when
   * this worker dies, even by SIGKILL. Neither may fail the task: without them the agent still runs.
   */
  private watch(pid: number, recordFile: string | undefined): void {
    const agent = canIdentifyProcesses() ? agentRecord(pid, { taskId: this.taskId, workerId: this.options.workerId }) : undefined;
    if (agent && recordFile) {
      try {
        writeRecord(recordFile, agent);
        this.record = { file: recordFile, agent };
      } catch (err) {
        process.stderr.write(`makima worker: could not record the agent in ${recordFile}: ${(err as Error).message}\n`);
      }
    }
    // Without /proc the group cannot be identified later; the reaper then trusts the number it is given.
    if (agent) this.options.groups?.add(agent);
    const watched: AgentRecord = agent ?? { pgid: pid, startTime: '', bootId: '', taskId: this.taskId, workerId: this.options.workerId, workerPid: process.pid };
    const reaper = spawn(process.execPath, [...process.execArgv, REAPER, JSON.stringify({ record: watched, recordFile: this.record?.file, graceMs: KILL_GRACE_MS })], {
      stdio: ['pipe', 'ignore', 'inherit'],
      detached: true,
    });
    reaper.once('error', (err) => process.stderr.write(`makima worker: could not start the agent's reaper: ${err.message}\n`));
    reaper.stdin?.on('error', () => {});
    reaper.unref();
    this.reaper = reaper;
  }

  /** Names one more process group to the reaper (worker-reaper.ts), which stops it with the agent's if this worker dies. */
  private watchGroup(pgid: number): void {
    const ids = { taskId: this.taskId, workerId: this.options.workerId };
    const watched = canIdentifyProcesses() ? agentRecord(pgid, ids) : { pgid, startTime: '', bootId: '', ...ids, workerPid: process.pid };
    if (!watched) return;
    this.reaper?.stdin?.write(`${JSON.stringify({ watch: watched })}\n`);
    if (watched.startTime) this.options.groups?.add(watched);
  }

  /** A process group the worker started for the agent may have ended: its entry goes once it has. */
  private groupEnded(): void {
    this.options.groups?.prune();
  }

  /** The run is over: the reaper stands down, and the record goes once the agent's group has ended. */
  private stopWatching(): void {
    const reaper = this.reaper;
    this.reaper = undefined;
    reaper?.stdin?.end('disarm\n');
    const record = this.record;
    this.record = undefined;
    // Processes the agent started that outlive it stay recorded, so that the next run here stops them.
    if (record && !isRecordedGroupRunning(record.agent)) removeRecord(record.file, record.agent);
    this.options.groups?.prune();
  }

  /** Stops the agent's whole process group: SIGTERM, then SIGKILL if it has not exited in time. */
  private kill(): void {
    const child = this.child;
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
    const group = -child.pid;
    const signalGroup = (sig: NodeJS.Signals) => {
      try {
        process.kill(group, sig);
      } catch {
        // ESRCH: the group is already gone.
      }
    };
    signalGroup('SIGTERM');
    const force = setTimeout(() => signalGroup('SIGKILL'), KILL_GRACE_MS);
    force.unref();
    child.once('exit', () => clearTimeout(force));
  }
}
