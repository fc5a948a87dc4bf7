// `makima task create|list|show`: tasks — one agent's run on its own worktree and branch. `task
// list` (alias `tasks`) is the fleet view: your tasks across contracts with their workers and leases.
import type { ResultOf } from '@graphql-typed-document-node/core';
import { InvalidArgumentError, type Command } from 'commander';
import { graphql } from '../generated/gql/index.js';
import type { TaskFilter, TaskStatus } from '../generated/gql/graphql.js';
import type { CliCommand } from './command.js';
import { clientCommand, clientFrom, type ApiClient, type ClientOptions } from './client.js';
import { displayText } from './display.js';
import { CliError, color, printJson, printTable, println, when } from './output.js';

const STATUSES: TaskStatus[] = ['PENDING', 'RUNNING', 'INTERRUPTED', 'COMPLETED', 'FAILED', 'CANCELLED'];

const CreateTask = graphql(`
  mutation CliCreateTask($input: CreateTaskInput!) {
    createTask(input: $input) {
      task { id number name status branch worktreePath baseCommit contract { id shortName name } continuedFrom { id number name } }
    }
  }
`);

const Fleet = graphql(`
  query CliFleet($first: Int!, $after: String, $filter: TaskFilter) {
    tasks(first: $first, after: $after, filter: $filter) {
      edges { node { id number name status isSupervisor workerId leaseExpiresAt updatedAt contract { id shortName name } } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

const TaskDetails = graphql(`
  query CliTask($id: ID!) {
    task(id: $id) {
      id number name prompt status isSupervisor branch worktreePath baseCommit headCommit messageCount
      pendingReason resumeNote lastError workerId leaseExpiresAt createdAt updatedAt
      agentSession { protocol sessionId agentName agentVersion }
      usage { inputTokens outputTokens costUsd }
      contract { id shortName name phase }
      forkedFrom { id number name } forkedAtCheckpoint { id number } forkedAtMessage { id index }
      continuedFrom { id number name }
      checkpoints(first: 1) { edges { node { id } } }
    }
  }
`);

type JsonOption = ClientOptions & { json?: boolean };
type FleetTask = ResultOf<typeof Fleet>['tasks']['edges'][number]['node'];

/** A task's lease for people: "until <time>" while it holds, "lapsed <time>" after; empty without one. */
export function leaseText(task: { status: string; leaseExpiresAt?: string | null }, now = Date.now()): string {
  if (task.status !== 'RUNNING' || !task.leaseExpiresAt) return '';
  const seconds = Math.round((Date.parse(task.leaseExpiresAt) - now) / 1000);
  return seconds >= 0 ? `${seconds}s left` : `lapsed ${-seconds}s ago`;
}

function collectStatus(value: string, previous: TaskStatus[] = []): TaskStatus[] {
  const statuses = value.split(',').map((s) => s.trim().toUpperCase() as TaskStatus);
  const wrong = statuses.find((s) => !STATUSES.includes(s));
  if (wrong !== undefined) throw new InvalidArgumentError(`"${wrong.toLowerCase()}" is not a status; expected ${STATUSES.map((s) => s.toLowerCase()).join(', ')}`);
  return [...previous, ...statuses];
}

function pageSize(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new InvalidArgumentError('expected a whole number from 1 to 1000');
  return n;
}

export const taskCreate: CliCommand = {
  name: 'task create',
  define: (cmd: Command) =>
    clientCommand(cmd.argument('<contract>', 'the contract: short name, name, id prefix or ID'))
      .description("create a pending task in a contract, on its own worktree and branch; the next worker runs it")
      .requiredOption('--name <name>', "the task's name")
      .option('--prompt <text>', 'what the agent is asked to do')
      .option('--continue-from <task>', "start from this task's latest commit instead of the repository's")
      .action(async (contractId: string, opts: JsonOption & { name: string; prompt?: string; continueFrom?: string }) => {
        const input = { contractId, name: opts.name, prompt: opts.prompt, continueFromTaskId: opts.continueFrom };
        const { createTask } = await clientFrom(opts).request(CreateTask, { input });
        if (opts.json) return printJson(createTask);
        const { task } = createTask;
        println(`created task ${color.bold(`#${task.number}`)} ${task.name} in ${task.contract?.shortName}: ${task.status}`);
        println(`  branch ${task.branch}, worktree ${task.worktreePath}, base ${task.baseCommit?.slice(0, 10)}`);
        if (task.continuedFrom) println(`  continues from #${task.continuedFrom.number} ${task.continuedFrom.name}`);
        println(color.dim('  the next worker that claims work runs it (makima worker --command "<agent>")'));
      }),
};

/** The viewer's tasks that match `filter`, newest first, at most `first` of them. */
export async function fleet(client: ApiClient, filter: TaskFilter, first: number): Promise<FleetTask[]> {
  const tasks: FleetTask[] = [];
  let after: string | undefined;
  while (tasks.length < first) {
    const page = (await client.request(Fleet, { first: Math.min(100, first - tasks.length), after, filter })).tasks;
    tasks.push(...page.edges.map((e) => e.node));
    if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor) break;
    after = page.pageInfo.endCursor;
  }
  return tasks;
}

export const taskList: CliCommand = {
  name: 'task list',
  aliases: ['tasks'],
  define: (cmd: Command) =>
    clientCommand(cmd)
      .description('the fleet: your tasks across contracts, newest first, with the worker that runs each and its lease')
      .option('--status <status>', `only tasks in this status (${STATUSES.map((s) => s.toLowerCase()).join(', ')}); repeatable or comma-separated`, collectStatus)
      .option('--contract <contract>', "only this contract's tasks")
      .option('--worker <worker>', 'only tasks this worker holds or last held')
      .option('--first <n>', 'at most this many tasks', pageSize, 100)
      .action(async (opts: JsonOption & { status?: TaskStatus[]; contract?: string; worker?: string; first: number }) => {
        const filter: TaskFilter = { status: opts.status, contractId: opts.contract, workerId: opts.worker };
        const tasks = await fleet(clientFrom(opts), filter, opts.first);
        if (opts.json) return printJson({ tasks });
        if (!tasks.length) return println(color.dim('no tasks match'));
        await printTable(
          ['#', 'task', 'contract', 'status', 'worker', 'lease', 'updated'],
          tasks.map((t) => [t.number, t.isSupervisor ? `${t.name} (supervisor)` : t.name, t.contract?.shortName, t.status, t.workerId, leaseText(t), when(t.updatedAt)]),
        );
      }),
};

export const taskShow: CliCommand = {
  name: 'task show',
  define: (cmd: Command) =>
    clientCommand(cmd.argument('<task>', 'the task: its number (42), name, id or branch prefix, or ID'))
      .description('show a task: status, worker and lease, worktree and commits, where it came from, why it last failed or was resumed')
      .action(async (id: string, opts: JsonOption) => {
        const { task } = await clientFrom(opts).request(TaskDetails, { id });
        if (!task) throw new CliError(`task ${id} was not found`, 'NOT_FOUND');
        const { checkpoints, ...shown } = { ...task, resumeNote: task.resumeNote && displayText(task.resumeNote) };
        if (opts.json) return printJson({ task: shown });
        println(`${color.bold(`#${task.number}`)} ${color.bold(task.name)} ${color.dim(`· ${task.status}${task.isSupervisor ? ' · supervisor' : ''} · ${task.id}`)}`);
        if (task.contract) println(`  contract   ${task.contract.shortName} (${task.contract.name}), phase ${task.contract.phase}`);
        if (task.prompt) println(`  prompt     ${task.prompt}`);
        if (task.workerId) println(`  worker     ${task.workerId}${task.status === 'RUNNING' ? `, lease ${leaseText(task)}` : ' (last)'}`);
        println(`  branch     ${task.branch ?? '-'}`);
        println(`  worktree   ${task.worktreePath ?? '-'}`);
        println(`  commits    base ${task.baseCommit?.slice(0, 10) ?? '-'}, head ${task.headCommit?.slice(0, 10) ?? '-'}`);
        println(`  messages   ${task.messageCount}${checkpoints.edges.length ? '' : ', no checkpoints yet'}`);
        if (task.forkedFrom) {
          const at = task.forkedAtCheckpoint ? `checkpoint #${task.forkedAtCheckpoint.number}` : `message ${task.forkedAtMessage?.index ?? '?'}`;
          println(`  forked     from #${task.forkedFrom.number} ${task.forkedFrom.name} at ${at}`);
        }
        if (task.continuedFrom) println(`  continues  #${task.continuedFrom.number} ${task.continuedFrom.name}`);
        if (task.pendingReason) println(`  pending    ${task.pendingReason}`);
        if (shown.resumeNote) println(`  resumed    ${shown.resumeNote}`);
        if (task.lastError) println(`  last error ${task.lastError.split('\n')[0]}`);
        const agent = task.agentSession;
        if (agent) println(`  agent      ${agent.agentName ?? 'unnamed'} ${agent.agentVersion ?? ''} (${agent.protocol} session ${agent.sessionId})`.replace('  (', ' ('));
        const usage = usageText(task.usage);
        if (usage) println(`  usage      ${usage}`);
        println(`  created    ${when(task.createdAt)}, updated ${when(task.updatedAt)}`);
        println(color.dim(`  more: makima task history ${task.number} · makima task checkpoints ${task.number} · makima task events ${task.number} --follow`));
      }),
};

/** Tokens and cost as the agent reported them (Task.usage); null when it reported none. */
function usageText(usage: { inputTokens?: number | null; outputTokens?: number | null; costUsd?: number | null }): string | null {
  const parts = [
    usage.inputTokens == null ? null : `${usage.inputTokens.toLocaleString('en-US')} input tokens`,
    usage.outputTokens == null ? null : `${usage.outputTokens.toLocaleString('en-US')} output tokens`,
    usage.costUsd == null ? null : `$${usage.costUsd.toFixed(4)}`,
  ].filter((p) => p !== null);
  return parts.length ? parts.join(', ') : null;
}
