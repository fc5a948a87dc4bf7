// GraphQL: Task, `task`, Task.forks, and `tasks` — the fleet view: the viewer's tasks across
// contracts, with each task's worker and lease. Fields that other domains own (the conversation,
// events, checkpoints, history, resume) are added by their schema files.
import { builder } from '../../schema/builder.js';
import { ID_CURSOR } from '../../schema/cursors.js';
import { TaskStatusEnum } from '../../schema/enums.js';
import { decodeId, decodeOptionalId, nodeWhere } from '../../schema/ids.js';
import { requireViewer } from '../../schema/viewer.js';
import { findOwnTask, MAX_WORKER_ID_LENGTH } from './access.js';
import { FLEET_ORDER, fleetWhere } from './fleet.js';

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
export const TaskConnection = builder.connectionObject({ type: TaskRef, name: 'TaskConnection', extensions: { cursor: ID_CURSOR } });

builder.prismaObjectField(TaskRef, 'forks', (t) =>
  t.relatedConnection('forks', { cursor: 'id', query: { orderBy: { createdAt: 'asc' } } }, TaskConnection),
);

builder.queryField('task', (t) =>
  t.prismaField({
    type: 'Task',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) => findOwnTask(ctx.prisma, requireViewer(ctx), decodeId(String(args.id), 'Task'), query),
  }),
);

const TaskFilterInput = builder.inputType('TaskFilter', {
  description: 'Which of your tasks Query.tasks lists; every field narrows the list, an omitted field does not filter.',
  fields: (t) => ({
    status: t.field({
      type: [TaskStatusEnum],
      description: 'Only tasks in one of these statuses (an empty list means any status)',
    }),
    contractId: t.id({ description: "Only this contract's tasks (its supervisor included); a global ID or raw UUID, BAD_USER_INPUT if it is another type's" }),
    workerId: t.string({
      description: `Only tasks that this worker holds or last held (the workerId it claims with); at most ${MAX_WORKER_ID_LENGTH} printable characters`,
      extensions: { maxLength: MAX_WORKER_ID_LENGTH },
    }),
  }),
});

builder.queryField('tasks', (t) =>
  t.prismaConnection(
    {
      type: 'Task',
      cursor: 'id',
      description:
        "Your tasks across all contracts, newest first: the fleet view. Each task's workerId and leaseExpiresAt say which worker runs it and until when its lease holds. Only your own tasks are listed. `first` is at most 100.",
      args: { filter: t.arg({ type: TaskFilterInput, description: 'Narrows the list by status, contract or worker' }) },
      resolve: (query, _root, args, ctx) => {
        const filter = args.filter ?? {};
        const where = fleetWhere(requireViewer(ctx), {
          status: filter.status,
          contractId: decodeOptionalId(filter.contractId as string | null | undefined, 'Contract', 'filter.contractId'),
          workerId: filter.workerId,
        });
        return ctx.prisma.task.findMany({ ...query, where, orderBy: FLEET_ORDER });
      },
    },
    TaskConnection,
  ),
);
