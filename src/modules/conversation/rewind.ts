// Rewinding a conversation (docs/design.md §4): the head moves back (or anywhere in the task's
// tree) after an AUTO snapshot of the old head, so the rewind can be undone by rewinding to that
// snapshot. Nothing is deleted. Code rewinds build on this (checkpoints/rewind.ts).
import type { ServiceContext } from '../../context.js';
import { change, type RecordEvent, type Tx } from '../../db/change.js';
import { BadInputError } from '../../errors.js';
import { Prisma, type ConversationSnapshot, type Task } from '../../generated/prisma/client.js';
import { findSupervisor } from '../contracts/index.js';
import { aboutTask, historyEvent, type EventData } from '../../change/catalogue.js';
import { assertNotHeldByWorker, holdTask } from '../../change/access.js';
import { assertReachable, snapshotHead, snapshotOfTask } from './service.js';

/** Why a conversation was rewound, as its CHAT/rewound event says. */
export type RewindReason = Pick<EventData<'CHAT', 'rewound'>, 'toMessageId' | 'toSnapshotId' | 'checkpointId' | 'checkpointNumber' | 'snapshotId' | 'reason'>;

/**
 * Moves the task's head to `messageId` (or empties it) and bumps the version. The task's agent
 * session goes with the old head: the agent's own copy of it holds every turn, and a resume that
 * loaded it would give the agent back what was rewound away (docs/design.md §15).
 */
export async function moveHead(tx: Tx, task: Task, messageId: string | null): Promise<Task> {
  let count = 0;
  if (messageId) {
    const m = await tx.conversationMessage.findUniqueOrThrow({ where: { id: messageId } });
    count = m.depth + 1;
  }
  return tx.task.update({ where: { id: task.id }, data: { headMessageId: messageId, messageCount: count, agentSession: Prisma.DbNull, version: { increment: 1 } } });
}

export interface ConversationRewind {
  task: Task;
  backupSnapshot: ConversationSnapshot;
}

/**
 * Moves the task's head back (or anywhere in its tree) to `messageId`, after an AUTO snapshot of the
 * old head so the rewind can be undone by rewinding to that snapshot. Nothing is deleted.
 * `messageId` must be on the task's current path, written by the task, or the head of one of its
 * snapshots; `null` empties the conversation.
 */
export async function rewindConversationInTx(
  tx: Tx,
  record: RecordEvent,
  task: Task,
  messageId: string | null,
  reason: RewindReason,
): Promise<ConversationRewind> {
  if (messageId !== null) await assertReachable(tx, task, messageId);
  const backupSnapshot = await snapshotHead(tx, task, 'AUTO', { metadata: { reason: 'before rewind', ...reason } });
  // Task.agentSession as workers/agent.ts records it; only its id is said here.
  const session = task.agentSession as { sessionId: string } | null;
  const updated = await moveHead(tx, task, messageId);
  record(
    historyEvent(aboutTask(task), 'CHAT', 'rewound', {
      fromHeadId: task.headMessageId,
      fromMessageCount: task.messageCount,
      toHeadId: messageId,
      toMessageCount: updated.messageCount,
      backupSnapshotId: backupSnapshot.id,
      ...reason,
      ...(session ? { forgottenAgentSessionId: session.sessionId } : {}),
    }),
  );
  return { task: updated, backupSnapshot };
}

export interface RewindConversationInput {
  /** Exactly one of contractId (its supervisor's conversation) and taskId. */
  contractId?: string;
  taskId?: string;
  /** Exactly one of toMessageId and toSnapshotId. */
  toMessageId?: string;
  toSnapshotId?: string;
}

/**
 * Moves a task's (or a contract supervisor's) conversation head to a message or to a snapshot's
 * head. The returned AUTO snapshot holds the old head: rewinding to it undoes the rewind.
 */
export async function rewindConversation(ctx: ServiceContext, input: RewindConversationInput): Promise<ConversationRewind> {
  if (!input.contractId === !input.taskId) throw new BadInputError('give exactly one of contractId and taskId', 'taskId');
  if (!input.toMessageId === !input.toSnapshotId) throw new BadInputError('give exactly one of toMessageId and toSnapshotId', 'toMessageId');
  const taskId = input.taskId ?? (await findSupervisor(ctx.prisma, ctx.viewer, input.contractId!)).id;
  return change(ctx.prisma, async (tx, record) => {
    const task = await holdTask(tx, record, ctx.viewer, { taskId, action: 'rewind the conversation' });
    await assertNotHeldByWorker(tx, task, 'rewound');
    if (input.toMessageId) return rewindConversationInTx(tx, record, task, input.toMessageId, { toMessageId: input.toMessageId });
    const snapshot = await snapshotOfTask(tx, ctx.viewer, task, input.toSnapshotId!, 'toSnapshotId');
    return rewindConversationInTx(tx, record, task, snapshot.headMessageId, { toSnapshotId: snapshot.id });
  });
}
