// `makima task rewind <task> <checkpoint> [--mode code|conversation|both]`: puts a task's code
// and/or conversation back to a checkpoint; what was there before is kept as a backup to undo it.
import { Option, type Command } from 'commander';
import { graphql } from '../generated/gql/index.js';
import type { CliCommand } from './command.js';
import { resolveCheckpoint } from './arguments.js';
import { clientCommand, clientFrom, type ClientOptions } from './client.js';
import { color, printJson, println } from './output.js';

const RewindTask = graphql(`
  mutation CliRewindTask($input: RewindTaskInput!) {
    rewindTask(input: $input) {
      task { id name status headCommit messageCount }
      backupCheckpoint { id number commitSha message }
      backupSnapshot { id messageCount }
    }
  }
`);

const MODES = ['code', 'conversation', 'both'] as const;

export const taskRewind: CliCommand = { name: 'task rewind', aliases: ['task-rewind'], define: defineTaskRewind };

function defineTaskRewind(cmd: Command): void {
  clientCommand(
    cmd
      .argument('<task>', 'the task: its number (42), name, id or branch prefix, or ID')
      .argument('<checkpoint>', 'checkpoint ID, or its number like #3'),
  )
    .description("rewind a task's code (worktree and branch), conversation, or both to a checkpoint")
    .addOption(new Option('--mode <mode>', 'what to rewind').choices(MODES).default('code'))
    .action(async (task: string, checkpointArg: string, opts: ClientOptions & { json?: boolean; mode: (typeof MODES)[number] }) => {
      const client = clientFrom(opts);
      const checkpointId = await resolveCheckpoint(client, task, checkpointArg);
      const mode = opts.mode.toUpperCase() as 'CODE' | 'CONVERSATION' | 'BOTH';
      const { rewindTask } = await client.request(RewindTask, { input: { taskId: task, checkpointId, mode } });
      if (opts.json) return printJson(rewindTask);
      const { task: rewound, backupCheckpoint, backupSnapshot } = rewindTask;
      println(`rewound ${color.bold(rewound.name)} to checkpoint ${checkpointArg} (${mode.toLowerCase()})`);
      if (backupCheckpoint) {
        println(`  code: now at ${rewound.headCommit?.slice(0, 10)}; the worktree before the rewind is checkpoint #${backupCheckpoint.number} (${backupCheckpoint.commitSha.slice(0, 10)})`);
      }
      if (backupSnapshot) {
        println(`  conversation: now ${rewound.messageCount} messages; the previous head is snapshot ${backupSnapshot.id} (${backupSnapshot.messageCount} messages)`);
      }
      if (backupCheckpoint) println(color.dim(`undo (code): makima task rewind ${rewound.id} '#${backupCheckpoint.number}'`));
      if (backupSnapshot) println(color.dim(`undo (conversation): makima conversation rewind --task ${rewound.id} --to ${backupSnapshot.id}`));
    });
}
