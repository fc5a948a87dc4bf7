// `makima worker --command "<agent command>"`: the reference worker. It claims tasks (long-polling),
// runs each with worker-run, and on Ctrl-C or SIGTERM releases the task it holds and exits 0.
import os from 'node:os';
import { InvalidArgumentError, type Command } from 'commander';
import { graphql } from '../generated/gql/index.js';
import type { CliCommand } from './command.js';
import { ApiError, clientCommand, clientFrom, type ApiClient, type ClientOptions } from './client.js';
import { CliError, UsageError, color, println } from './output.js';
import { acpOptions, defineAcpOptions, type AcpFlags } from './worker-acp-options.js';
import { DEFAULT_STALL_SECONDS } from '../git/index.js';
import { defaultStateDir, GroupLedger, stopLeftoverGroups } from './worker-groups.js';
import { openWorkdir, remoteWorkspace } from './worker-remote.js';
import { ClaimTask, KILL_GRACE_MS, runAssignment, type Report } from './worker-run.js';

const Viewer = graphql(`
  query CliWorkerViewer { viewer { id name } }
`);

/** How long one claim waits for work on the server (its maximum is 60 s). */
const WAIT_SECONDS = 30;

interface WorkerOptions extends ClientOptions, AcpFlags {
  json?: boolean;
  command: string;
  workerId?: string;
  leaseSeconds: number;
  once?: boolean;
  /** Only tasks of these contracts (IDs or UUIDs); the server checks they are the viewer's. */
  contract?: string[];
  /** true: only supervisors; false: never a supervisor; undefined: either. */
  supervisor?: boolean;
  closeStdin?: boolean;
  /** Remote mode: the task's code is fetched into this directory over git (worker-remote). */
  workdir?: string;
  /** Remote mode: seconds a git transfer may stall before it fails (git's http.lowSpeedTime). */
  gitStallSeconds?: number;
  /** Where the worker records the process groups it starts (worker-groups). */
  stateDir?: string;
}

function leaseSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 3600) throw new InvalidArgumentError('expected whole seconds between 1 and 3600');
  return n;
}

function gitStallSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 86_400) throw new InvalidArgumentError('expected whole seconds between 1 and 86400');
  return n;
}

export const worker: CliCommand = { name: 'worker', define: defineWorker };

function defineWorker(cmd: Command): void {
  clientCommand(cmd)
    .description("claim tasks and run an agent on each, in the task's worktree or a --workdir clone (docs/workers.md has its protocol)")
    .option('--command <command>', "the agent command, run with /bin/sh -c; it gets the task's context as JSON on stdin")
    .option('--worker-id <id>', "this worker's name (default: <hostname>-<pid>)")
    .option('--lease-seconds <n>', 'lease length; it is renewed every half of it', leaseSeconds, 60)
    .option('--once', 'run one task, then exit (status 1 if the task failed)')
    .option('--contract <contract...>', "claim only tasks of these contracts (short name, name, ID or a unique prefix of it); default: any of the token user's")
    .option('--supervisor', "claim only contracts' supervisors (the task that plans and steers a contract)")
    .option('--no-supervisor', 'never claim a supervisor; default: claim either')
    .option('--workdir <dir>', "run agents in clones in this directory, fetched from the server over git, not in the server's worktrees (a worker on another machine)")
    .option('--git-stall-seconds <n>', 'with --workdir: a fetch or push that moves less than 1 KB a second for this long fails (git gives up) instead of waiting forever', gitStallSeconds, DEFAULT_STALL_SECONDS)
    .option('--close-stdin', "close the agent's stdin after the context, for agents that read it to the end (no acks then)")
    .option('--state-dir <dir>', 'where the worker records the process groups it starts, so that the next worker here stops what a dead one left (default: $MAKIMA_WORKER_STATE_DIR, else $XDG_STATE_HOME/makima/workers)');
  defineAcpOptions(cmd);
  cmd.action(async (opts: WorkerOptions) => {
      if (opts.acp !== undefined && opts.command !== undefined) throw new UsageError('give either --command or --acp, not both');
      if (opts.acp !== undefined) opts.command = opts.acp;
      if (!opts.command?.trim()) throw new UsageError(opts.acp !== undefined ? '--acp must not be empty' : 'give the agent: --command "<command>" or --acp "<ACP agent command>"');
      if (opts.workdir !== undefined) openWorkdir(opts.workdir);
      const client = clientFrom(opts);
      const workerId = opts.workerId ?? `${os.hostname()}-${process.pid}`;
      const report = reporter(opts.json);
      const { viewer } = await client.request(Viewer); // a wrong URL or token fails here, at once
      // What a worker that died here left running (its reaper dead too) is stopped before any work starts.
      const stateDir = opts.stateDir ?? (process.env.MAKIMA_WORKER_STATE_DIR || defaultStateDir());
      for (const g of await stopLeftoverGroups(stateDir, KILL_GRACE_MS)) {
        const what = `process group ${g.pgid} of task ${g.taskId}, left by worker ${g.leftoverWorkerId} (pid ${g.leftoverWorkerPid})`;
        if (g.outcome === 'stopped') report('leftover_stopped', { pgid: g.pgid, leftoverTaskId: g.taskId, leftoverWorkerId: g.leftoverWorkerId }, `stopped ${what}`);
        else process.stderr.write(`makima worker: could not stop ${what}\n`);
      }
      const groups = GroupLedger.open(stateDir, workerId);
      const stop = new AbortController();
      // The handlers stay until the process exits (they do not keep it alive): a Ctrl-C that
      // arrives while the worker is already stopping on its own (--once) still ends it cleanly.
      const onSignal = () => stop.abort();
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      report(
        'started',
        { workerId, user: viewer.name, leaseSeconds: opts.leaseSeconds, contractIds: opts.contract ?? null, supervisor: opts.supervisor ?? null },
        `worker ${workerId} (user ${viewer.name}) is waiting for ${claimsWhat(opts)}; Ctrl-C stops it`,
      );
      try {
        await work(client, { ...opts, workerId, report, signal: stop.signal, groups });
      } finally {
        groups?.close();
      }
      report('stopped', { workerId }, `worker ${workerId} stopped`);
    });
}

async function work(client: ApiClient, opts: WorkerOptions & { workerId: string; report: Report; signal: AbortSignal; groups: GroupLedger | undefined }): Promise<void> {
  for (let failures = 0; !opts.signal.aborted; ) {
    let assignment;
    try {
      const input = { workerId: opts.workerId, leaseSeconds: opts.leaseSeconds, waitSeconds: WAIT_SECONDS, contractIds: opts.contract, supervisor: opts.supervisor, remote: opts.workdir !== undefined };
      const data = await client.request(ClaimTask, { input }, opts.signal);
      assignment = data.claimTask.assignment;
      failures = 0;
    } catch (err) {
      if (opts.signal.aborted) return;
      if (err instanceof ApiError || !(err instanceof CliError)) throw err;
      // The server may be restarting: keep trying, a little less often each time.
      const delay = Math.min(10_000, 500 * 2 ** failures++);
      process.stderr.write(`makima worker: ${err.message}; trying again in ${Math.round(delay / 1000)}s\n`);
      await sleep(delay, opts.signal);
      continue;
    }
    if (!assignment) continue;
    const openWorkspace = opts.workdir === undefined ? undefined : remoteWorkspace(opts.workdir, client.token, opts.gitStallSeconds);
    const run = { client, workerId: opts.workerId, leaseSeconds: opts.leaseSeconds, command: opts.command, report: opts.report, signal: opts.signal, closeStdin: opts.closeStdin, openWorkspace, acp: acpOptions(opts), groups: opts.groups };
    const outcome = await runAssignment(run, assignment);
    if (!opts.once) continue;
    if (outcome.kind === 'failed') throw new CliError(`task ${assignment.task.id} failed: ${outcome.error.split('\n')[0]}`);
    if (outcome.kind === 'lost') throw new CliError(`lost task ${assignment.task.id}: ${outcome.reason}`);
    return;
  }
}

/** What the worker claims, in words: "tasks", "supervisors of contract C", "tasks (no supervisors) of contracts C, D". */
function claimsWhat(opts: Pick<WorkerOptions, 'contract' | 'supervisor'>): string {
  const what = opts.supervisor === true ? 'supervisors' : opts.supervisor === false ? 'tasks (no supervisors)' : 'tasks';
  if (!opts.contract?.length) return what;
  return `${what} of contract${opts.contract.length > 1 ? 's' : ''} ${opts.contract.join(', ')}`;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

function reporter(json?: boolean): Report {
  if (json) return (event, details) => println(JSON.stringify({ event, ...details }));
  return (event, _details, text) => println(event === 'claimed' || event === 'completed' ? color.bold(text) : text);
}
