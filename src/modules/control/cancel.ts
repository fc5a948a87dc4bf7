// Cancelling a task (docs/api.md, "Cancel and archive"): a task no worker runs is CANCELLED at once; a
// RUNNING one is asked to stop — cancel_requested_at is set, and its worker learns it at its next
// renew or report (change/access.ts holdTask answers CONFLICT with `reason: CANCELLED` and the task
// ends CANCELLED), or, if the worker is gone, when its lease lapses.
import type { ServiceContext } from '../../context.js';
import { change } from '../../db/change.js';
import { BadInputError, ConflictError } from '../../errors.js';
import type { Task } from '../../generated/prisma/client.js';
import { aboutTask, historyEvent } from '../../change/catalogue.js';
import { assertTaskOpen, databaseNow, interruptLapsed, lockTask } from '../../change/access.js';

export const MAX_CANCEL_REASON_LENGTH = 2000;

export interface CancelTaskInput {
  taskId: string;
  reason?: string | null;
}

function assertReason(reason: string | null | undefined): string | null {
  const trimmed = reason?.trim();
  if (!trimmed) return null;
  if (trimmed.length > MAX_CANCEL_REASON_LENGTH) throw new BadInputError(`reason is longer than ${MAX_CANCEL_REASON_LENGTH} characters`, 'reason');
  return trimmed;
}

export async function cancelTask(ctx: ServiceContext, input: CancelTaskInput): Promise<Task> {
  const reason = assertReason(input.reason);
  return change(ctx.prisma, async (tx, record) => {
    let task = await lockTask(tx, ctx.viewer, input.taskId);
    assertTaskOpen(task, 'cancel the task');
    if (task.isSupervisor) {
      throw new BadInputError(`task ${task.id} is a contract's supervisor; it is not cancelled on its own — archive the contract instead`, 'taskId');
    }
    // A running task whose worker is gone is not running: settle its lapsed lease first.
    if (task.status === 'RUNNING' && (await interruptLapsed(tx, record, 'cancel task', task.id)).length) {
      task = await tx.task.findUniqueOrThrow({ where: { id: task.id } });
    }
    switch (task.status) {
      case 'PENDING':
      case 'INTERRUPTED':
      case 'FAILED': {
        const cancelled = await tx.task.update({
          where: { id: task.id },
          data: { status: 'CANCELLED', cancelReason: reason, pendingReason: null, resumeNote: null, version: { increment: 1 } },
        });
        record(historyEvent(aboutTask(task), 'TASK', 'cancelled', { from: task.status, to: 'CANCELLED', reason, workerId: null, detectedBy: 'cancel task' }));
        return cancelled;
      }
      case 'RUNNING': {
        if (task.cancelRequestedAt) {
          throw new ConflictError(`task ${task.id} was already asked to stop at ${task.cancelRequestedAt.toISOString()}; its worker is told at its next renew or report`, {
            cancelRequestedAt: task.cancelRequestedAt.toISOString(),
          });
        }
        const requested = await tx.task.update({
          where: { id: task.id },
          data: { cancelRequestedAt: await databaseNow(tx), cancelReason: reason, version: { increment: 1 } },
        });
        record(historyEvent(aboutTask(task), 'TASK', 'cancel_requested', { reason, workerId: task.workerId }));
        return requested;
      }
      default:
        throw new ConflictError(`task ${task.id} is ${task.status}: it has already finished, so there is nothing to cancel`, { status: task.status });
    }
  });
}
