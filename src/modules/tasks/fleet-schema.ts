// GraphQL: Query.tasks, the fleet view — the viewer's tasks across contracts, filtered by status,
// contract or worker, with each task's worker and lease (Task.workerId, Task.leaseExpiresAt).
import { builder } from '../../schema/builder.js';
import { TaskStatusEnum } from '../../schema/enums.js';
import { decodeOptionalId } from '../../schema/ids.js';
import { requireViewer } from '../../schema/viewer.js';
import { FLEET_ORDER, fleetWhere } from './fleet.js';
import { MAX_WORKER_ID_LENGTH } from './access.js';
import { TaskConnection } from './schema.js';

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
