// `makima task resume <task>`: an interrupted or failed task becomes pending again, so that the
// next worker runs it with its full context.
import type { Command } from 'commander';
import { graphql } from '../generated/gql/index.js';
import type { CliCommand } from './command.js';
import { clientCommand, clientFrom, type ClientOptions } from './client.js';
import { withDisplayedNote } from './display.js';
import { color, printJson, println } from './output.js';

const ResumeTask = graphql(`
  mutation CliResumeTask($input: ResumeTaskInput!) {
    resumeTask(input: $input) {
      task { id name status pendingReason resumeNote messageCount }
    }
  }
`);

export const taskResume: CliCommand = { name: 'task resume', aliases: ['task-resume'], define: defineTaskResume };

function defineTaskResume(cmd: Command): void {
  clientCommand(cmd.argument('<task>', 'the task: its number (42), name, id or branch prefix, or ID'))
    .description('resume an interrupted or failed task; the next worker receives it with its full context')
    .action(async (taskArg: string, opts: ClientOptions & { json?: boolean }) => {
      const resumeTask = withDisplayedNote((await clientFrom(opts).request(ResumeTask, { input: { taskId: taskArg } })).resumeTask);
      if (opts.json) return printJson(resumeTask);
      const { task } = resumeTask;
      println(`resumed ${color.bold(task.name)} (${task.id}): ${task.status}, ${task.messageCount} messages`);
      if (task.resumeNote) println(color.dim(`  ${task.resumeNote}`));
      println(color.dim('  the next worker that claims work receives it with its full context'));
    });
}
