// GraphQL: Checkpoint and its diff, Task.checkpoints / forkedAtCheckpoint / forkedAtMessage,
// ConversationSnapshot.checkpoint, and createCheckpoint, rewindTask, rewindConversation,
// branchFromCheckpoint and forkTask.
import type { FileChange } from '../../git/checkpoints.js';
import { builder } from '../../schema/builder.js';
import { decodeId, decodeOptionalId, nodeWhere } from '../../schema/ids.js';
import { requireViewer } from '../../schema/viewer.js';
import { ConversationSnapshotRef } from '../conversation/schema.js';
import { TaskRef } from '../tasks/schema.js';
import { branchFromCheckpoint, forkTask } from './fork.js';
import { rewindConversation, rewindTask } from './rewind.js';
import { checkpointDiff, createCheckpoint, type CheckpointDiff } from './service.js';

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
      "this one was built on — the latest earlier checkpoint in its history (after a rewind, the one rewound to) — or the task's base commit",
    args: { against: t.arg.id() },
    resolve: (checkpoint, args, ctx) =>
      checkpointDiff(ctx.prisma, requireViewer(ctx), checkpoint, decodeOptionalId(args.against as string | null | undefined, 'Checkpoint', 'against')),
  }),
);

export const CheckpointConnection = builder.connectionObject({ type: CheckpointRef, name: 'CheckpointConnection' });

builder.prismaObjectFields(TaskRef, (t) => ({
  checkpoints: t.relatedConnection('checkpoints', { cursor: 'id', query: { orderBy: { number: 'asc' } } }, CheckpointConnection),
  forkedAtCheckpoint: t.relation('forkedAtCheckpoint', { nullable: true }),
  forkedAtMessage: t.relation('forkedAtMessage', { nullable: true, description: 'The message this task was forked at, for a fork at a message' }),
}));

builder.prismaObjectField(ConversationSnapshotRef, 'checkpoint', (t) =>
  t.relation('checkpoint', { nullable: true, description: 'The checkpoint this snapshot was taken with (type CHECKPOINT)' }),
);

export const RewindModeEnum = builder.enumType('RewindMode', {
  values: {
    CODE: { description: "The worktree and branch only (the conversation stays)" },
    CONVERSATION: { description: "The conversation head only (files stay untouched)" },
    BOTH: { description: 'Code and conversation together' },
  } as const,
});

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

const RewindConversationInput = builder.inputType('RewindConversationInput', {
  description: 'Exactly one of contractId (its supervisor) and taskId; exactly one of toMessageId and toSnapshotId',
  fields: (t) => ({ contractId: t.id(), taskId: t.id(), toMessageId: t.id(), toSnapshotId: t.id() }),
});

const RewindConversationPayload = builder.simpleObject('RewindConversationPayload', {
  fields: (t) => ({
    task: t.field({ type: TaskRef }),
    backupSnapshot: t.field({ type: ConversationSnapshotRef, description: 'The old head; rewind to it to undo' }),
  }),
});

const BranchFromCheckpointInput = builder.inputType('BranchFromCheckpointInput', {
  fields: (t) => ({ taskId: t.id({ required: true }), checkpointId: t.id({ required: true }), branchName: t.string({ required: true }) }),
});

const BranchFromCheckpointPayload = builder.simpleObject('BranchFromCheckpointPayload', {
  fields: (t) => ({ branchName: t.string(), commitSha: t.string() }),
});

const ForkTaskInput = builder.inputType('ForkTaskInput', {
  description: 'Exactly one of checkpointId and messageId',
  fields: (t) => ({ taskId: t.id({ required: true }), checkpointId: t.id(), messageId: t.id(), name: t.string() }),
});

const ForkTaskPayload = builder.simpleObject('ForkTaskPayload', {
  fields: (t) => ({ task: t.field({ type: TaskRef }) }),
});

const optionalId = (value: unknown, typename: string, field: string) => decodeOptionalId(value as string | null | undefined, typename, field);

builder.mutationFields((t) => ({
  createCheckpoint: t.field({
    type: CreateCheckpointPayload,
    args: { input: t.arg({ type: CreateCheckpointInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      checkpoint: await createCheckpoint(ctx, requireViewer(ctx), {
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
      rewindTask(ctx, requireViewer(ctx), {
        taskId: decodeId(String(input.taskId), 'Task', 'taskId'),
        checkpointId: decodeId(String(input.checkpointId), 'Checkpoint', 'checkpointId'),
        mode: input.mode ?? 'CODE',
      }),
  }),
  rewindConversation: t.field({
    type: RewindConversationPayload,
    args: { input: t.arg({ type: RewindConversationInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      rewindConversation(ctx, requireViewer(ctx), {
        contractId: optionalId(input.contractId, 'Contract', 'contractId'),
        taskId: optionalId(input.taskId, 'Task', 'taskId'),
        toMessageId: optionalId(input.toMessageId, 'ConversationMessage', 'toMessageId'),
        toSnapshotId: optionalId(input.toSnapshotId, 'ConversationSnapshot', 'toSnapshotId'),
      }),
  }),
  branchFromCheckpoint: t.field({
    type: BranchFromCheckpointPayload,
    args: { input: t.arg({ type: BranchFromCheckpointInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      branchFromCheckpoint(ctx, requireViewer(ctx), {
        taskId: decodeId(String(input.taskId), 'Task', 'taskId'),
        checkpointId: decodeId(String(input.checkpointId), 'Checkpoint', 'checkpointId'),
        branchName: input.branchName,
      }),
  }),
  forkTask: t.field({
    type: ForkTaskPayload,
    args: { input: t.arg({ type: ForkTaskInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      task: await forkTask(ctx, requireViewer(ctx), {
        taskId: decodeId(String(input.taskId), 'Task', 'taskId'),
        checkpointId: optionalId(input.checkpointId, 'Checkpoint', 'checkpointId'),
        messageId: optionalId(input.messageId, 'ConversationMessage', 'messageId'),
        name: input.name,
      }),
    }),
  }),
}));
