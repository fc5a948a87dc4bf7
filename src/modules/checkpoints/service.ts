// Checkpoints (docs/design.md §3, §4): a commit of a task's whole worktree, numbered per task,
// linked both ways to a CHECKPOINT conversation snapshot, kept safe from gc by its own ref; and
// the diffs between them.
import type { ServiceContext, Viewer } from '../../context.js';
import type { Tx } from '../../db/change.js';
import { BadInputError, ConflictError, GitError, NotFoundError } from '../../errors.js';
import type { ConversationSnapshot, Prisma, PrismaClient, Task, TaskCheckpoint } from '../../generated/prisma/client.js';
import { checkpointRef, type FileChange, type Git, type Workspace, type WorktreeCommit } from '../../git/index.js';
import { snapshotHead } from '../conversation/index.js';
import { aboutTask, historyEvent } from '../../change/catalogue.js';
import { holdTask } from '../../change/access.js';
import { changeWithGit, type GitChange } from '../../change/with-git.js';
import { repositoryOf, workspaceOf } from '../tasks/index.js';

export const MAX_CHECKPOINT_MESSAGE_LENGTH = 10_000;
/** Checkpoint.diff runs git twice and may read a large patch: a request may ask for this many. */
export const MAX_DIFFS_PER_REQUEST = 10;
/** Patches longer than this are cut (at a line end) and marked `truncated`. */
export const MAX_PATCH_BYTES = 256 * 1024;
/** FILE/changed events list at most this many paths (the checkpoint row keeps them all). */
const MAX_EVENT_PATHS = 1000;

type Db = Tx | PrismaClient;

export function assertCheckpointMessage(message: string): string {
  const trimmed = message.trim();
  if (!trimmed) throw new BadInputError('message must not be empty', 'message');
  if (trimmed.length > MAX_CHECKPOINT_MESSAGE_LENGTH) {
    throw new BadInputError(`message is longer than ${MAX_CHECKPOINT_MESSAGE_LENGTH} characters`, 'message');
  }
  if (trimmed.includes('\0')) throw new BadInputError('message must not contain NUL characters', 'message');
  return trimmed;
}

/** The viewer's checkpoint, or NOT_FOUND (another user's is indistinguishable from a missing one). */
export async function findOwnCheckpoint(db: Db, viewer: Viewer, checkpointId: string): Promise<TaskCheckpoint> {
  const checkpoint = await db.taskCheckpoint.findFirst({ where: { id: checkpointId, task: { ownerId: viewer.id } } });
  if (!checkpoint) throw new NotFoundError('checkpoint', checkpointId);
  return checkpoint;
}

/** A checkpoint of `task` itself; one of the viewer's other tasks is a BAD_USER_INPUT saying so. */
export async function checkpointOfTask(db: Db, viewer: Viewer, task: Task, checkpointId: string): Promise<TaskCheckpoint> {
  const checkpoint = await findOwnCheckpoint(db, viewer, checkpointId);
  if (checkpoint.taskId !== task.id) {
    throw new BadInputError(`checkpoint ${checkpointId} belongs to task ${checkpoint.taskId}, not to task ${task.id}`, 'checkpointId');
  }
  return checkpoint;
}

/** The conversation as it was at a checkpoint (null for a checkpoint taken without one). */
export async function snapshotOfCheckpoint(db: Db, checkpoint: TaskCheckpoint): Promise<ConversationSnapshot | null> {
  if (!checkpoint.conversationSnapshotId) return null;
  return db.conversationSnapshot.findUnique({ where: { id: checkpoint.conversationSnapshotId } });
}

/** What a checkpoint's changes are measured against: the commit it was built on. */
export interface CheckpointBase {
  commitSha: string;
  /** The checkpoint at that commit, or null for the task's base commit. */
  checkpoint: TaskCheckpoint | null;
}

/**
 * The checkpoint `commitSha` (checkpoint `number` of the task) was built on: the latest earlier
 * checkpoint of the task whose commit is in its history — after a rewind, the checkpoint rewound
 * to, not the backup — or else the task's base commit.
 */
export async function checkpointBase(db: Db, git: Git, repo: string, task: Task, number: number, commitSha: string): Promise<CheckpointBase> {
  const earlier = (await git.checkpointsInHistoryOf(repo, task.id, commitSha)).filter((n) => n < number);
  if (earlier.length) {
    const checkpoint = await db.taskCheckpoint.findUnique({ where: { taskId_number: { taskId: task.id, number: Math.max(...earlier) } } });
    if (checkpoint) return { commitSha: checkpoint.commitSha, checkpoint };
  }
  return { commitSha: task.baseCommit ?? commitSha, checkpoint: null };
}

export interface SavedCheckpoint {
  checkpoint: TaskCheckpoint;
  task: Task;
  commit: WorktreeCommit;
  /** Where the checkpoint was taken. */
  workspace: Workspace;
}

/** The next checkpoint number of a task: above every recorded one and every ref (a number whose ref exists — left by a change that never committed — is never handed out again). */
async function nextCheckpointNumber(change: GitChange, task: Task, repositoryPath: string): Promise<number> {
  const last = await change.tx.taskCheckpoint.aggregate({ where: { taskId: task.id }, _max: { number: true } });
  const refs = await change.git.git.checkpointRefNumbers(repositoryPath, task.id);
  return Math.max(last._max.number ?? 0, ...refs) + 1;
}

/** What a checkpoint records: a commit that is in the repository and on the task's branch. */
export interface CheckpointSpec {
  message: string;
  isBackup: boolean;
}

/**
 * Records `commit` (already on the task's branch) as the locked task's checkpoint `number`: its ref,
 * the row, a CHECKPOINT snapshot of the conversation linked both ways, the task's head commit, and
 * the CHECKPOINT/created and FILE/changed events.
 */
async function recordCheckpointInTx(change: GitChange, task: Task, at: { number: number; commit: WorktreeCommit; repositoryPath: string; branch: string }, spec: CheckpointSpec): Promise<{ checkpoint: TaskCheckpoint; task: Task }> {
  const { tx, record, git } = change;
  const { number, commit, repositoryPath, branch } = at;
  await git.protectCheckpoint(task.id, repositoryPath, number, commit.sha);
  const base = await checkpointBase(tx, git.git, repositoryPath, task, number, commit.sha);
  const files = await git.git.changedFiles(repositoryPath, base.commitSha, commit.sha);

  const created = await tx.taskCheckpoint.create({
    data: {
      taskId: task.id,
      number,
      commitSha: commit.sha,
      branch,
      message: spec.message,
      filesChanged: files as unknown as Prisma.InputJsonValue,
      isBackup: spec.isBackup,
    },
  });
  const snapshot = await snapshotHead(tx, task, 'CHECKPOINT', { checkpointId: created.id });
  const checkpoint = await tx.taskCheckpoint.update({ where: { id: created.id }, data: { conversationSnapshotId: snapshot.id } });
  const updated = await tx.task.update({ where: { id: task.id }, data: { headCommit: commit.sha, version: { increment: 1 } } });

  record(
    historyEvent(aboutTask(task), 'CHECKPOINT', 'created', {
      checkpointId: checkpoint.id,
      number,
      commitSha: commit.sha,
      branch,
      message: spec.message,
      isBackup: spec.isBackup,
      newCommit: commit.created,
      snapshotId: snapshot.id,
      messageCount: snapshot.messageCount,
      filesChanged: files.length,
    }),
  );
  if (files.length) {
    record(
      historyEvent(aboutTask(task), 'FILE', 'changed', {
        checkpointId: checkpoint.id,
        number,
        since: base.commitSha,
        files: files.slice(0, MAX_EVENT_PATHS).map((f) => ({ path: f.path, status: f.status })),
        truncated: files.length > MAX_EVENT_PATHS,
      }),
    );
  }
  return { checkpoint, task: updated };
}

/**
 * Commits the locked task's worktree as its next checkpoint and records it (recordCheckpointInTx).
 * Its git steps are journaled on `change.git`. A task whose code lives in the repository's refs
 * (a remote claim, docs/design.md §11) has no worktree here: its checkpoint is of its head commit.
 */
export async function saveCheckpointInTx(change: GitChange, task: Task, spec: CheckpointSpec): Promise<SavedCheckpoint> {
  change.git.touch(task);
  if (task.codeInRefs) return recordPushedCheckpointInTx(change, task, { ...spec, commitSha: headOf(task) });
  const workspace = await workspaceOf(change.tx, task);
  await change.git.git.assertOnBranch(workspace);
  const number = await nextCheckpointNumber(change, task, workspace.repositoryPath);
  const commit = await change.git.commitWorkspace(task.id, workspace, spec.message);
  const recorded = await recordCheckpointInTx(change, task, { number, commit, repositoryPath: workspace.repositoryPath, branch: workspace.branch }, spec);
  return { ...recorded, commit, workspace };
}

/**
 * Commits whatever the locked task's server worktree holds that its head does not, as a backup
 * checkpoint; nothing when it is clean or gone. Returns the commit the worktree is at (null: no worktree).
 */
export async function saveUncommittedWork(change: GitChange, task: Task, message: string): Promise<{ sha: string; checkpoint: TaskCheckpoint | null; task: Task } | null> {
  const workspace = await workspaceOf(change.tx, task);
  if (!(await change.git.git.workspaceHead(workspace))) return null;
  change.git.touch(task);
  await change.git.git.assertOnBranch(workspace);
  const commit = await change.git.commitWorkspace(task.id, workspace, message, { saving: true });
  if (!commit.created) return { sha: commit.sha, checkpoint: null, task };
  const number = await nextCheckpointNumber(change, task, workspace.repositoryPath);
  const recorded = await recordCheckpointInTx(change, task, { number, commit, repositoryPath: workspace.repositoryPath, branch: workspace.branch }, { message, isBackup: true });
  return { sha: commit.sha, ...recorded };
}

function headOf(task: Task): string {
  if (!task.headCommit) throw new GitError(`task ${task.id} has no head commit`);
  return task.headCommit;
}

/**
 * Records a commit a remote worker pushed (docs/design.md §11) as the locked task's next checkpoint:
 * it must have arrived in the contract's repository and descend from (or be) the task's head. The
 * task's branch is fast-forwarded to it unless a push got it there (or further) already. A task
 * with no branch yet (an imported or captured session, §12) records any commit that is there — a
 * capture of the user's own working tree — and keeps it under its checkpoint ref only.
 */
export async function recordPushedCheckpointInTx(change: GitChange, task: Task, spec: CheckpointSpec & { commitSha: string }): Promise<SavedCheckpoint> {
  const git = change.git.git;
  const repo = await repositoryOf(change.tx, task);
  const head = headOf(task);
  const sha = spec.commitSha;
  if (!(await git.commitExists(repo, sha))) {
    throw new BadInputError(
      `commitSha: commit ${sha} has not arrived in the contract's repository; push it first (git push <gitUrl> HEAD:refs/heads/${task.branch ?? '<branch>'}), then record it`,
      'commitSha',
    );
  }
  change.git.touch(task);
  if (!task.branch) return recordBranchlessCheckpointInTx(change, task, repo, spec);
  const workspace = await workspaceOf(change.tx, task);
  if (!(await git.isAncestor(repo, head, sha))) {
    throw new ConflictError(`commit ${sha} does not descend from the task's head ${head}: a checkpoint builds on the task's last recorded commit; fetch, rebase onto ${head} and push again`, {
      headCommit: head,
      commitSha: sha,
    });
  }
  change.git.touch(task);
  const tip = await git.branchHead(repo, workspace.branch);
  if (tip === null) throw new GitError(`the task's branch ${workspace.branch} is missing from ${repo}; fork the task from a checkpoint`);
  if (tip !== sha && !(await git.isAncestor(repo, sha, tip))) {
    if (!(await git.isAncestor(repo, tip, sha))) {
      throw new ConflictError(`the task's branch ${workspace.branch} is at ${tip}, which is neither in the history of ${sha} nor after it; push ${sha} to the branch first`, { branchHead: tip });
    }
    await change.git.moveBranch(task.id, repo, workspace.branch, tip, sha);
  }
  const number = await nextCheckpointNumber(change, task, repo);
  const commit: WorktreeCommit = { sha, previousHead: head, created: sha !== head };
  const recorded = await recordCheckpointInTx(change, task, { number, commit, repositoryPath: repo, branch: workspace.branch }, spec);
  return { ...recorded, commit, workspace };
}

/** recordPushedCheckpointInTx for a task with no branch: the commit is kept under its checkpoint ref, which the checkpoint names as its branch. */
async function recordBranchlessCheckpointInTx(change: GitChange, task: Task, repo: string, spec: CheckpointSpec & { commitSha: string }): Promise<SavedCheckpoint> {
  const number = await nextCheckpointNumber(change, task, repo);
  const commit: WorktreeCommit = { sha: spec.commitSha, previousHead: headOf(task), created: spec.commitSha !== task.headCommit };
  const branch = checkpointRef(task.id, number);
  const recorded = await recordCheckpointInTx(change, task, { number, commit, repositoryPath: repo, branch }, spec);
  return { ...recorded, commit, workspace: { repositoryPath: repo, worktreePath: '', branch } };
}

export interface CreateCheckpointInput {
  taskId: string;
  message: string;
  workerId?: string | null;
  /** A commit a remote worker pushed: recorded instead of committing a server worktree. */
  commitSha?: string | null;
  isBackup?: boolean | null;
}

export async function createCheckpoint(ctx: ServiceContext, input: CreateCheckpointInput): Promise<TaskCheckpoint> {
  const message = assertCheckpointMessage(input.message);
  const commitSha = input.commitSha == null ? null : assertFullSha(input.commitSha);
  const spec = { message, isBackup: input.isBackup ?? false };
  if (commitSha !== null) {
    const recorded = await recordedAlready(ctx, input.taskId, commitSha, input.workerId);
    if (recorded) return recorded;
  }
  return changeWithGit(ctx, 'create checkpoint', async (change) => {
    // From a worker, only the holder of a live lease may checkpoint the task.
    const task = await holdTask(change.tx, change.record, ctx.viewer, { taskId: input.taskId, workerId: input.workerId, action: 'create a checkpoint' });
    if (commitSha === null) {
      if (task.codeInRefs && input.workerId != null) {
        throw new BadInputError(
          `task ${task.id} was claimed remote: its code is on the worker, not on the server; commit, push to the task's branch and pass the commit as commitSha`,
          'commitSha',
        );
      }
      return (await saveCheckpointInTx(change, task, spec)).checkpoint;
    }
    if (!task.codeInRefs) {
      throw new BadInputError(
        `commitSha: task ${task.id} runs in a worktree on the server, which a checkpoint commits as it is; commitSha is for tasks claimed with remote: true`,
        'commitSha',
      );
    }
    return (await recordPushedCheckpointInTx(change, task, { ...spec, commitSha })).checkpoint;
  });
}

/**
 * Idempotence of createCheckpoint(commitSha): a retry of a commit already recorded as the task's head
 * (its answer was lost, say) is the same checkpoint, changing nothing — for the owner, or the worker
 * that still holds the task. Anything else goes through the change, which says what is wrong.
 */
async function recordedAlready(ctx: ServiceContext, taskId: string, commitSha: string, workerId: string | null | undefined): Promise<TaskCheckpoint | null> {
  const task = await ctx.prisma.task.findFirst({ where: { id: taskId, ownerId: ctx.viewer.id } });
  if (!task?.codeInRefs || task.headCommit !== commitSha) return null;
  if (workerId != null) {
    // Held by that worker now: makima_lease_held, by the database's clock.
    const [row] = await ctx.prisma.$queryRaw<{ held: boolean }[]>`SELECT makima_lease_held(t, ${workerId}) AS held FROM tasks t WHERE t.id = ${task.id}::uuid`;
    if (!row?.held) return null;
  }
  return ctx.prisma.taskCheckpoint.findFirst({ where: { taskId: task.id, commitSha }, orderBy: { number: 'desc' } });
}

/** A full hexadecimal commit sha (40 or 64 digits, lower case): abbreviations could name another commit later. */
export function assertFullSha(value: string, field = 'commitSha'): string {
  if (!/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(value)) {
    throw new BadInputError(`${field}: "${value.slice(0, 80)}" is not a full commit sha (40 or 64 lower-case hexadecimal digits)`, field);
  }
  return value;
}

export interface CheckpointDiff {
  /** What the checkpoint is compared against. */
  base: CheckpointBase;
  files: FileChange[];
  patch: string;
  truncated: boolean;
}

/**
 * The changes from `againstId` (a checkpoint of the same repository) to `checkpoint`; by default
 * from the checkpoint it was built on (see checkpointBase).
 */
export async function checkpointDiff(ctx: ServiceContext, input: { checkpoint: TaskCheckpoint; againstId?: string }): Promise<CheckpointDiff> {
  const { checkpoint, againstId } = input;
  const db = ctx.prisma;
  const task = await db.task.findFirst({ where: { id: checkpoint.taskId, ownerId: ctx.viewer.id } });
  if (!task) throw new NotFoundError('checkpoint', checkpoint.id);
  const repo = await repositoryOf(db, task);
  let base: CheckpointBase;
  if (againstId) {
    const against = await findOwnCheckpoint(db, ctx.viewer, againstId);
    const againstTask = await db.task.findUniqueOrThrow({ where: { id: against.taskId } });
    if (againstTask.contractId !== task.contractId) {
      throw new BadInputError(`against: checkpoint ${againstId} is of another contract's repository; compare checkpoints of one contract`, 'against');
    }
    base = { commitSha: against.commitSha, checkpoint: against };
  } else {
    base = await checkpointBase(db, ctx.git, repo, task, checkpoint.number, checkpoint.commitSha);
  }
  const [files, { patch, truncated }] = await Promise.all([
    ctx.git.changedFiles(repo, base.commitSha, checkpoint.commitSha),
    patchBetween(ctx.git, repo, base.commitSha, checkpoint.commitSha),
  ]);
  return { base, files, patch, truncated };
}

/** The unified diff between two commits as the API gives every patch: cut at a line end after MAX_PATCH_BYTES. */
export function patchBetween(git: Git, repo: string, from: string, to: string): Promise<{ patch: string; truncated: boolean }> {
  return git.diffPatch(repo, from, to, MAX_PATCH_BYTES);
}
