// `makima task resume-from <task> <checkpoint>`: resumes an interrupted or failed task from a
// checkpoint — its code and conversation are rewound there (the state before is kept as backups),
// and the next worker runs it from that point.
import type { Command } from 'commander';
import { graphql } from '../generated/gql/index.js';
import type { CliCommand } from './command.js';
import { resolveCheckpoint } from './arguments.js';
import { clientCommand, clientFrom, type ClientOptions } from './client.js';
import { withDisplayedNote } from './display.js';
import { color, printJson, println } from './output.js';

const ResumeTaskFromCheckpoint = graphql(`
  mutation CliResumeTaskFromCheckpoint($input: ResumeTaskFromCheckpointInput!) {
    resumeTaskFromCheckpoint(input: $input) {
      task { id name status pendingReason resumeNote headCommit messageCount }
      backupCheckpoint { id number commitSha }
      backupSnapshot { id messageCount }
    }
  }
`);

export const taskResumeFrom: CliCommand = { name: 'task resume-from', aliases: ['task-resume-from'], define: defineTaskResumeFrom };

function defineTaskResumeFrom(cmd: Command): void {
  clientCommand(
    cmd
      .argument('<task>', 'the task: its number (42), name, id or branch prefix, or ID')
      .argument('<checkpoint>', 'checkpoint ID, or its number like #3'),
  )
    .description('resume an interrupted or failed task from a checkpoint: code and conversation are rewound to it first')
    .action(async (taskArg: string, checkpointArg: string, opts: ClientOptions & { json?: boolean }) => {
      const client = clientFrom(opts);
      const checkpointId = await resolveCheckpoint(client, taskArg, checkpointArg);
      const resumed = withDisplayedNote((await client.request(ResumeTaskFromCheckpoint, { input: { taskId: taskArg, checkpointId } })).resumeTaskFromCheckpoint);
      if (opts.json) return printJson(resumed);
      const { task, backupCheckpoint, backupSnapshot } = resumed;
      println(`resumed ${color.bold(task.name)} (${task.id}) from checkpoint ${checkpointArg}: ${task.status}, commit ${task.headCommit?.slice(0, 10)}, ${task.messageCount} messages`);
      if (backupCheckpoint) println(color.dim(`  the worktree before is checkpoint #${backupCheckpoint.number} (${backupCheckpoint.commitSha.slice(0, 10)})`));
      if (backupSnapshot) println(color.dim(`  the conversation before is snapshot ${backupSnapshot.id} (${backupSnapshot.messageCount} messages)`));
      println(color.dim('  the next worker that claims work receives it with its full context'));
    });
}
