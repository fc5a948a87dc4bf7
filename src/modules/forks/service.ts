// Forks (docs/design.md §4): a new task from any checkpoint or message of a task. The original is
// not changed; a fork shares the conversation up to the fork point (one pointer, no copy) and gets
// its own worktree and branch.
import type { ServiceContext, Viewer } from '../../context.js';
import { BadInputError } from '../../errors.js';
import { globalId } from '../../global-id.js';
import type { PrismaClient, Task, TaskCheckpoint } from '../../generated/prisma/client.js';
import { checkpointOfTask, snapshotOfCheckpoint } from '../checkpoints/index.js';
import { findOwnContract } from '../contracts/index.js';
import { assertReachable, isOnPath } from '../conversation/index.js';
import { historyEvent } from '../../change/catalogue.js';
import { assertContractOpen, findOwnTask } from '../../change/access.js';
import { changeWithGit } from '../../change/with-git.js';
import { assertName, MAX_NAME_LENGTH, provisionTask } from '../tasks/index.js';

/** Where a fork starts: a commit for its worktree and a head for its conversation. */
interface ForkPoint {
  commitSha: string;
  headMessageId: string | null;
  messageCount: number;
  checkpoint: TaskCheckpoint | null;
  messageId: string | null;
  /** The checkpoint whose commit the fork's code starts from (null: the task's base commit). */
  codeFrom: TaskCheckpoint | null;
}

async function forkPointAtCheckpoint(db: PrismaClient, viewer: Viewer, task: Task, checkpointId: string): Promise<ForkPoint> {
  const checkpoint = await checkpointOfTask(db, viewer, task, checkpointId);
  const snapshot = await snapshotOfCheckpoint(db, checkpoint);
  return {
    commitSha: checkpoint.commitSha,
    headMessageId: snapshot?.headMessageId ?? null,
    messageCount: snapshot?.messageCount ?? 0,
    checkpoint,
    messageId: null,
    codeFrom: checkpoint,
  };
}

/**
 * A fork at a message: the conversation up to and including the message, and the code of the
 * latest checkpoint (highest number, backups included) whose snapshot lies at or before the message
 * on its path root → message — the code as it was when the conversation had reached that point — or
 * the task's base commit when no checkpoint was taken that early.
 */
async function forkPointAtMessage(db: PrismaClient, task: Task, messageId: string): Promise<ForkPoint> {
  await assertReachable(db, task, messageId);
  const message = await db.conversationMessage.findUniqueOrThrow({ where: { id: messageId } });
  // The code comes from the latest checkpoint whose conversation is a prefix of the message's.
  // Candidates are tried newest first and each test walks up only from the message to the
  // candidate's depth, so the cost does not grow with the conversation's length.
  const candidates = await db.$queryRaw<{ id: string; head_message_id: string | null }[]>`
    SELECT c.id, s.head_message_id
      FROM task_checkpoints c
      JOIN conversation_snapshots s ON s.id = c.conversation_snapshot_id
      LEFT JOIN conversation_messages m ON m.id = s.head_message_id
     WHERE c.task_id = ${task.id}::uuid AND (m.id IS NULL OR m.depth <= ${message.depth})
     ORDER BY c.number DESC`;
  let codeFrom: TaskCheckpoint | null = null;
  for (const candidate of candidates) {
    if (candidate.head_message_id === null || (await isOnPath(db, candidate.head_message_id, message.id))) {
      codeFrom = await db.taskCheckpoint.findUniqueOrThrow({ where: { id: candidate.id } });
      break;
    }
  }
  const commitSha = codeFrom?.commitSha ?? task.baseCommit;
  if (!commitSha) throw new BadInputError(`task ${task.id} has no base commit to fork from`, 'taskId');
  return { commitSha, headMessageId: message.id, messageCount: message.depth + 1, checkpoint: null, messageId: message.id, codeFrom };
}

/** What the fork's first worker is told: where its code and conversation come from. */
function forkNote(original: Task, point: ForkPoint): string {
  const from = `Forked from task "${original.name}" (${globalId('Task', original.id)})`;
  const conversation = `the conversation up to it (${point.messageCount} ${point.messageCount === 1 ? 'message' : 'messages'})`;
  if (point.checkpoint) return `${from} at its checkpoint #${point.checkpoint.number} (commit ${point.commitSha}): this task starts from that checkpoint's code and ${conversation}.`;
  const code = point.codeFrom ? `the code of checkpoint #${point.codeFrom.number} (commit ${point.commitSha})` : `the code of its base commit ${point.commitSha}`;
  return `${from} at its message ${globalId('ConversationMessage', point.messageId!)}: this task starts from ${conversation} and ${code}.`;
}

export interface ForkTaskInput {
  taskId: string;
  /** Exactly one of checkpointId and messageId. */
  checkpointId?: string;
  messageId?: string;
  name?: string | null;
}

/** A new task (pending, reason FORK) at a checkpoint or message of `taskId`; the original is untouched. */
export async function forkTask(ctx: ServiceContext, input: ForkTaskInput): Promise<Task> {
  if (!input.checkpointId === !input.messageId) throw new BadInputError('give exactly one of checkpointId and messageId', 'checkpointId');
  const original = await findOwnTask(ctx.prisma, ctx.viewer, input.taskId);
  const name = input.name == null ? `${original.name} (fork)`.slice(0, MAX_NAME_LENGTH) : assertName(input.name);
  if (!original.contractId) throw new BadInputError(`task ${original.id} has no contract to fork within`, 'taskId');
  const contract = await findOwnContract(ctx.prisma, ctx.viewer, original.contractId);
  assertContractOpen(contract, 'fork a task into it'); // the fork joins the original's contract
  const point = input.checkpointId
    ? await forkPointAtCheckpoint(ctx.prisma, ctx.viewer, original, input.checkpointId)
    : await forkPointAtMessage(ctx.prisma, original, input.messageId!);
  return changeWithGit(ctx, 'fork task', async (change) => {
    const task = await provisionTask(ctx, change, {
      contract,
      name,
      prompt: original.prompt,
      startCommit: point.commitSha,
      pendingReason: 'FORK',
      // A fork of a task whose code lives in its branch is a branch too: its claimant materialises it (docs/design.md §11).
      // A fork of an imported or captured session (no branch, §12) gets a worktree, like any new task.
      codeInRefs: original.codeInRefs && original.branch !== null,
      data: {
        forkedFromTaskId: original.id,
        resumeNote: forkNote(original, point),
        forkedAtCheckpointId: point.checkpoint?.id ?? null,
        forkedAtMessageId: point.messageId,
        headMessageId: point.headMessageId,
        messageCount: point.messageCount,
      },
    });
    change.record(
      historyEvent({ ownerId: ctx.viewer.id, contractId: contract.id, taskId: task.id }, 'TASK', 'forked', {
        fromTaskId: original.id,
        atCheckpointId: point.checkpoint?.id ?? null,
        atCheckpointNumber: point.checkpoint?.number ?? null,
        atMessageId: point.messageId,
        commitSha: point.commitSha,
        codeFromCheckpointId: point.codeFrom?.id ?? null,
        headMessageId: point.headMessageId,
        messageCount: point.messageCount,
      }),
    );
    return task;
  });
}
