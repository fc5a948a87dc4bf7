// The flags of `makima worker --acp` (docs/agents.md, docs/design.md §15): which agent command
// speaks the Agent Client Protocol, how its permission requests are answered, and how often its work
// is checkpointed. Parsed here so that worker.ts only mounts them.
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { AcpOptions, CheckpointEvery, PermissionPolicy } from './worker-acp-host.js';

export interface AcpFlags {
  acp?: string;
  permissions: PermissionPolicy | 'default';
  checkpointEvery: CheckpointEvery;
  initTimeoutSeconds: number;
  maxMessageMib: number;
}

function mebibytes(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new InvalidArgumentError('expected a whole number of MiB between 1 and 1024');
  return n;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 3600) throw new InvalidArgumentError('expected seconds between 0 and 3600');
  return n;
}

export function defineAcpOptions(cmd: Command): void {
  cmd
    .option('--acp <command>', 'an agent that speaks the Agent Client Protocol over stdio, run with /bin/sh -c in the worktree (instead of --command)')
    .addOption(
      new Option('--permissions <policy>', "--acp: how the agent's permission requests are answered (default: allow inside the worktree, reject outside it)")
        .choices(['allow', 'reject', 'ask-fail', 'default'])
        .default('default'),
    )
    .addOption(new Option('--checkpoint-every <when>', '--acp: a checkpoint after every prompt turn, or also after every edit, delete or move').choices(['turn', 'edit']).default('turn'))
    .option('--init-timeout-seconds <n>', '--acp: how long the agent may take to answer initialize and session/new', seconds, 60)
    .option('--max-message-mib <n>', '--acp: the longest message the agent may send, in MiB; a longer one fails the task', mebibytes, 32);
}

export function acpOptions(flags: AcpFlags): AcpOptions | undefined {
  if (flags.acp === undefined) return undefined;
  return { permissions: flags.permissions, checkpointEvery: flags.checkpointEvery, initTimeoutMs: flags.initTimeoutSeconds * 1000, maxMessageBytes: flags.maxMessageMib * 1024 * 1024 };
}
