// GraphQL: Task, `task`, Task.forks, and `tasks` — the fleet view: the viewer's tasks across
// contracts, with each task's worker and lease. Fields that other domains own (the conversation,
// events, checkpoints, history, resume) are added by their schema files.
import { builder } from '../../schema/builder.js';
import { ID_CURSOR } from '../../schema/cursors.js';
import { TaskStatusEnum } from '../../schema/enums.js';
import { byIdOrRef, decodeOptionalId, nodeWhere } from '../../schema/ids.js';
import { requireViewer } from '../../schema/viewer.js';
import { resolveTotalCount, TOTAL_COUNT_DESCRIPTION } from '../../schema/total-count.js';
import { findOwnTask, MAX_WORKER_ID_LENGTH } from '../../change/access.js';
import { resolveTaskRef } from './refs.js';
import { FLEET_ORDER, fleetWhere } from './fleet.js';

export const TaskRef = builder.prismaNode('Task', {
  description:
    "One agent's work within a contract: its own git worktree and branch, a conversation, checkpoints, events and history. " +
    "Every contract has one supervisor task (isSupervisor)",
  id: { field: 'id' },
  findUnique: (id, ctx) => nodeWhere(id, 'Task', { ownerId: ctx.viewer?.id ?? '' }),
  fields: (t) => ({
    number: t.exposeInt('number', {
      description: "The task's number among your tasks (shown as #42): 1, 2, 3… in creation order, never reused; Query.task(ref: \"#42\") finds it",
    }),
    name: t.exposeString('name', { description: 'A name for people (at most 200 characters)' }),
    prompt: t.exposeString('prompt', { nullable: true, description: 'What the agent is asked to do (at most 100,000 characters)' }),
    status: t.expose('status', { type: TaskStatusEnum, description: 'Where the task is in its life' }),
    isSupervisor: t.exposeBoolean('isSupervisor', { description: "Whether this is its contract's supervisor (created with the contract)" }),
    contract: t.relation('contract', { nullable: true, description: 'The contract the task belongs to' }),
    branch: t.exposeString('branch', { nullable: true, description: "The task's own git branch, makima/<name>-<id>" }),
    worktreePath: t.exposeString('worktreePath', { nullable: true, description: "The task's git worktree, under MAKIMA_WORKTREES_DIR" }),
    baseCommit: t.exposeString('baseCommit', { nullable: true, description: 'The commit the worktree started at' }),
    headCommit: t.exposeString('headCommit', { nullable: true, description: "The commit the task's branch is at, as of its last checkpoint or rewind" }),
    forkedFrom: t.relation('forkedFrom', { nullable: true, description: 'For a fork (forkTask): the task it was forked from' }),
    continuedFrom: t.relation('continuedFrom', { nullable: true, description: "The task whose code this one continues (createTask's continueFromTaskId)" }),
    lastError: t.exposeString('lastError', { nullable: true, description: 'Why the task last failed, if it did' }),
    leaseExpiresAt: t.expose('leaseExpiresAt', { type: 'DateTime', nullable: true, description: "While RUNNING: when the worker's lease lapses unless renewed (renewLease)" }),
    workerId: t.exposeString('workerId', { nullable: true, description: 'While RUNNING: the worker that claimed the task' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the task was created' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the task last changed' }),
  }),
});

/** The one connection type for lists of tasks (Contract.tasks, Task.forks). */
export const TaskConnection = builder.connectionObject(
  {
    type: TaskRef,
    name: 'TaskConnection',
    description: 'A page of tasks',
    extensions: { cursor: ID_CURSOR },
    fields: (t) => ({ totalCount: t.int({ description: TOTAL_COUNT_DESCRIPTION, resolve: resolveTotalCount }) }),
  },
  { description: 'A task and its cursor' },
);

builder.prismaObjectField(TaskRef, 'forks', (t) =>
  t.relatedConnection('forks', { cursor: 'id', totalCount: true, description: 'The tasks forked from this one (forkTask), oldest first', query: { orderBy: { createdAt: 'asc' } } }, TaskConnection),
);

builder.queryField('task', (t) =>
  t.prismaField({
    type: 'Task',
    nullable: true,
    description:
      'One of your tasks, by `id` or by `ref` (exactly one of them); NOT_FOUND when it is not yours or does not exist. ' +
      'A ref that names several of your tasks is BAD_USER_INPUT, with each in extensions.candidates ({ id, number, name, branch, status })',
    args: {
      id: t.arg.id({ description: 'A Task ID (or its UUID)' }),
      ref: t.arg.string({
        description:
          'What a person types: a number (42 or #42), a name (any case), a unique prefix (at least 4 characters) of the UUID, ' +
          'a unique prefix of the branch (with or without makima/), or an ID; the first of these ways that matches decides',
        extensions: { maxLength: 200 },
      }),
    },
    resolve: async (query, _root, args, ctx) => {
      const viewer = requireViewer(ctx);
      const id = await byIdOrRef(args, 'Task', (ref) => resolveTaskRef(ctx.prisma, viewer, ref));
      return findOwnTask(ctx.prisma, viewer, id, query);
    },
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
