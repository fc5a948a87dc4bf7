// GraphQL: Checkpoint and its diff, Task.checkpoints / forkedAtCheckpoint / forkedAtMessage,
// ConversationSnapshot.checkpoint, and createCheckpoint, rewindTask and branchFromCheckpoint.
import type { FileChange } from '../../git/index.js';
import { builder } from '../../schema/builder.js';
import { ID_CURSOR } from '../../schema/cursors.js';
import { decodeId, decodeOptionalId, nodeWhere } from '../../schema/ids.js';
import { RewindModeEnum } from '../../schema/enums.js';
import { workerMayReport } from '../../schema/scopes.js';
import { requireViewer, serviceContext } from '../../schema/viewer.js';
import { ConversationSnapshotRef } from '../conversation/schema.js';
import { TaskRef } from '../tasks/schema.js';
import { branchFromCheckpoint } from './branch.js';
import { rewindTask } from './rewind.js';
import { checkpointDiff, createCheckpoint, MAX_DIFFS_PER_REQUEST, type CheckpointDiff } from './service.js';

export const FileChangeRef = builder.objectRef<FileChange>('FileChange').implement({
  description: 'A file that differs between two commits (renames appear as a deletion and an addition)',
  fields: (t) => ({
    path: t.exposeString('path'),
    status: t.exposeString('status', { description: 'added, modified, deleted or type_changed' }),
    additions: t.exposeInt('additions', { description: 'Lines added (0 for a binary file)' }),
    deletions: t.exposeInt('deletions', { description: 'Lines deleted (0 for a binary file)' }),
    binary: t.exposeBoolean('binary'),
  }),
});

export const CheckpointRef = builder.prismaNode('TaskCheckpoint', {
  name: 'Checkpoint',
  id: { field: 'id' },
  findUnique: (id, ctx) => nodeWhere(id, 'Checkpoint', { task: { ownerId: ctx.viewer?.id ?? '' } }),
  fields: (t) => ({
    task: t.relation('task'),
    number: t.exposeInt('number', { description: '1, 2, … per task' }),
    commitSha: t.exposeString('commitSha'),
    message: t.exposeString('message'),
    branch: t.exposeString('branch', { description: 'The branch the commit was made on' }),
    isBackup: t.exposeBoolean('isBackup', { description: 'Saved automatically before a rewind; rewinding to it undoes the rewind' }),
    filesChanged: t.field({
      type: [FileChangeRef],
      description: 'The files this checkpoint changed, against the checkpoint it was built on (see diff)',
      resolve: (checkpoint) => checkpoint.filesChanged as unknown as FileChange[],
    }),
    snapshot: t.relation('snapshot', { nullable: true, description: 'The conversation as it was at this checkpoint' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const CheckpointDiffRef = builder.objectRef<CheckpointDiff>('CheckpointDiff').implement({
  fields: (t) => ({
    files: t.field({ type: [FileChangeRef], resolve: (d) => d.files }),
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
    args: { against: t.arg.id() },
    // Each diff runs git over two commits and may read a large patch: a request gets a few (limits.ts).
    extensions: { maxPerRequest: MAX_DIFFS_PER_REQUEST },
    resolve: (checkpoint, args, ctx) =>
      checkpointDiff(serviceContext(ctx), { checkpoint, againstId: decodeOptionalId(args.against as string | null | undefined, 'Checkpoint', 'against') }),
  }),
);

export const CheckpointConnection = builder.connectionObject({ type: CheckpointRef, name: 'CheckpointConnection', extensions: { cursor: ID_CURSOR } });

builder.prismaObjectFields(TaskRef, (t) => ({
  checkpoints: t.relatedConnection('checkpoints', { cursor: 'id', query: { orderBy: { number: 'asc' } } }, CheckpointConnection),
  forkedAtCheckpoint: t.relation('forkedAtCheckpoint', { nullable: true }),
  forkedAtMessage: t.relation('forkedAtMessage', { nullable: true, description: 'The message this task was forked at, for a fork at a message' }),
}));

builder.prismaObjectField(ConversationSnapshotRef, 'checkpoint', (t) =>
  t.relation('checkpoint', { nullable: true, description: 'The checkpoint this snapshot was taken with (type CHECKPOINT)' }),
);

const CreateCheckpointInput = builder.inputType('CreateCheckpointInput', {
  fields: (t) => ({
    taskId: t.id({ required: true }),
    message: t.string({ required: true }),
    workerId: t.string({ description: 'Set by a worker: the call is a CONFLICT unless this worker holds the task (RUNNING, lease not lapsed)' }),
  }),
});

const CreateCheckpointPayload = builder.simpleObject('CreateCheckpointPayload', {
  fields: (t) => ({ checkpoint: t.field({ type: CheckpointRef }) }),
});

const RewindTaskInput = builder.inputType('RewindTaskInput', {
  fields: (t) => ({
    taskId: t.id({ required: true }),
    checkpointId: t.id({ required: true }),
    mode: t.field({ type: RewindModeEnum, defaultValue: 'CODE' }),
  }),
});

const RewindTaskPayload = builder.simpleObject('RewindTaskPayload', {
  fields: (t) => ({
    task: t.field({ type: TaskRef }),
    backupCheckpoint: t.field({ type: CheckpointRef, nullable: true, description: 'The worktree before the rewind (CODE, BOTH)' }),
    backupSnapshot: t.field({ type: ConversationSnapshotRef, nullable: true, description: 'The conversation before the rewind (CONVERSATION, BOTH)' }),
  }),
});

const BranchFromCheckpointInput = builder.inputType('BranchFromCheckpointInput', {
  fields: (t) => ({ taskId: t.id({ required: true }), checkpointId: t.id({ required: true }), branchName: t.string({ required: true }) }),
});

const BranchFromCheckpointPayload = builder.simpleObject('BranchFromCheckpointPayload', {
  fields: (t) => ({ branchName: t.string(), commitSha: t.string() }),
});

builder.mutationFields((t) => ({
  createCheckpoint: t.field({
    ...workerMayReport,
    type: CreateCheckpointPayload,
    args: { input: t.arg({ type: CreateCheckpointInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      checkpoint: await createCheckpoint(serviceContext(ctx), {
        taskId: decodeId(String(input.taskId), 'Task', 'taskId'),
        message: input.message,
        workerId: input.workerId,
      }),
    }),
  }),
  rewindTask: t.field({
    type: RewindTaskPayload,
    args: { input: t.arg({ type: RewindTaskInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      rewindTask(serviceContext(ctx), {
        taskId: decodeId(String(input.taskId), 'Task', 'taskId'),
        checkpointId: decodeId(String(input.checkpointId), 'Checkpoint', 'checkpointId'),
        mode: input.mode ?? 'CODE',
      }),
  }),
  branchFromCheckpoint: t.field({
    type: BranchFromCheckpointPayload,
    args: { input: t.arg({ type: BranchFromCheckpointInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      branchFromCheckpoint(serviceContext(ctx), {
        taskId: decodeId(String(input.taskId), 'Task', 'taskId'),
        checkpointId: decodeId(String(input.checkpointId), 'Checkpoint', 'checkpointId'),
        branchName: input.branchName,
      }),
  }),
}));
