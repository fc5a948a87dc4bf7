// `makima task checkpoints <task>`: a task's checkpoints as a table (number, commit, message, files
// changed, whether it is a backup made by a rewind, time), or JSON.
import type { Command } from 'commander';
import { graphql } from '../generated/gql/index.js';
import type { CliCommand } from './command.js';
import { allNodes, clientCommand, clientFrom, type ApiClient, type ClientOptions } from './client.js';
import { color, printJson, printTable, println, when } from './output.js';

const TaskCheckpoints = graphql(`
  query CliTaskCheckpoints($task: ID!, $after: String) {
    task(id: $task) {
      id
      name
      checkpoints(first: 100, after: $after) {
        edges {
          node {
            id number commitSha message branch isBackup createdAt
            filesChanged { path status additions deletions }
            snapshot { id messageCount }
          }
        }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
`);

export type CheckpointRow = NonNullable<Awaited<ReturnType<typeof taskCheckpoints>>>['checkpoints'][number];

/** The task (id, name) and all of its checkpoints, oldest first. */
export async function taskCheckpoints(client: ApiClient, task: string) {
  let found: { id: string; name: string } | undefined;
  const checkpoints = await allNodes(async (after) => {
    const data = await client.request(TaskCheckpoints, { task, after });
    found = { id: data.task!.id, name: data.task!.name };
    return data.task!.checkpoints;
  });
  return { task: found!, checkpoints };
}

export const taskCheckpointsCommand: CliCommand = { name: 'task checkpoints', aliases: ['task-checkpoints'], define: defineTaskCheckpoints };

function defineTaskCheckpoints(cmd: Command): void {
  clientCommand(cmd.argument('<task>', 'the task: its number (42), name, id or branch prefix, or ID'))
    .description("list a task's checkpoints: number, commit, message, files changed, backup, time")
    .action(async (task: string, opts: ClientOptions & { json?: boolean }) => {
      const { task: found, checkpoints } = await taskCheckpoints(clientFrom(opts), task);
      if (opts.json) return printJson({ task: found, checkpoints });
      if (!checkpoints.length) return println(`task ${found.name} has no checkpoints yet`);
      await printTable(
        ['#', 'sha', 'message', 'files', 'backup', 'time'],
        checkpoints.map((c) => [
          `#${c.number}`,
          color.yellow(c.commitSha.slice(0, 10)),
          c.message,
          filesSummary(c.filesChanged),
          c.isBackup ? 'backup' : '',
          when(c.createdAt),
        ]),
      );
    });
}

function filesSummary(files: { additions: number; deletions: number }[]): string {
  if (!files.length) return '0';
  const added = files.reduce((n, f) => n + f.additions, 0);
  const deleted = files.reduce((n, f) => n + f.deletions, 0);
  return `${files.length} (${color.green(`+${added}`)} ${color.red(`-${deleted}`)})`;
}
