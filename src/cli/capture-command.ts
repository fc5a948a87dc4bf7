// `makima capture` in the command line's help. bin/makima.js runs the hook without the command line
// (capture-main.ts, docs/design.md §17); this is the same command for `makima --help` and for
// dist/main.js run directly.
import { Option } from 'commander';
import type { CliCommand } from './command.js';
import { runCapture } from './capture-main.js';

export const capture: CliCommand = {
  name: 'capture',
  define: (cmd) =>
    cmd
      .description("a Claude Code hook: records the session's new transcript lines and checkpoints the working tree (docs/claude-code.md)")
      .addOption(new Option('--checkpoint-every <when>', 'checkpoint at each turn end (stop) or also after each file edit (edit)').choices(['stop', 'edit']).default('stop'))
      .option('--flush', 'send what is spooled now, in the foreground, and say what is left')
      .addOption(new Option('--drain').hideHelp())
      .addOption(new Option('--snapshot <session-and-job...>').hideHelp())
      .action(async (opts: { checkpointEvery: string; flush?: boolean; drain?: boolean; snapshot?: string[] }) => {
        const args = [...(opts.flush ? ['--flush'] : []), ...(opts.drain ? ['--drain'] : []), ...(opts.snapshot ? ['--snapshot', ...opts.snapshot] : []), '--checkpoint-every', opts.checkpointEvery];
        process.exitCode = await runCapture(args, process.argv[1]);
      }),
};
