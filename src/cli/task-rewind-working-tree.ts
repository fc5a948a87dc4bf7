// `makima task rewind <task> <checkpoint> --working-tree`: rewinds a captured or imported task (one
// with no worktree of its own, docs/design.md §12) and sets the files of the user's own working tree
// to the checkpoint's. Non-destructive: what the working tree holds is first committed through a
// temporary index (working-tree.ts) and becomes the rewind's backup checkpoint, in the same change
// as the rewind. The user's HEAD, branch, index and stash are never moved: a checkpoint is files,
// not a position in their history. Every check, git's dry run included, comes before the rewind.
import fs from 'node:fs';
import { graphql } from '../generated/gql/index.js';
import { globalId } from './arguments.js';
import type { ApiClient } from './client.js';
import { taskCheckpoints } from './task-checkpoints.js';
import { CliError, UsageError } from './output.js';
import { commitTree, git, moveWorkingTree, pathsInTheWay, repoAt, withStagedWorkingTree, type RepoAt } from './working-tree.js';

const TaskWorkspace = graphql(`
  query CliRewindWorkingTreeTask($task: ID!) {
    task(id: $task) { id name branch worktreePath contract { repositoryPath } }
  }
`);

/** What a rewind answers, as far as this needs it: the backup checkpoint that holds the working tree. */
interface Rewound {
  backupCheckpoint: { number: number; commitSha: string } | null;
}

/** The git directory all worktrees of a repository share (null: not a repository). */
async function commonDir(dir: string): Promise<string | null> {
  const out = await git(dir, ['rev-parse', '--path-format=absolute', '--git-common-dir']).catch(() => null);
  return out === null ? null : fs.realpathSync(out.trim());
}

/** The current directory's repository, when it is the task's contract's (one of its worktrees included). */
async function userRepository(cwd: string, repositoryPath: string, task: string): Promise<RepoAt> {
  const here = await commonDir(cwd);
  if (here === null) throw new UsageError(`${cwd} is not in a git repository: run --working-tree in the repository of task ${task} (${repositoryPath})`);
  if (here !== (fs.existsSync(repositoryPath) ? await commonDir(repositoryPath) : null)) {
    throw new UsageError(`${cwd} is not in the repository of task ${task} (${repositoryPath}): run --working-tree there, or rewind without it`);
  }
  return repoAt(cwd);
}

/**
 * Rewinds the task with `rewind` (the command's rewindTask, given the working tree's commit) and sets
 * the working tree of `cwd` to the checkpoint's files; see the file's header.
 */
export async function rewindWorkingTree<R extends Rewound>(
  client: ApiClient,
  args: { task: string; checkpointArg: string; checkpointId: string; cwd: string },
  rewind: (workingTreeCommit: string) => Promise<R>,
): Promise<{ rewound: R; repo: string }> {
  const { task: taskArg, checkpointArg, checkpointId, cwd } = args;
  const { task } = await client.request(TaskWorkspace, { task: taskArg });
  if (!task) throw new CliError(`task ${taskArg} not found`, 'NOT_FOUND');
  if (task.branch || task.worktreePath) {
    throw new UsageError(`task ${task.name} has its own worktree and branch (${task.worktreePath ?? task.branch}), which a rewind sets by itself: rewind it without --working-tree`);
  }
  const { checkpoints } = await taskCheckpoints(client, task.id);
  const checkpoint = checkpoints.find((c) => c.id === checkpointId || c.id === globalId('Checkpoint', checkpointId));
  if (!checkpoint) throw new CliError(`task ${task.name} has no checkpoint ${checkpointArg}`, 'NOT_FOUND');
  if (!task.contract) throw new CliError(`task ${task.name} has no contract to name its repository`, 'NOT_FOUND');
  const at = await userRepository(cwd, task.contract.repositoryPath, task.name);
  if (!(await git(at.repo, ['cat-file', '-e', `${checkpoint.commitSha}^{commit}`]).then(() => true, () => false))) {
    throw new CliError(`the commit ${checkpoint.commitSha} of checkpoint #${checkpoint.number} is not in ${at.repo} (collected by git gc?); rewind to another checkpoint`);
  }
  return withStagedWorkingTree(at, async (staged) => {
    const inTheWay = await pathsInTheWay(at, staged, checkpoint.commitSha);
    if (inTheWay.length) {
      throw new CliError(
        `checkpoint #${checkpoint.number} holds ${inTheWay.slice(0, 5).join(', ')}${inTheWay.length > 5 ? ` and ${inTheWay.length - 5} more` : ''}, ` +
          'which your working tree has as ignored files (a rewind leaves those alone): move them away, then rewind again',
        'CONFLICT',
      );
    }
    await moveWorkingTree(at, staged, checkpoint.commitSha, true).catch((err: Error) => {
      throw new CliError(`your working tree cannot be set to checkpoint #${checkpoint.number}: ${err.message}`, 'CONFLICT');
    });
    const backup = await commitTree(at.repo, staged.tree, at.head ? [at.head] : [], `working tree before rewind to #${checkpoint.number} (makima task rewind --working-tree)`);
    const rewound = await rewind(backup);
    await moveWorkingTree(at, staged, checkpoint.commitSha).catch((err: Error) => {
      const saved = rewound.backupCheckpoint!;
      throw new CliError(
        `task ${task.name} was rewound to checkpoint #${checkpoint.number}, but your working tree could not be set to it (${err.message}); ` +
          `what it held is checkpoint #${saved.number} (${saved.commitSha}): \`git restore --source=${checkpoint.commitSha} --worktree -- .\` sets the files, ` +
          `\`makima task rewind ${task.id} '#${saved.number}'\` undoes the rewind`,
      );
    });
    return { rewound, repo: at.repo };
  });
}
