// `makima completion bash|zsh|fish`: a completion script for that shell (docs/cli.md, "Shell
// completion"). The script is generated from the commander program itself — every command, its
// `noun verb` subcommands, its options and their choices — so it cannot drift from the commands.
import { Argument, type Command } from 'commander';
import { commandPath, everyCommand, type CliCommand } from './command.js';
import { SCRIPTS, type CompletionNode, type Shell } from './completion-scripts.js';

/** A one-line description for the shells that show one. */
const oneLine = (text: string) => text.split('\n')[0].trim();

/** Every command of `program` (aliases included), as the completion scripts see it. */
export function completionTree(program: Command): CompletionNode[] {
  return everyCommand(program).map((command) => {
    const help = command.createHelp();
    return {
      path: commandPath(command),
      commands: help.visibleCommands(command).map((c) => ({ name: c.name(), description: oneLine(c.summary() || c.description()) })),
      known: [...command.commands.map((c) => c.name()), ...(command.commands.length ? ['help'] : [])],
      options: help.visibleOptions(command).map((o) => ({
        flags: [o.short, o.long].filter((f): f is string => Boolean(f)),
        description: oneLine(o.description),
        takesValue: o.required,
        choices: o.argChoices ?? [],
      })),
      argumentChoices: command.registeredArguments.flatMap((a) => a.argChoices ?? []),
    };
  });
}

export const completion: CliCommand = {
  name: 'completion',
  define: (cmd: Command) =>
    void cmd
      .addArgument(new Argument('<shell>', 'the shell: bash, zsh or fish').choices(Object.keys(SCRIPTS)))
      .description('print a completion script for bash, zsh or fish: eval "$(makima completion bash)" in ~/.bashrc')
      .action((shell: Shell) => {
        let program = cmd;
        while (program.parent) program = program.parent;
        process.stdout.write(SCRIPTS[shell](completionTree(program)));
      }),
};
