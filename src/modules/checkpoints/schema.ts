// GraphQL: Checkpoint and its diff, Task.checkpoints / forkedAtCheckpoint / forkedAtMessage,
// ConversationSnapshot.checkpoint, and createCheckpoint, rewindTask and branchFromCheckpoint.
import type { FileChange } from '../../git/index.js';
import { builder } from '../../schema/builder.js';
import { ID_CURSOR } from '../../schema/cursors.js';
import { decodeId, decodeOptionalId, nodeWhere } from '../../schema/ids.js';
import { FileChangeStatusEnum, RewindModeEnum } from '../../schema/enums.js';
import { workerMayReport } from '../../schema/scopes.js';
import { requireViewer, serviceContext } from '../../schema/viewer.js';
import { resolveTotalCount, TOTAL_COUNT_DESCRIPTION } from '../../schema/total-count.js';
import { ConversationSnapshotRef } from '../conversation/schema.js';
import { TaskRef } from '../tasks/schema.js';
import { branchFromCheckpoint } from './branch.js';
import { rewindTask } from './rewind.js';
import { checkpointDiff, createCheckpoint, MAX_DIFFS_PER_REQUEST, type CheckpointDiff } from './service.js';

export const FileChangeRef = builder.objectRef<FileChange>('FileChange').implement({
  description: 'A file that differs between two commits (renames appear as a deletion and an addition)',
  fields: (t) => ({
    path: t.exposeString('path', { description: 'The path in the repository' }),
    status: t.expose('status', { type: FileChangeStatusEnum, description: 'How the file changed (an enum since this API version; it was a lower-case String)' }),
    additions: t.exposeInt('additions', { description: 'Lines added (0 for a binary file)' }),
    deletions: t.exposeInt('deletions', { description: 'Lines deleted (0 for a binary file)' }),
    binary: t.exposeBoolean('binary', { description: 'Whether git sees the file as binary (no line counts)' }),
  }),
});

export const CheckpointRef = builder.prismaNode('TaskCheckpoint', {
  name: 'Checkpoint',
  description:
    "A commit of everything in a task's worktree (tracked and untracked files, not ignored ones) with a snapshot of its conversation; " +
    'kept under refs/makima/checkpoints/<task>/<number> so it is never lost',
  id: { field: 'id' },
  findUnique: (id, ctx) => nodeWhere(id, 'Checkpoint', { task: { ownerId: ctx.viewer?.id ?? '' } }),
  fields: (t) => ({
    task: t.relation('task', { description: 'The task it belongs to' }),
    number: t.exposeInt('number', { description: '1, 2, … per task' }),
    commitSha: t.exposeString('commitSha', { description: 'The commit (the current one when nothing had changed: no empty commit is made)' }),
    message: t.exposeString('message', { description: 'What the checkpoint is, as given (a backup says "before rewind to #n")' }),
    branch: t.exposeString('branch', { description: 'The branch the commit was made on' }),
    isBackup: t.exposeBoolean('isBackup', { description: 'Saved automatically before a rewind; rewinding to it undoes the rewind' }),
    filesChanged: t.field({
      type: [FileChangeRef],
      description: 'The files this checkpoint changed, against the checkpoint it was built on (see diff)',
      resolve: (checkpoint) => checkpoint.filesChanged as unknown as FileChange[],
    }),
    snapshot: t.relation('snapshot', { nullable: true, description: 'The conversation as it was at this checkpoint' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was made' }),
  }),
});

const CheckpointDiffRef = builder.objectRef<CheckpointDiff>('CheckpointDiff').implement({
  description: 'The changes between two commits of a contract\'s repository',
  fields: (t) => ({
    files: t.field({ type: [FileChangeRef], description: 'Every file that differs (never cut)', resolve: (d) => d.files }),
    patch: t.exposeString('patch', { description: 'The unified diff, cut at a line end after 256 KiB (see truncated)' }),
    truncated: t.exposeBoolean('truncated', { description: 'Whether patch was cut; files is always complete' }),
    baseCommit: t.string({ description: 'The commit compared against', resolve: (d) => d.base.commitSha }),
    against: t.field({
      type: CheckpointRef,
      nullable: true,
      description: "The checkpoint compared against; null when it is the task's base commit",
      resolve: (d) => d.base.checkpoint,
    }),
  }),
});

builder.prismaObjectField(CheckpointRef, 'diff', (t) =>
  t.field({
    type: CheckpointDiffRef,
    description:
      'The changes from `against` (a checkpoint of the same contract) to this checkpoint. Default: from the checkpoint ' +
      "this one was built on — the latest earlier checkpoint in its history (after a rewind, the one rewound to) — or the task's base commit. " +
      `At most ${MAX_DIFFS_PER_REQUEST} diffs per request, counting every checkpoint of the pages they are asked for on`,
    args: { against: t.arg.id({ description: 'A Checkpoint ID of the same contract (another contract\'s: BAD_USER_INPUT); default: the checkpoint this one was built on' }) },
    // Each diff runs git over two commits and may read a large patch: a request gets a few (limits.ts).
    extensions: { maxPerRequest: MAX_DIFFS_PER_REQUEST },
    resolve: (checkpoint, args, ctx) =>
      checkpointDiff(serviceContext(ctx), { checkpoint, againstId: decodeOptionalId(args.against as string | null | undefined, 'Checkpoint', 'against') }),
  }),
);

export const CheckpointConnection = builder.connectionObject({
  type: CheckpointRef,
  name: 'CheckpointConnection',
  description: 'A page of checkpoints, by number',
  extensions: { cursor: ID_CURSOR },
  fields: (t) => ({ totalCount: t.int({ description: TOTAL_COUNT_DESCRIPTION, resolve: resolveTotalCount }) }),
}, { description: 'A checkpoint and its cursor' });

builder.prismaObjectFields(TaskRef, (t) => ({
  checkpoints: t.relatedConnection('checkpoints', { cursor: 'id', totalCount: true, description: "The task's checkpoints, backups included, by number", query: { orderBy: { number: 'asc' } } }, CheckpointConnection),
  forkedAtCheckpoint: t.relation('forkedAtCheckpoint', { nullable: true, description: 'The checkpoint this task was forked at, for a fork at a checkpoint' }),
  forkedAtMessage: t.relation('forkedAtMessage', { nullable: true, description: 'The message this task was forked at, for a fork at a message' }),
}));

builder.prismaObjectField(ConversationSnapshotRef, 'checkpoint', (t) =>
  t.relation('checkpoint', { nullable: true, description: 'The checkpoint this snapshot was taken with (type CHECKPOINT)' }),
);

const CreateCheckpointInput = builder.inputType('CreateCheckpointInput', {
  description: 'A task whose worktree to commit',
  fields: (t) => ({
    taskId: t.id({ required: true, description: 'A Task ID (or its UUID)' }),
    message: t.string({ required: true, description: 'What the checkpoint is: not empty, at most 10,000 characters' }),
    workerId: t.string({ description: 'Set by a worker: the call is a CONFLICT unless this worker holds the task (RUNNING, lease not lapsed)' }),
    commitSha: t.string({
      description:
        'For a task claimed with remote: true: a commit the worker pushed (full sha) that descends from the task\'s head. It is recorded as the checkpoint ' +
        "(the task's branch and headCommit move to it) instead of committing a server worktree; the same commitSha again is the same checkpoint. " +
        'Never arrived: BAD_USER_INPUT; not descending from the head: CONFLICT',
    }),
    isBackup: t.boolean({ defaultValue: false, description: "A backup checkpoint (as a rewind makes): a worker's save of uncommitted work before it stops" }),
  }),
});

const CreateCheckpointPayload = builder.simpleObject('CreateCheckpointPayload', {
  description: 'What createCheckpoint made',
  fields: (t) => ({ checkpoint: t.field({ type: CheckpointRef, description: 'The new checkpoint' }) }),
});

const RewindTaskInput = builder.inputType('RewindTaskInput', {
  description: 'A task and the checkpoint to rewind it to',
  fields: (t) => ({
    taskId: t.id({ required: true, description: 'A Task ID (or its UUID)' }),
    checkpointId: t.id({ required: true, description: 'A checkpoint of this task (of another task: BAD_USER_INPUT)' }),
    mode: t.field({ type: RewindModeEnum, defaultValue: 'CODE', description: 'What to rewind: the code (default), the conversation, or both' }),
    workingTreeCommit: t.string({
      required: false,
      description:
        "For a task with no worktree (an imported or captured session): a commit of the user's own working tree, in the contract's repository, " +
        "recorded as the backup checkpoint instead of the task's head (`makima task rewind --working-tree` makes it). CODE and BOTH only; BAD_USER_INPUT otherwise",
    }),
  }),
});

const RewindTaskPayload = builder.simpleObject('RewindTaskPayload', {
  description: 'What rewindTask moved, and the backups that undo it',
  fields: (t) => ({
    task: t.field({ type: TaskRef, description: 'The task, rewound' }),
    backupCheckpoint: t.field({ type: CheckpointRef, nullable: true, description: 'The worktree before the rewind (CODE, BOTH)' }),
    backupSnapshot: t.field({ type: ConversationSnapshotRef, nullable: true, description: 'The conversation before the rewind (CONVERSATION, BOTH)' }),
  }),
});

const BranchFromCheckpointInput = builder.inputType('BranchFromCheckpointInput', {
  description: 'A checkpoint and the name of the branch to create at it',
  fields: (t) => ({
    taskId: t.id({ required: true, description: 'A Task ID (or its UUID)' }),
    checkpointId: t.id({ required: true, description: 'A checkpoint of this task' }),
    branchName: t.string({ required: true, description: "A new branch name, valid by git's ref rules (else BAD_USER_INPUT); an existing branch is a CONFLICT" }),
  }),
});

const BranchFromCheckpointPayload = builder.simpleObject('BranchFromCheckpointPayload', {
  description: 'The branch branchFromCheckpoint created',
  fields: (t) => ({
    branchName: t.string({ description: 'The new branch' }),
    commitSha: t.string({ description: "The commit it points at: the checkpoint's" }),
  }),
});

builder.mutationFields((t) => ({
  createCheckpoint: t.field({
    ...workerMayReport,
    type: CreateCheckpointPayload,
    description:
      "Commits everything in the task's worktree (tracked and untracked, not ignored) as checkpoint #n with a snapshot of its conversation; " +
      'writes CHECKPOINT/created (and FILE/changed when files changed). BAD_USER_INPUT for a bad message; CONFLICT for a worker that does not hold the task; ' +
      'NOT_FOUND for a task not yours; GIT_ERROR when the worktree is missing or not on its branch',
    args: { input: t.arg({ type: CreateCheckpointInput, required: true, description: 'The arguments, as one object' }) },
    resolve: async (_root, { input }, ctx) => ({
      checkpoint: await createCheckpoint(serviceContext(ctx), {
        taskId: decodeId(String(input.taskId), 'Task', 'taskId'),
        message: input.message,
        workerId: input.workerId,
        commitSha: input.commitSha,
        isBackup: input.isBackup,
      }),
    }),
  }),
  rewindTask: t.field({
    type: RewindTaskPayload,
    description:
      'Rewinds a task to one of its checkpoints. Saves first: the whole worktree as a backup checkpoint (CODE, BOTH) and the conversation as an AUTO ' +
      'snapshot (CONVERSATION, BOTH); rewinding to them undoes it. Writes CHECKPOINT/rewound (and CHAT/rewound). BAD_USER_INPUT for a checkpoint of another ' +
      'task (or CONVERSATION/BOTH to one without a snapshot); CONFLICT while a worker holds the task; NOT_FOUND for one not yours; GIT_ERROR when git cannot',
    args: { input: t.arg({ type: RewindTaskInput, required: true, description: 'The arguments, as one object' }) },
    resolve: (_root, { input }, ctx) =>
      rewindTask(serviceContext(ctx), {
        taskId: decodeId(String(input.taskId), 'Task', 'taskId'),
        checkpointId: decodeId(String(input.checkpointId), 'Checkpoint', 'checkpointId'),
        mode: input.mode ?? 'CODE',
        workingTreeCommit: input.workingTreeCommit,
      }),
  }),
  branchFromCheckpoint: t.field({
    type: BranchFromCheckpointPayload,
    description:
      "Creates a branch at a checkpoint's commit in the contract's repository, never overwriting one; writes CHECKPOINT/branched. " +
      'BAD_USER_INPUT for a name git refuses or a checkpoint of another task; CONFLICT for an existing branch; NOT_FOUND for one not yours',
    args: { input: t.arg({ type: BranchFromCheckpointInput, required: true, description: 'The arguments, as one object' }) },
    resolve: (_root, { input }, ctx) =>
      branchFromCheckpoint(serviceContext(ctx), {
        taskId: decodeId(String(input.taskId), 'Task', 'taskId'),
        checkpointId: decodeId(String(input.checkpointId), 'Checkpoint', 'checkpointId'),
        branchName: input.branchName,
      }),
  }),
}));
