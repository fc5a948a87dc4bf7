// `makima task fork <task> [--checkpoint C | --message M] [--name N]`: a new task from a point of
// another — its code at a checkpoint and the conversation up to there; the original is untouched.
import type { Command } from 'commander';
import { graphql } from '../generated/gql/index.js';
import type { CliCommand } from './command.js';
import { resolveCheckpoint } from './arguments.js';
import { clientCommand, clientFrom, type ClientOptions } from './client.js';
import { UsageError, color, printJson, println } from './output.js';

const ForkTask = graphql(`
  mutation CliForkTask($input: ForkTaskInput!) {
    forkTask(input: $input) {
      task {
        id name status branch worktreePath headCommit messageCount
        forkedFrom { id name }
        forkedAtCheckpoint { id number }
        forkedAtMessage { id index }
      }
    }
  }
`);

export const taskFork: CliCommand = { name: 'task fork', aliases: ['task-fork'], define: defineTaskFork };

function defineTaskFork(cmd: Command): void {
  clientCommand(cmd.argument('<task>', 'the task: its number (42), name, id or branch prefix, or ID'))
    .description('fork a task at a checkpoint or a message: a new pending task with its own worktree and branch')
    .option('--checkpoint <checkpoint>', 'fork at this checkpoint (ID, or its number like #3)')
    .option('--message <message>', 'fork at this message of the conversation (ID)')
    .option('--name <name>', 'name of the new task (default: "<name> (fork)")')
    .action(async (task: string, opts: ClientOptions & { json?: boolean; checkpoint?: string; message?: string; name?: string }) => {
      if (!opts.checkpoint === !opts.message) throw new UsageError('give exactly one of --checkpoint and --message');
      const client = clientFrom(opts);
      const checkpointId = opts.checkpoint ? await resolveCheckpoint(client, task, opts.checkpoint) : undefined;
      const { forkTask } = await client.request(ForkTask, { input: { taskId: task, checkpointId, messageId: opts.message, name: opts.name } });
      if (opts.json) return printJson(forkTask);
      const fork = forkTask.task;
      const at = fork.forkedAtCheckpoint ? `checkpoint #${fork.forkedAtCheckpoint.number}` : `message ${fork.forkedAtMessage?.index ?? opts.message}`;
      println(`forked ${color.bold(fork.forkedFrom?.name ?? task)} at ${at} → ${color.bold(fork.name)} (${fork.id})`);
      println(`  branch ${fork.branch}, worktree ${fork.worktreePath}, commit ${fork.headCommit?.slice(0, 10)}, ${fork.messageCount} messages`);
      println(color.dim(`  it is ${fork.status}: the next worker that claims work runs it`));
    });
}
