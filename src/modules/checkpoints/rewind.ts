// Code rewinds (docs/design.md §4): a task's code, conversation or both to a checkpoint. Nothing is
// lost: the code is first saved as a backup checkpoint, the conversation head as an AUTO snapshot,
// and rewinding to either undoes the rewind.
import type { ServiceContext } from '../../context.js';
import type { Tx } from '../../db/change.js';
import { BadInputError, ConflictError, GitError } from '../../errors.js';
import type { ConversationSnapshot, Task, TaskCheckpoint } from '../../generated/prisma/client.js';
import type { Git } from '../../git/index.js';
import { checkpointRef } from '../../git/index.js';
import { rewindConversationInTx } from '../conversation/index.js';
import { aboutTask, historyEvent } from '../../change/catalogue.js';
import { assertNotHeldByWorker, holdTask, leaseLive } from '../../change/access.js';
import { changeWithGit, type GitChange } from '../../change/with-git.js';
import { repositoryOf, settleBranch, workspaceOf } from '../tasks/index.js';
import { assertFullSha, checkpointOfTask, recordPushedCheckpointInTx, saveCheckpointInTx, snapshotOfCheckpoint } from './service.js';

export type RewindMode = 'CODE' | 'CONVERSATION' | 'BOTH';

export interface TaskRewind {
  task: Task;
  /** The worktree as it was before the rewind (CODE and BOTH). */
  backupCheckpoint: TaskCheckpoint | null;
  /** The conversation head as it was before the rewind (CONVERSATION and BOTH). */
  backupSnapshot: ConversationSnapshot | null;
}

/**
 * Rewinds the locked `task` to `checkpoint` as part of `change` (resumeTaskFromCheckpoint builds on
 * this). CODE and BOTH commit the whole worktree as a backup checkpoint "before rewind to #k", then
 * set the worktree and branch to the checkpoint's commit; CONVERSATION and BOTH move the
 * conversation head to the checkpoint's snapshot. Every check runs before the first git step.
 * `workingTreeCommit`, for a task with no worktree (an imported or captured session, §12), is the
 * user's own working tree committed by the client: it is the backup instead of the task's head.
 */
export async function rewindTaskInTx(change: GitChange, task: Task, checkpoint: TaskCheckpoint, mode: RewindMode, workingTreeCommit: string | null = null): Promise<TaskRewind> {
  const { tx, record } = change;
  if (task.codeInRefs) await assertNotRunningRemotely(tx, task);
  await assertNotHeldByWorker(tx, task, 'rewound');
  const moveCode = mode !== 'CONVERSATION';
  const moveConversation = mode !== 'CODE';
  if (workingTreeCommit !== null) await assertWorkingTreeCommit(tx, change.git.git, task, mode, workingTreeCommit);
  const snapshot = moveConversation ? await checkpointSnapshot(tx, checkpoint) : null;
  if (moveCode) await assertCommitPresent(tx, change.git.git, task, checkpoint);

  let current = task;
  let backupCheckpoint: TaskCheckpoint | null = null;
  let backupSnapshot: ConversationSnapshot | null = null;
  if (moveCode) {
    // A task whose code lives in its branch (docs/design.md §11): its branch is put at its recorded
    // head first (a pushed commit never recorded is kept under the task's refs), then moved.
    // A branchless one (an imported or captured session, §12) has only its head commit to move.
    if (task.codeInRefs && task.branch) await settleBranch(change, task, await workspaceOf(tx, task));
    const backup = { message: `before rewind to #${checkpoint.number}`, isBackup: true };
    const saved = workingTreeCommit ? await recordPushedCheckpointInTx(change, task, { ...backup, commitSha: workingTreeCommit }) : await saveCheckpointInTx(change, task, backup);
    backupCheckpoint = saved.checkpoint;
    if (task.codeInRefs && task.branch) {
      await change.git.moveBranch(task.id, saved.workspace.repositoryPath, saved.workspace.branch, saved.commit.sha, checkpoint.commitSha);
    } else if (!task.codeInRefs) {
      await change.git.checkout(task.id, saved.workspace, saved.commit.sha, checkpoint.commitSha);
    }
    current = await tx.task.update({ where: { id: task.id }, data: { headCommit: checkpoint.commitSha, version: { increment: 1 } } });
  }
  if (snapshot) {
    const rewound = await rewindConversationInTx(tx, record, current, snapshot.headMessageId, { checkpointId: checkpoint.id, checkpointNumber: checkpoint.number });
    current = rewound.task;
    backupSnapshot = rewound.backupSnapshot;
  }
  record(
    historyEvent(aboutTask(task), 'CHECKPOINT', 'rewound', {
      checkpointId: checkpoint.id,
      number: checkpoint.number,
      mode,
      commitSha: moveCode ? checkpoint.commitSha : null,
      fromCommit: backupCheckpoint?.commitSha ?? null,
      backupCheckpointId: backupCheckpoint?.id ?? null,
      backupCheckpointNumber: backupCheckpoint?.number ?? null,
      backupSnapshotId: backupSnapshot?.id ?? null,
    }),
  );
  return { task: current, backupCheckpoint, backupSnapshot };
}

/**
 * A task a remote worker runs has its current code on that worker's machine, not here: rewinding
 * under it would leave the worker pushing onto a branch moved away from it. It is refused; the
 * owner cancels it first, and the worker saves its work as a backup checkpoint before it stops.
 */
async function assertNotRunningRemotely(tx: Tx, task: Task): Promise<void> {
  if (!(await leaseLive(tx, task.id))) return;
  throw new ConflictError(
    `task ${task.id} is running on remote worker ${task.workerId ?? '?'} (lease until ${task.leaseExpiresAt?.toISOString() ?? '?'}), which has its current code: ` +
      'cancel it first (cancelTask) — its worker pushes its work as a backup checkpoint before it stops — then rewind',
    { status: task.status, workerId: task.workerId, leaseExpiresAt: task.leaseExpiresAt?.toISOString() ?? null },
  );
}

async function checkpointSnapshot(tx: Tx, checkpoint: TaskCheckpoint): Promise<ConversationSnapshot> {
  const snapshot = await snapshotOfCheckpoint(tx, checkpoint);
  if (!snapshot) {
    throw new BadInputError(`checkpoint #${checkpoint.number} has no conversation snapshot; rewind its code only (mode CODE)`, 'mode');
  }
  return snapshot;
}

/** A working tree's commit is the backup of a rewind of a task with no worktree, of its code, and must be in the repository. */
async function assertWorkingTreeCommit(tx: Tx, git: Git, task: Task, mode: RewindMode, sha: string): Promise<void> {
  assertFullSha(sha, 'workingTreeCommit');
  if (mode === 'CONVERSATION') {
    throw new BadInputError('workingTreeCommit: a CONVERSATION rewind moves no code, so there is no working tree to back up; rewind the code (CODE or BOTH)', 'workingTreeCommit');
  }
  if (!task.codeInRefs || task.branch) {
    throw new BadInputError(
      `workingTreeCommit: task ${task.id} has its own ${task.branch ? `branch ${task.branch}` : 'worktree'}, which its rewind backs up and sets itself; ` +
        'workingTreeCommit is for a task with no worktree (an imported or captured session)',
      'workingTreeCommit',
    );
  }
  const repo = await repositoryOf(tx, task);
  if (!(await git.commitExists(repo, sha))) {
    throw new BadInputError(`workingTreeCommit: commit ${sha} is not in the contract's repository ${repo}; commit the working tree of that repository`, 'workingTreeCommit');
  }
}

async function assertCommitPresent(tx: Tx, git: Git, task: Task, checkpoint: TaskCheckpoint): Promise<void> {
  const repo = await repositoryOf(tx, task);
  if (!(await git.commitExists(repo, checkpoint.commitSha))) {
    throw new GitError(
      `the commit ${checkpoint.commitSha} of checkpoint #${checkpoint.number} is missing from ${repo} ` +
        `(its ref ${checkpointRef(task.id, checkpoint.number)} was removed and git gc collected it); rewind to another checkpoint`,
    );
  }
}

export async function rewindTask(ctx: ServiceContext, input: { taskId: string; checkpointId: string; mode: RewindMode; workingTreeCommit?: string | null }): Promise<TaskRewind> {
  return changeWithGit(ctx, 'rewind task', async (change) => {
    const task = await holdTask(change.tx, change.record, ctx.viewer, { taskId: input.taskId, action: 'rewind the task' });
    const checkpoint = await checkpointOfTask(change.tx, ctx.viewer, task, input.checkpointId);
    return rewindTaskInTx(change, task, checkpoint, input.mode, input.workingTreeCommit ?? null);
  });
}
