// `makima conversation rewind <contract> --to <message|snapshot>` (the supervisor's conversation),
// or `--task T` for a task's own: moves the conversation's head back, keeping the old head in a
// backup snapshot.
import type { Command } from 'commander';
import { graphql } from '../generated/gql/index.js';
import type { CliCommand } from './command.js';
import { resolveRewindTarget, supervisorOf } from './arguments.js';
import { clientCommand, clientFrom, type ClientOptions } from './client.js';
import { UsageError, color, printJson, println } from './output.js';

const RewindConversation = graphql(`
  mutation CliRewindConversation($input: RewindConversationInput!) {
    rewindConversation(input: $input) {
      task { id name messageCount headMessage { id index } }
      backupSnapshot { id messageCount }
    }
  }
`);

export const conversationRewind: CliCommand = { name: 'conversation rewind', aliases: ['rewind-conversation'], define: defineRewindConversation };

function defineRewindConversation(cmd: Command): void {
  clientCommand(cmd.argument('[contract]', "contract ID: rewind its supervisor's conversation"))
    .description("move a conversation's head back to a message or snapshot (the old head is kept in a backup snapshot)")
    .requiredOption('--to <target>', 'message ID, snapshot ID, or a checkpoint (#3 or its ID) to use its snapshot; a raw UUID is tried as a message, then as a snapshot')
    .option('--task <task>', "rewind this task's own conversation instead of a contract's supervisor")
    .action(async (contract: string | undefined, opts: ClientOptions & { json?: boolean; to: string; task?: string }) => {
      if (!contract === !opts.task) throw new UsageError('give exactly one of <contract> and --task');
      const client = clientFrom(opts);
      const task = () => (opts.task ? Promise.resolve(opts.task) : supervisorOf(client, contract!));
      const target = await resolveRewindTarget(client, task, opts.to);
      const owner = opts.task ? { taskId: opts.task } : { contractId: contract };
      const { rewindConversation } = await client.request(RewindConversation, { input: { ...owner, ...target } });
      if (opts.json) return printJson(rewindConversation);
      const { task: rewound, backupSnapshot } = rewindConversation;
      println(`rewound the conversation of ${color.bold(rewound.name)} to ${rewound.messageCount} messages (head ${rewound.headMessage?.id ?? 'empty'})`);
      println(color.dim(`the previous head (${backupSnapshot.messageCount} messages) is snapshot ${backupSnapshot.id}; undo: makima conversation rewind --task ${rewound.id} --to ${backupSnapshot.id}`));
    });
}
