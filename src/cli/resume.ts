// `makima contract resume <contract> [--from-snapshot S]`: resumes a contract's interrupted or failed
// supervisor — optionally from one of its snapshots — so that the next worker runs it again with
// its full context.
import type { Command } from 'commander';
import { graphql } from '../generated/gql/index.js';
import type { CliCommand } from './command.js';
import { resolveSnapshot, supervisorOf } from './arguments.js';
import { clientCommand, clientFrom, type ClientOptions } from './client.js';
import { withDisplayedNote } from './display.js';
import { color, printJson, println } from './output.js';

const ResumeSupervisor = graphql(`
  mutation CliResumeSupervisor($input: ResumeSupervisorInput!) {
    resumeSupervisor(input: $input) {
      task { id name status pendingReason resumeNote messageCount }
      backupSnapshot { id messageCount }
    }
  }
`);

export const contractResume: CliCommand = { name: 'contract resume', aliases: ['resume'], define: defineResume };

function defineResume(cmd: Command): void {
  clientCommand(cmd.argument('<contract>', 'the contract: short name, name, id prefix or ID'))
    .description("resume a contract's interrupted or failed supervisor; the next worker receives it with its full context")
    .option('--from-snapshot <snapshot>', "first rewind the supervisor's conversation to this snapshot (ID, or #3: the snapshot of its checkpoint 3)")
    .action(async (contract: string, opts: ClientOptions & { json?: boolean; fromSnapshot?: string }) => {
      const client = clientFrom(opts);
      const fromSnapshotId = opts.fromSnapshot ? await resolveSnapshot(client, () => supervisorOf(client, contract), opts.fromSnapshot) : undefined;
      const resumeSupervisor = withDisplayedNote((await client.request(ResumeSupervisor, { input: { contractId: contract, fromSnapshotId } })).resumeSupervisor);
      if (opts.json) return printJson(resumeSupervisor);
      const { task, backupSnapshot } = resumeSupervisor;
      println(`resumed ${color.bold(task.name)} (${task.id}): ${task.status}, ${task.messageCount} messages`);
      if (task.resumeNote) println(color.dim(`  ${task.resumeNote}`));
      if (backupSnapshot) println(color.dim(`  undo the rewind: makima conversation rewind ${contract} --to ${backupSnapshot.id}`));
      println(color.dim('  the next worker that claims work receives it with its full context'));
    });
}
