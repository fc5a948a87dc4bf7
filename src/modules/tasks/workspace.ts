// A task's workspace (its contract's repository, its own worktree and branch): provisioning it
// with the task — inside a changeWithGit, whose journal removes it again if the change does not
// commit — finding it, and the commit it is at.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { AppContext, ServiceContext } from '../../context.js';
import type { Tx } from '../../db/change.js';
import { BadInputError, GitError } from '../../errors.js';
import type { AssignmentReason, Contract, Prisma, PrismaClient, Task } from '../../generated/prisma/client.js';
import { unrecordedRef, type Workspace } from '../../git/index.js';
import { notifyWorkPending } from '../../live/work.js';
import { historyEvent, type EventData } from '../../change/catalogue.js';
import type { GitChange } from '../../change/with-git.js';

function slug(name: string): string {
  const s = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return s || 'task';
}

export interface NewTask {
  contract: Contract;
  name: string;
  prompt?: string | null;
  isSupervisor?: boolean;
  startCommit: string;
  pendingReason?: AssignmentReason;
  data?: Partial<Prisma.TaskUncheckedCreateInput>;
  /** The task's code lives in its branch only (docs/design.md §11): no server worktree until a local claim materialises one. */
  codeInRefs?: boolean;
  /**
   * An imported or captured session (docs/design.md §12): its code is in refs with no branch yet —
   * no worktree, no `makima/*` branch in the repository — until a claim needs one (ensureBranch).
   */
  branchless?: boolean;
  /** A continued task's creation is recorded as TASK/continued (one change, one event). */
  continuedFrom?: Omit<EventData<'TASK', 'continued'>, keyof EventData<'TASK', 'created'>>;
}

/**
 * GIT_ERROR unless a contract's repository is still at the path the contract was created with: a
 * repository moved or deleted since would otherwise fail deep inside git, with a message about
 * some path, or not as a git error at all. (A look at this server's disk, where the repositories
 * and worktrees are.)
 */
export function assertRepositoryPresent(contract: Pick<Contract, 'id' | 'repositoryPath'>): string {
  if (!fs.existsSync(path.join(contract.repositoryPath, '.git'))) {
    throw new GitError(
      `the repository of contract ${contract.id} is no longer at ${contract.repositoryPath} (moved or deleted?): ` +
        'put it back at that path and try again; a contract keeps the repository path it was created with',
    );
  }
  return contract.repositoryPath;
}

/** The commit a contract's repository is at (its HEAD); GIT_ERROR when the repository is gone or broken. */
export async function repositoryHead(ctx: AppContext, contract: Pick<Contract, 'id' | 'repositoryPath'>): Promise<string> {
  assertRepositoryPresent(contract);
  try {
    return await ctx.git.repositoryHead(contract.repositoryPath);
  } catch (err) {
    if (err instanceof GitError) throw err;
    const reason = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    throw new GitError(`could not read the current commit of ${contract.repositoryPath}, the repository of contract ${contract.id}: ${reason}`);
  }
}

/** Creates a task of the viewer's — worktree, branch, row, event — as part of `change`; the task is PENDING. */
export async function provisionTask(ctx: ServiceContext, change: GitChange, spec: NewTask): Promise<Task> {
  assertRepositoryPresent(spec.contract);
  const id = crypto.randomUUID();
  const workspace = workspaceFor(ctx.config.worktreesDir, spec.contract.repositoryPath, id, spec.name);
  change.git.touch({ id, ownerId: ctx.viewer.id, contractId: spec.contract.id }, true);
  // A branchless task takes no git step: its start commit is the repository's HEAD, which needs no ref of ours.
  if (spec.codeInRefs && !spec.branchless) await change.git.createBranch(id, workspace.repositoryPath, workspace.branch, spec.startCommit);
  else if (!spec.branchless) await change.git.addWorkspace(id, workspace, spec.startCommit);
  // The owner's next number (docs/design.md §16): taken under their row's lock, which the change
  // holds to its commit, so numbers follow creation order and a rolled-back change frees its own.
  const { lastTaskNumber: number } = await change.tx.user.update({
    where: { id: ctx.viewer.id },
    data: { lastTaskNumber: { increment: 1 } },
    select: { lastTaskNumber: true },
  });
  const task = await change.tx.task.create({
    data: {
      id,
      number,
      ownerId: ctx.viewer.id,
      contractId: spec.contract.id,
      name: spec.name,
      prompt: spec.prompt ?? null,
      isSupervisor: spec.isSupervisor ?? false,
      worktreePath: spec.branchless ? null : workspace.worktreePath,
      branch: spec.branchless ? null : workspace.branch,
      baseCommit: spec.startCommit,
      headCommit: spec.startCommit,
      pendingReason: spec.pendingReason ?? 'NEW',
      codeInRefs: (spec.codeInRefs ?? false) || (spec.branchless ?? false),
      ...spec.data,
    },
  });
  const created = { name: spec.name, branch: task.branch, baseCommit: spec.startCommit, isSupervisor: task.isSupervisor };
  const subject = { ownerId: ctx.viewer.id, contractId: spec.contract.id, taskId: id };
  change.record(
    spec.continuedFrom ? historyEvent(subject, 'TASK', 'continued', { ...created, ...spec.continuedFrom }) : historyEvent(subject, 'TASK', 'created', created),
  );
  await notifyWorkPending(change.tx, ctx.viewer.id); // every new task is PENDING: wake waiting workers
  return task;
}

/** Where a task's worktree and branch are (or will be, for a branchless task): named after the task, under MAKIMA_WORKTREES_DIR. */
function workspaceFor(worktreesDir: string, repositoryPath: string, id: string, name: string): Workspace {
  return { repositoryPath, worktreePath: path.join(worktreesDir, id), branch: `makima/${slug(name)}-${id.slice(0, 8)}` };
}

/**
 * Gives a branchless task (an imported or captured session, docs/design.md §12) its branch, at its
 * head commit, as a step of `change` — which its journal undoes if the change does not commit — and
 * the worktree path a local claim will materialise. A task that has a branch is returned as it is.
 */
export async function ensureBranch(change: GitChange, task: Task): Promise<Task> {
  if (task.branch || !task.contractId || task.archivedAt) return task;
  if (!task.headCommit) throw new GitError(`task ${task.id} has no head commit to put a branch at`);
  const workspace = workspaceFor(change.git.worktreesDir, await repositoryOf(change.tx, task), task.id, task.name);
  change.git.touch(task);
  await change.git.createBranch(task.id, workspace.repositoryPath, workspace.branch, task.headCommit);
  return change.tx.task.update({ where: { id: task.id }, data: { branch: workspace.branch, worktreePath: workspace.worktreePath, codeInRefs: true, version: { increment: 1 } } });
}

/** The repository a task's worktree belongs to (its contract's); GIT_ERROR when it is no longer there. */
export async function repositoryOf(db: Tx | PrismaClient, task: Task): Promise<string> {
  if (!task.contractId) throw new GitError(`task ${task.id} has no contract, so no repository`);
  const contract = await db.contract.findUniqueOrThrow({ where: { id: task.contractId }, select: { id: true, repositoryPath: true } });
  return assertRepositoryPresent(contract);
}

/** Where a task's code lives; GIT_ERROR when it has none. */
export async function workspaceOf(db: Tx | PrismaClient, task: Task): Promise<Workspace> {
  if (!task.worktreePath || !task.branch) throw new GitError(`task ${task.id} has no worktree`);
  return { repositoryPath: await repositoryOf(db, task), worktreePath: task.worktreePath, branch: task.branch };
}

/** The commit a task's worktree is at now (its recorded head if the worktree is gone). */
export async function currentHead(ctx: AppContext, task: Task): Promise<string> {
  if (task.worktreePath && task.branch && task.contractId) {
    // A repository that is gone leaves the recorded head as the best answer, like a missing worktree.
    const workspace = await workspaceOf(ctx.prisma, task).catch((err: unknown) => {
      if (err instanceof GitError) return null;
      throw err;
    });
    const head = workspace && (await ctx.git.workspaceHead(workspace));
    if (head) return head;
  }
  if (!task.headCommit) throw new BadInputError(`task ${task.id} has no commit to continue from`);
  return task.headCommit;
}

/**
 * For a task whose code lives in its branch (docs/design.md §11) and that nobody holds: puts the
 * branch back at the task's recorded head. A commit a worker pushed to the branch but never
 * recorded (it died between its push and createCheckpoint) is kept under
 * refs/makima/tasks/<task>/unrecorded/<sha>, never lost; the next claimant starts from the head.
 */
export async function settleBranch(change: GitChange, task: Task, workspace: Workspace): Promise<void> {
  if (!task.headCommit) throw new GitError(`task ${task.id} has no head commit`);
  const git = change.git.git;
  const tip = await git.branchHead(workspace.repositoryPath, workspace.branch);
  if (tip === task.headCommit) return;
  change.git.touch(task);
  if (tip === null) return change.git.createBranch(task.id, workspace.repositoryPath, workspace.branch, task.headCommit);
  await change.git.keepCommit(task.id, workspace.repositoryPath, unrecordedRef(task.id, tip), tip);
  await change.git.moveBranch(task.id, workspace.repositoryPath, workspace.branch, tip, task.headCommit);
}
