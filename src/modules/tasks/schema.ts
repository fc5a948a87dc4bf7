// GraphQL: Task, `task`, and Task.forks. Fields that other domains own (the conversation, events,
// checkpoints, history, resume) are added by their schema files.
import { builder } from '../../schema/builder.js';
import { ID_CURSOR } from '../../schema/cursors.js';
import { TaskStatusEnum } from '../../schema/enums.js';
import { decodeId, nodeWhere } from '../../schema/ids.js';
import { requireViewer } from '../../schema/viewer.js';
import { resolveTotalCount, TOTAL_COUNT_DESCRIPTION } from '../../schema/total-count.js';
import { findOwnTask } from './access.js';

export const TaskRef = builder.prismaNode('Task', {
  id: { field: 'id' },
  findUnique: (id, ctx) => nodeWhere(id, 'Task', { ownerId: ctx.viewer?.id ?? '' }),
  fields: (t) => ({
    name: t.exposeString('name'),
    prompt: t.exposeString('prompt', { nullable: true }),
    status: t.expose('status', { type: TaskStatusEnum }),
    isSupervisor: t.exposeBoolean('isSupervisor'),
    contract: t.relation('contract', { nullable: true }),
    branch: t.exposeString('branch', { nullable: true }),
    worktreePath: t.exposeString('worktreePath', { nullable: true }),
    baseCommit: t.exposeString('baseCommit', { nullable: true }),
    headCommit: t.exposeString('headCommit', { nullable: true }),
    forkedFrom: t.relation('forkedFrom', { nullable: true }),
    continuedFrom: t.relation('continuedFrom', { nullable: true }),
    lastError: t.exposeString('lastError', { nullable: true, description: 'Why the task last failed, if it did' }),
    leaseExpiresAt: t.expose('leaseExpiresAt', { type: 'DateTime', nullable: true }),
    workerId: t.exposeString('workerId', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

/** The one connection type for lists of tasks (Contract.tasks, Task.forks). */
export const TaskConnection = builder.connectionObject({
  type: TaskRef,
  name: 'TaskConnection',
  extensions: { cursor: ID_CURSOR },
  fields: (t) => ({ totalCount: t.int({ description: TOTAL_COUNT_DESCRIPTION, resolve: resolveTotalCount }) }),
});

builder.prismaObjectField(TaskRef, 'forks', (t) =>
  t.relatedConnection('forks', { cursor: 'id', totalCount: true, query: { orderBy: { createdAt: 'asc' } } }, TaskConnection),
);

builder.queryField('task', (t) =>
  t.prismaField({
    type: 'Task',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) => findOwnTask(ctx.prisma, requireViewer(ctx), decodeId(String(args.id), 'Task'), query),
  }),
);
