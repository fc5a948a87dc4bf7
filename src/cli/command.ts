// How a command is declared and mounted: one object per command, naming it the way `gh` does —
// `<noun> <verb>` (`task rewind`), or one word for what stands alone (`serve`, `timeline`) — with
// the older names it also answers to. index.ts lists them; mounting builds the groups.
import { Command } from 'commander';

export interface CliCommand {
  /** Its words: 'task history' is `makima task history`; a group (`task`) is made on first use. */
  name: string;
  /** Other names that run the same command, hidden from the help (the origin's `task-history`). */
  aliases?: string[];
  /** Declares the arguments, options, description and action on the command made for each name. */
  define(cmd: Command): void;
}

/** What each group is about, for `makima --help` and `makima <group> --help`. */
const GROUPS: Record<string, string> = {
  contract: 'contracts: create, list, show, advance a phase, resume the supervisor',
  task: "tasks: create, list (the fleet), show, history, events, checkpoints, diff, rewind, fork, resume",
  conversation: 'conversations: rewind a conversation to a message or snapshot',
  user: 'users and their API tokens',
  token: 'API tokens: create, list, revoke',
  claude: 'Claude Code: install the hooks that record its sessions live (docs/claude-code.md)',
};

/** Mounts `command` under `program` by its name and by each alias (each a full name of its own). */
export function mount(program: Command, command: CliCommand): void {
  command.define(commandAt(program, command.name));
  for (const alias of command.aliases ?? []) {
    const cmd = commandAt(program, alias, { hidden: true });
    command.define(cmd);
    cmd.description(`${cmd.description()} (the same as \`makima ${command.name}\`)`);
  }
}

/** The command for `name`'s words, creating its group commands when missing. */
function commandAt(program: Command, name: string, options: { hidden?: boolean } = {}): Command {
  const words = name.split(' ');
  let parent = program;
  for (const word of words.slice(0, -1)) {
    parent = parent.commands.find((c) => c.name() === word) ?? parent.command(word).description(GROUPS[word] ?? `${word} commands`);
  }
  return parent.command(words[words.length - 1], options);
}

/** `program` and every command under it, hidden ones (aliases) included. */
export function everyCommand(program: Command): Command[] {
  return [program, ...program.commands.flatMap(everyCommand)];
}

/** The command's words from the program down, as typed: `makima task list`. */
export function commandPath(command: Command): string {
  const words: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) words.unshift(c.name());
  return words.join(' ');
}
