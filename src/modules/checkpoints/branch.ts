// Branches from checkpoints (docs/design.md §4): a new git branch at any checkpoint's commit; the
// task itself is not changed, and an existing branch is a CONFLICT, never overwritten.
import type { ServiceContext } from '../../context.js';
import { aboutTask, historyEvent } from '../../change/catalogue.js';
import { findOwnTask } from '../../change/access.js';
import { changeWithGit } from '../../change/with-git.js';
import { repositoryOf } from '../tasks/index.js';
import { checkpointOfTask } from './service.js';

export async function branchFromCheckpoint(
  ctx: ServiceContext,
  input: { taskId: string; checkpointId: string; branchName: string },
): Promise<{ branchName: string; commitSha: string }> {
  const task = await findOwnTask(ctx.prisma, ctx.viewer, input.taskId);
  const checkpoint = await checkpointOfTask(ctx.prisma, ctx.viewer, task, input.checkpointId);
  const branchName = await ctx.git.assertBranchName(input.branchName);
  const repo = await repositoryOf(ctx.prisma, task);
  return changeWithGit(ctx, 'branch from checkpoint', async (change) => {
    change.git.touch(task);
    await change.git.createBranch(task.id, repo, branchName, checkpoint.commitSha);
    change.record(
      historyEvent(aboutTask(task), 'CHECKPOINT', 'branched', { checkpointId: checkpoint.id, number: checkpoint.number, branchName, commitSha: checkpoint.commitSha }),
    );
    return { branchName, commitSha: checkpoint.commitSha };
  });
}
