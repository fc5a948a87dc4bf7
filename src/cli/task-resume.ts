// `makima task resume [task]`: an interrupted or failed task becomes pending again, so that the
// next worker runs it with its full context. On a terminal, without a task, it offers the latest
// interrupted and failed tasks to pick from.
import type { Command } from 'commander';
import { graphql } from '../generated/gql/index.js';
import type { CliCommand } from './command.js';
import { clientCommand, clientFrom, type ApiClient, type ClientOptions } from './client.js';
import { withDisplayedNote } from './display.js';
import { color, printJson, println, printTable, UsageError, when } from './output.js';
import { resolveRef } from './refs.js';
import { fleet } from './task.js';

const ResumeTask = graphql(`
  mutation CliResumeTask($input: ResumeTaskInput!) {
    resumeTask(input: $input) {
      task { id name status pendingReason resumeNote messageCount }
    }
  }
`);

export const taskResume: CliCommand = { name: 'task resume', aliases: ['task-resume'], define: defineTaskResume };

function defineTaskResume(cmd: Command): void {
  clientCommand(cmd.argument('[task]', 'the task: its number (42), name, id or branch prefix, or ID; on a terminal, without it, pick one of the latest interrupted or failed'))
    .description('resume an interrupted or failed task; the next worker receives it with its full context')
    .action(async (taskArg: string | undefined, opts: ClientOptions & { json?: boolean }) => {
      const client = clientFrom(opts);
      const taskId = taskArg ?? (await pickTask(client, opts));
      if (!taskId) return;
      const resumeTask = withDisplayedNote((await client.request(ResumeTask, { input: { taskId } })).resumeTask);
      if (opts.json) return printJson(resumeTask);
      const { task } = resumeTask;
      println(`resumed ${color.bold(task.name)} (${task.id}): ${task.status}, ${task.messageCount} messages`);
      if (task.resumeNote) println(color.dim(`  ${task.resumeNote}`));
      println(color.dim('  the next worker that claims work receives it with its full context'));
    });
}

/** How many of the latest interrupted and failed tasks the picker offers. */
const OFFERED = 10;

/**
 * The task a person picks, on a terminal, from the latest interrupted and failed tasks — by its
 * number, name or any reference a command takes (refs.ts); undefined when there is none or they
 * pick none. Anywhere else (a script, a pipe, --json) the task must be named.
 */
async function pickTask(client: ApiClient, opts: { json?: boolean }): Promise<string | undefined> {
  if (opts.json || !process.stdin.isTTY || !process.stdout.isTTY) {
    throw new UsageError("name the task to resume, like 'makima task resume 42' (on a terminal, without one, you pick from the interrupted and failed)");
  }
  const tasks = await fleet(client, { status: ['INTERRUPTED', 'FAILED'] }, OFFERED);
  if (!tasks.length) {
    println('no interrupted or failed task to resume');
    return undefined;
  }
  println(`the latest interrupted or failed tasks:`);
  await printTable(
    ['#', 'task', 'contract', 'status', 'updated'],
    tasks.map((t) => [t.number, t.name, t.contract?.shortName, t.status, when(t.updatedAt)]),
  );
  const answer = await ask(`resume which? (its #, like ${tasks[0].number}; Enter for none) `);
  return answer ? resolveRef(client, 'Task', answer) : undefined;
}

/** One line typed at the terminal, after `question` (on stderr, so that stdout keeps only results). */
async function ask(question: string): Promise<string> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}
