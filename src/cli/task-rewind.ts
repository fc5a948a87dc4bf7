// `makima task rewind <task> <checkpoint> [--mode code|conversation|both] [--working-tree]`: puts a
// task's code and/or conversation back to a checkpoint; what was there before is kept as a backup to
// undo it. With --working-tree, a captured task's files are set in the user's own working tree too
// (task-rewind-working-tree.ts).
import { Option, type Command } from 'commander';
import { graphql } from '../generated/gql/index.js';
import type { CliCommand } from './command.js';
import { resolveCheckpoint } from './arguments.js';
import { clientCommand, clientFrom, type ClientOptions } from './client.js';
import { color, printJson, println, UsageError } from './output.js';
import { rewindWorkingTree } from './task-rewind-working-tree.js';

const RewindTask = graphql(`
  mutation CliRewindTask($input: RewindTaskInput!) {
    rewindTask(input: $input) {
      task { id name status headCommit messageCount branch }
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
    .option('--working-tree', "for a captured or imported task (no worktree of its own): also set the files of this directory's repository to the checkpoint's, after saving them as the backup checkpoint")
    .action(async (task: string, checkpointArg: string, opts: ClientOptions & { json?: boolean; mode: (typeof MODES)[number]; workingTree?: boolean }) => {
      const client = clientFrom(opts);
      const mode = opts.mode.toUpperCase() as 'CODE' | 'CONVERSATION' | 'BOTH';
      if (opts.workingTree && mode === 'CONVERSATION') throw new UsageError('--working-tree sets files, which a conversation rewind does not move: use --mode code or --mode both');
      const checkpointId = await resolveCheckpoint(client, task, checkpointArg);
      const rewind = async (workingTreeCommit?: string) => (await client.request(RewindTask, { input: { taskId: task, checkpointId, mode, workingTreeCommit } })).rewindTask;
      const here = opts.workingTree ? await rewindWorkingTree(client, { task, checkpointArg, checkpointId, cwd: process.cwd() }, rewind) : null;
      const rewindTask = here ? here.rewound : await rewind();
      if (opts.json) return printJson(here ? { ...rewindTask, workingTree: here.repo } : rewindTask);
      const { task: rewound, backupCheckpoint, backupSnapshot } = rewindTask;
      println(`rewound ${color.bold(rewound.name)} to checkpoint ${checkpointArg} (${mode.toLowerCase()})`);
      if (backupCheckpoint && here) {
        println(`  files: ${here.repo} now holds checkpoint ${checkpointArg}'s (your HEAD, branch, index and stash unmoved); what it held is checkpoint #${backupCheckpoint.number} (${backupCheckpoint.commitSha.slice(0, 10)})`);
      } else if (backupCheckpoint) {
        println(`  code: now at ${rewound.headCommit?.slice(0, 10)}; the worktree before the rewind is checkpoint #${backupCheckpoint.number} (${backupCheckpoint.commitSha.slice(0, 10)})`);
        if (!rewound.branch) println(color.dim('  the task has no worktree: your own files were not touched (--working-tree sets them too)'));
      }
      if (backupSnapshot) {
        println(`  conversation: now ${rewound.messageCount} messages; the previous head is snapshot ${backupSnapshot.id} (${backupSnapshot.messageCount} messages)`);
      }
      if (backupCheckpoint) println(color.dim(`undo (code): makima task rewind ${rewound.id} '#${backupCheckpoint.number}'${here ? ' --working-tree' : ''}`));
      if (backupSnapshot) println(color.dim(`undo (conversation): makima conversation rewind --task ${rewound.id} --to ${backupSnapshot.id}`));
    });
}
