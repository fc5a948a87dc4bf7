// `makima task export <task> [--format md|jsonl] [-o file]`: a task's transcript — Markdown for a
// reviewer (a pull request, an issue), or lossless JSONL that `makima import --source makima` reads back.
import fs from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { graphql } from '../generated/gql/index.js';
import type { CliCommand } from './command.js';
import { clientCommand, clientFrom, type ClientOptions } from './client.js';
import { CliError, printJson } from './output.js';

const Transcript = graphql(`
  query CliTaskTranscript($id: ID!, $format: TranscriptFormat) { task(id: $id) { id name transcript(format: $format) } }
`);

const FORMATS = { md: 'MARKDOWN', markdown: 'MARKDOWN', jsonl: 'JSONL' } as const;

function formatOf(value: string): 'MARKDOWN' | 'JSONL' {
  const format = FORMATS[value.toLowerCase() as keyof typeof FORMATS];
  if (!format) throw new InvalidArgumentError('md or jsonl');
  return format;
}

export const taskExport: CliCommand = {
  name: 'task export',
  aliases: ['task-export'],
  define: (cmd: Command) =>
  void clientCommand(cmd.argument('<task>', 'the task: its number (42), name, id or branch prefix, or ID'))
    .description("write a task's transcript: Markdown for a reviewer, or JSONL that `makima import --source makima` reads back")
    .option('--format <format>', 'md (default) or jsonl', formatOf, 'MARKDOWN' as const)
    .option('-o, --output <file>', 'write to this file instead of standard output')
    .action(async (taskId: string, opts: ClientOptions & { json?: boolean; format: 'MARKDOWN' | 'JSONL'; output?: string }) => {
      const { task } = await clientFrom(opts).request(Transcript, { id: taskId, format: opts.format });
      if (!task) throw new CliError(`task ${taskId} was not found`);
      if (opts.output) {
        try {
          fs.writeFileSync(opts.output, task.transcript);
        } catch (err) {
          throw new CliError(`could not write ${opts.output}: ${(err as Error).message}`);
        }
      }
      if (opts.json) return printJson({ task: { id: task.id, name: task.name }, format: opts.format, output: opts.output ?? null, transcript: opts.output ? undefined : task.transcript });
      if (opts.output) process.stderr.write(`wrote the transcript of ${task.name} (${task.transcript.length.toLocaleString('en-US')} characters) to ${opts.output}\n`);
      else process.stdout.write(task.transcript);
    }),
};
