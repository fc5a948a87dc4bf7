// `makima task compare <a> <b> [--patch]`: two runs of one contract side by side (docs/cli.md) —
// where their conversations part and what each says after, then the code at their heads as
// `git diff --stat` shows it (and the patch on request). The API resolves both references.
import type { Command } from 'commander';
import { graphql } from '../generated/gql/index.js';
import type { CliCommand } from './command.js';
import { clientCommand, clientFrom, type ClientOptions } from './client.js';
import { color, printJson, println, summarize } from './output.js';
import { colorPatch } from './task-diff.js';
import { foldThoughts, ROLE_COLORS } from './task-history.js';

/** How many of each side's own messages the summary shows. */
const SHOWN = 3;

const CompareTasks = graphql(`
  query CliCompareTasks($a: String!, $b: String!, $first: Int!, $patch: Boolean!) {
    compareTasks(a: $a, b: $b) {
      a { id number name }
      b { id number name }
      conversation {
        commonPrefixLength sharedMessageCount
        lastCommonMessage { id index role content }
        onlyInA { count messages(first: $first) { id index role content } }
        onlyInB { count messages(first: $first) { id index role content } }
      }
      code {
        available unavailableReason fromCommit toCommit additions deletions
        files { path status additions deletions binary }
        patch @include(if: $patch)
        truncated @include(if: $patch)
      }
    }
  }
`);

type Message = { index: number; role: string; content: unknown };
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** A message in one line, numbered from 1 as the browser view numbers them. */
function messageLine(m: Message): string {
  return `${m.index + 1}. ${(ROLE_COLORS[m.role] ?? String)(m.role.toLowerCase().padEnd(10))} ${summarize(foldThoughts(m.content), 100)}`;
}

function printSide(label: string, side: { count: number; messages: Message[] }): void {
  println(`  only in ${label}: ${plural(side.count, 'message')}`);
  for (const m of side.messages) println(`    ${messageLine(m)}`);
  if (side.count > side.messages.length) println(color.dim(`    … and ${side.count - side.messages.length} more (makima task history shows them all)`));
}

export const taskCompare: CliCommand = {
  name: 'task compare',
  define: (cmd: Command) =>
    clientCommand(
      cmd
        .argument('<a>', 'a task of the contract: its number (42), name, id or branch prefix, or ID')
        .argument('<b>', 'another task of the same contract (a fork of a, say); the diff goes from a to b'),
    )
      .description("compare two tasks of one contract: where their conversations part, and the diff between their code's heads")
      .option('--patch', 'show the unified diff after the list of files')
      .action(async (a: string, b: string, opts: ClientOptions & { json?: boolean; patch?: boolean }) => {
        const client = clientFrom(opts);
        const { compareTasks: c } = await client.request(CompareTasks, { a, b, first: SHOWN, patch: Boolean(opts.patch) });
        if (opts.json) return printJson(c);
        const name = (t: { number: number; name: string }) => `#${t.number} ${t.name}`;
        println(color.bold(`a: ${name(c.a)}   b: ${name(c.b)}`));
        println();

        const conv = c.conversation;
        const shared = conv.sharedMessageCount ? ` (${conv.sharedMessageCount} of them the same messages, shared by a fork)` : '';
        println(color.bold('conversation'));
        println(`  ${plural(conv.commonPrefixLength, 'message')} in common${shared}`);
        if (conv.lastCommonMessage) println(`  last in common: ${messageLine(conv.lastCommonMessage)}`);
        printSide('a', conv.onlyInA);
        printSide('b', conv.onlyInB);
        println();

        const code = c.code;
        if (!code.available) {
          println(color.bold('code'));
          return println(`  ${code.unavailableReason}`);
        }
        println(color.bold(`code: a's head ${code.fromCommit?.slice(0, 10)} → b's head ${code.toCommit?.slice(0, 10)}`));
        if (!code.files.length) return println(color.dim('  no changes'));
        for (const f of code.files) {
          const counts = f.binary ? color.dim('binary') : `${color.green(`+${f.additions}`)} ${color.red(`-${f.deletions}`)}`;
          println(` ${f.status.toLowerCase().replace('_', ' ').padEnd(12)} ${f.path}  ${counts}`);
        }
        println(` ${plural(code.files.length, 'file')} changed, ${plural(code.additions, 'insertion')}(+), ${plural(code.deletions, 'deletion')}(-)`);
        if (!opts.patch || code.patch == null) return;
        println();
        process.stdout.write(colorPatch(code.patch));
        if (!code.patch.endsWith('\n')) println();
        if (code.truncated) println(color.yellow('… the patch was cut at 256 KiB; the file list above is complete'));
      }),
};
