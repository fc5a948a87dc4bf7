// Where a claimed task's code lives (docs/design.md §11). A local claim runs the agent in the
// task's worktree on the server's disk; a remote claim (`remote: true`) hands the worker the
// contract's gitUrl, and the task's code then lives in its branch of the repository (branch +
// headCommit) until a local claim materialises a server worktree again. Moving between the two is
// part of the claim's change, journaled like any other git step.
import type { GitChange } from '../../change/with-git.js';
import type { Task } from '../../generated/prisma/client.js';
import { saveUncommittedWork } from '../checkpoints/index.js';
import { ensureBranch, settleBranch, workspaceOf } from '../tasks/index.js';

/** The backup checkpoint's message when a remote claim finds work left in the server worktree. */
const LEFT_IN_WORKTREE = 'before a remote claim (uncommitted work left in the server worktree)';

/** Puts the code of `task`, just claimed in `change`, where its claimant works on it; returns the task as changed. */
export async function placeCode(change: GitChange, claimed: Task, remote: boolean): Promise<Task> {
  // An imported or captured session gets its branch at its first claim (docs/design.md §12).
  const task = await ensureBranch(change, claimed);
  if (!task.contractId || !task.branch || !task.worktreePath) return task;
  if (remote === task.codeInRefs) {
    if (remote) await settleBranch(change, task, await workspaceOf(change.tx, task));
    return task;
  }
  return remote ? moveToRefs(change, task) : materialise(change, task);
}

/** A remote claim of a task with a server worktree: what it holds is committed (a backup checkpoint when anything was left), then the worktree goes. */
async function moveToRefs(change: GitChange, task: Task): Promise<Task> {
  const workspace = await workspaceOf(change.tx, task);
  change.git.touch(task);
  const saved = await saveUncommittedWork(change, task, LEFT_IN_WORKTREE);
  let current = saved?.task ?? task;
  if (saved) await change.git.releaseWorkspace(task.id, workspace, saved.sha);
  current = await change.tx.task.update({ where: { id: task.id }, data: { codeInRefs: true, headCommit: saved?.sha ?? current.headCommit, version: { increment: 1 } } });
  await settleBranch(change, current, workspace);
  return current;
}

/** A local claim of a task whose code is in its branch: the server worktree is made again, at the recorded head. */
async function materialise(change: GitChange, task: Task): Promise<Task> {
  const workspace = await workspaceOf(change.tx, task);
  change.git.touch(task);
  await settleBranch(change, task, workspace);
  await change.git.materialiseWorkspace(task.id, workspace, task.headCommit!);
  return change.tx.task.update({ where: { id: task.id }, data: { codeInRefs: false, version: { increment: 1 } } });
}
