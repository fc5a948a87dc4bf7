// `makima task cancel <task> [--reason R]`, `makima task archive <task>`, `makima contract archive <contract>`
// (also `task-cancel`, `task-archive`, `contract-archive`):
// stop a task, and clean up the worktrees and branches of finished work (docs/api.md, "Cancel and archive").
import type { Command } from 'commander';
import { graphql } from '../generated/gql/index.js';
import type { CliCommand } from './command.js';
import { clientCommand, clientFrom, type ClientOptions } from './client.js';
import { color, printJson, println } from './output.js';

const CancelTask = graphql(`
  mutation CliCancelTask($input: CancelTaskInput!) { cancelTask(input: $input) { task { id name status workerId cancelRequestedAt cancelReason } } }
`);

const ArchiveTask = graphql(`
  mutation CliArchiveTask($input: ArchiveTaskInput!) { archiveTask(input: $input) { task { id name status archivedAt headCommit } } }
`);

const ArchiveContract = graphql(`
  mutation CliArchiveContract($input: ArchiveContractInput!) {
    archiveContract(input: $input) { contract { id name archivedAt tasks(first: 100) { edges { node { id name archivedAt } } } } }
  }
`);

export const taskCancel: CliCommand = {
  name: 'task cancel',
  aliases: ['task-cancel'],
  define: (cmd: Command) =>
  void clientCommand(cmd.argument('<task>', 'the task: its number (42), name, id or branch prefix, or ID'))
    .description('cancel a task: a pending one at once; a running one is stopped by its worker at its next renew or report')
    .option('--reason <reason>', 'why (shown to the worker and in the history)')
    .action(async (task: string, opts: ClientOptions & { json?: boolean; reason?: string }) => {
      const { cancelTask } = await clientFrom(opts).request(CancelTask, { input: { taskId: task, reason: opts.reason } });
      if (opts.json) return printJson(cancelTask);
      const t = cancelTask.task;
      if (t.status === 'CANCELLED') return println(`cancelled ${color.bold(t.name)} (${t.id})`);
      println(`asked ${color.bold(t.name)} (${t.id}) to stop: worker ${t.workerId ?? '?'} stops its agent at its next renew or report, and the task ends CANCELLED`);
    }),
};

export const taskArchive: CliCommand = {
  name: 'task archive',
  aliases: ['task-archive'],
  define: (cmd: Command) =>
  void clientCommand(cmd.argument('<task>', 'the task: its number (42), name, id or branch prefix, or ID'))
    .description("archive a finished task: remove its worktree and branch; its checkpoints stay under refs/makima/ (fork or branch from them)")
    .action(async (task: string, opts: ClientOptions & { json?: boolean }) => {
      const { archiveTask } = await clientFrom(opts).request(ArchiveTask, { input: { taskId: task } });
      if (opts.json) return printJson(archiveTask);
      const t = archiveTask.task;
      println(`archived ${color.bold(t.name)} (${t.id}); its last commit ${t.headCommit?.slice(0, 10) ?? '?'} is kept under refs/makima/archived/`);
    }),
};

export const contractArchive: CliCommand = {
  name: 'contract archive',
  aliases: ['contract-archive'],
  define: (cmd: Command) =>
  void clientCommand(cmd.argument('<contract>', 'the contract: short name, name, id prefix or ID'))
    .description('archive a contract and every task of it (none may be pending or running)')
    .action(async (contract: string, opts: ClientOptions & { json?: boolean }) => {
      const { archiveContract } = await clientFrom(opts).request(ArchiveContract, { input: { contractId: contract } });
      if (opts.json) return printJson(archiveContract);
      const c = archiveContract.contract;
      println(`archived contract ${color.bold(c.name)} (${c.id}) and its ${c.tasks.edges.length} tasks`);
    }),
};
