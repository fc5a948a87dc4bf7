// `makima task diff <task> [a] [b]`: what a task's code changed, as git shows it — the latest
// checkpoint against the one it was built on; checkpoint a against the one it was built on; or
// from checkpoint a to checkpoint b. Checkpoints by number (#3 or 3) or ID.
import type { Command } from 'commander';
import { graphql } from '../generated/gql/index.js';
import { resolveCheckpoint } from './arguments.js';
import type { CliCommand } from './command.js';
import { clientCommand, clientFrom, type ClientOptions } from './client.js';
import { CliError, color, printJson, println } from './output.js';
import { taskCheckpoints } from './task-checkpoints.js';

const CheckpointDiff = graphql(`
  query CliCheckpointDiff($checkpoint: ID!, $against: ID) {
    node(id: $checkpoint) {
      __typename
      ... on Checkpoint {
        id number commitSha message
        diff(against: $against) {
          against { id number commitSha }
          baseCommit
          files { path status additions deletions }
          patch truncated
        }
      }
    }
  }
`);

export function colorPatch(patch: string): string {
  return patch
    .split('\n')
    .map((line) => {
      if (line.startsWith('+++') || line.startsWith('---') || line.startsWith('diff ')) return color.bold(line);
      if (line.startsWith('+')) return color.green(line);
      if (line.startsWith('-')) return color.red(line);
      if (line.startsWith('@@')) return color.cyan(line);
      return line;
    })
    .join('\n');
}

export const taskDiff: CliCommand = {
  name: 'task diff',
  define: (cmd: Command) =>
    clientCommand(
      cmd
        .argument('<task>', 'the task: its number (42), name, id or branch prefix, or ID')
        .argument('[a]', 'a checkpoint (#3, 3 or its ID); alone: its changes; default: the latest checkpoint')
        .argument('[b]', 'a second checkpoint: the changes from a to b'),
    )
      .description("show a task's code changes between checkpoints as a unified diff, with the files changed")
      .option('--stat', 'only the files changed, with their added and deleted lines')
      .action(async (task: string, a: string | undefined, b: string | undefined, opts: ClientOptions & { json?: boolean; stat?: boolean }) => {
        const client = clientFrom(opts);
        let checkpoint: string;
        let against: string | undefined;
        if (a === undefined) {
          const { task: found, checkpoints } = await taskCheckpoints(client, task);
          const latest = checkpoints.at(-1);
          if (!latest) throw new CliError(`task ${found.name} (${found.id}) has no checkpoints yet: nothing to diff`, 'NOT_FOUND');
          checkpoint = latest.id;
        } else if (b === undefined) {
          checkpoint = await resolveCheckpoint(client, task, a);
        } else {
          against = await resolveCheckpoint(client, task, a);
          checkpoint = await resolveCheckpoint(client, task, b);
        }
        const { node } = await client.request(CheckpointDiff, { checkpoint, against });
        if (node?.__typename !== 'Checkpoint') throw new CliError(`checkpoint ${checkpoint} was not found`, 'NOT_FOUND');
        const { diff } = node;
        if (opts.json) return printJson({ checkpoint: { id: node.id, number: node.number, commitSha: node.commitSha, message: node.message }, ...diff });
        const from = diff.against ? `checkpoint #${diff.against.number} (${diff.against.commitSha.slice(0, 10)})` : `the base commit ${diff.baseCommit.slice(0, 10)}`;
        println(color.bold(`checkpoint #${node.number} (${node.commitSha.slice(0, 10)}) ${node.message}, against ${from}`));
        if (!diff.files.length) return println(color.dim('no changes'));
        for (const f of diff.files) println(` ${f.status.toLowerCase().replace('_', ' ').padEnd(12)} ${f.path}  ${color.green(`+${f.additions}`)} ${color.red(`-${f.deletions}`)}`);
        if (opts.stat) return;
        println();
        process.stdout.write(colorPatch(diff.patch));
        if (!diff.patch.endsWith('\n')) println();
        if (diff.truncated) println(color.yellow('… the patch was cut at 256 KiB; the file list above is complete'));
      }),
};
