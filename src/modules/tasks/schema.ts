// GraphQL: Task, its statuses, `task`, `Contract.supervisor`, `Contract.tasks` and `createTask`.
import { NotFoundError } from '../../errors.js';
import { TaskStatus } from '../../generated/prisma/enums.js';
import { builder } from '../../schema/builder.js';
import { decodeId, decodeOptionalId, nodeWhere } from '../../schema/ids.js';
import { requireViewer } from '../../schema/viewer.js';
import { ContractRef } from '../contracts/schema.js';
import { createTask } from './service.js';

export const TaskStatusEnum = builder.enumType(TaskStatus, { name: 'TaskStatus' });

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
export const TaskConnection = builder.connectionObject({ type: TaskRef, name: 'TaskConnection' });

builder.prismaObjectField(TaskRef, 'forks', (t) =>
  t.relatedConnection('forks', { cursor: 'id', query: { orderBy: { createdAt: 'asc' } } }, TaskConnection),
);

builder.prismaObjectFields(ContractRef, (t) => ({
  supervisor: t.prismaField({
    type: 'Task',
    resolve: (query, contract, _args, ctx) =>
      ctx.prisma.task.findFirstOrThrow({ ...query, where: { contractId: contract.id, isSupervisor: true } }),
  }),
  tasks: t.relatedConnection('tasks', {
    cursor: 'id',
    args: { status: t.arg({ type: [TaskStatusEnum] }) },
    query: (args) => ({
      where: args.status?.length ? { status: { in: args.status } } : {},
      orderBy: { createdAt: 'asc' },
    }),
  }, TaskConnection),
}));

builder.queryField('task', (t) =>
  t.prismaField({
    type: 'Task',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const id = decodeId(String(args.id), 'Task');
      const task = await ctx.prisma.task.findFirst({ ...query, where: { id, ownerId: requireViewer(ctx).id } });
      if (!task) throw new NotFoundError('task', String(args.id));
      return task;
    },
  }),
);

const CreateTaskInput = builder.inputType('CreateTaskInput', {
  fields: (t) => ({
    contractId: t.id({ required: true }),
    name: t.string({ required: true }),
    prompt: t.string(),
    continueFromTaskId: t.id({ description: "Start the new worktree at this task's head commit" }),
  }),
});

const CreateTaskPayload = builder.simpleObject('CreateTaskPayload', {
  fields: (t) => ({ task: t.field({ type: TaskRef, nullable: false }) }),
});

builder.mutationField('createTask', (t) =>
  t.field({
    type: CreateTaskPayload,
    args: { input: t.arg({ type: CreateTaskInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      task: await createTask(ctx, requireViewer(ctx), {
        contractId: decodeId(String(input.contractId), 'Contract', 'contractId'),
        name: input.name,
        prompt: input.prompt,
        continueFromTaskId: decodeOptionalId(input.continueFromTaskId as string | null | undefined, 'Task', 'continueFromTaskId'),
      }),
    }),
  }),
);
