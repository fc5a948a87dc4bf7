// `makima task snapshots <task>` (alias `snapshots`): the saved points of a task's conversation —
// automatic, manual, and those taken with each checkpoint — which rewinds, resumes and forks take.
import type { Command } from 'commander';
import { graphql } from '../generated/gql/index.js';
import type { CliCommand } from './command.js';
import { allNodes, clientCommand, clientFrom, type ClientOptions } from './client.js';
import { color, printJson, printTable, println, summarize, when } from './output.js';

const TaskSnapshots = graphql(`
  query CliTaskSnapshots($task: ID!, $after: String) {
    task(id: $task) {
      id name
      snapshots(first: 100, after: $after) {
        edges { node { id snapshotType messageCount metadata createdAt checkpoint { id number } headMessage { id index } } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
`);

export const taskSnapshots: CliCommand = {
  name: 'task snapshots',
  aliases: ['snapshots'],
  define: (cmd: Command) =>
    clientCommand(cmd.argument('<task>', 'the task: its number (42), name, id or branch prefix, or ID'))
      .description("list a task's conversation snapshots: type, messages, checkpoint, time (rewind to one with makima conversation rewind)")
      .action(async (task: string, opts: ClientOptions & { json?: boolean }) => {
        const client = clientFrom(opts);
        let found: { id: string; name: string } | undefined;
        const snapshots = await allNodes(async (after) => {
          const data = await client.request(TaskSnapshots, { task, after });
          found = { id: data.task!.id, name: data.task!.name };
          return data.task!.snapshots;
        });
        if (opts.json) return printJson({ task: found, snapshots });
        if (!snapshots.length) return println(`task ${found!.name} has no snapshots yet`);
        await printTable(
          ['id', 'type', 'messages', 'checkpoint', 'metadata', 'time'],
          snapshots.map((s) => [s.id, s.snapshotType.toLowerCase(), s.messageCount, s.checkpoint ? `#${s.checkpoint.number}` : '', s.metadata == null ? '' : summarize(s.metadata, 40), when(s.createdAt)]),
          { keep: [0] }, // the ID the hint below asks for
        );
        println(color.dim(`rewind to one, like the first: makima conversation rewind --task ${found!.id} --to ${snapshots[0].id}`));
      }),
};
