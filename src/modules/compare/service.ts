// Comparing two runs (docs/api.md, "Comparing two runs"): two of the viewer's tasks of one contract —
// two forks of a task, or any two — side by side: where their conversations part, and how the code
// at their heads differs. Only reads; the diff is the checkpoint diff's (its patch budget, binary files).
import type { ServiceContext } from '../../context.js';
import { BadInputError } from '../../errors.js';
import type { ConversationMessage, PrismaClient, Task } from '../../generated/prisma/client.js';
import type { FileChange } from '../../git/index.js';
import { patchBetween } from '../checkpoints/index.js';
import { deepestSharedDepth, pathMessages } from '../conversation/index.js';
import { findOwnTask } from '../../change/access.js';
import { repositoryOf, resolveTaskRef } from '../tasks/index.js';

/** Messages past the shared rows are compared by content this many at a time. */
const CONTENT_BATCH = 200;

/** One task's side of a comparison: its messages after the common prefix. */
export interface ConversationSide {
  task: Task;
  /** The depth the side's own messages start at (the common prefix's length). */
  from: number;
  /** How many messages the side has after the common prefix. */
  count: number;
}

export interface ConversationComparison {
  /** Messages the two conversations begin with alike: the same rows, then the same role, content and tool calls. */
  commonPrefixLength: number;
  /** How many of them are the very same message rows (a fork shares its original's, up to the fork point). */
  sharedMessageCount: number;
  /** The last message of the common prefix, as on a's side; null when the conversations part at once. */
  lastCommonMessage: ConversationMessage | null;
  onlyInA: ConversationSide;
  onlyInB: ConversationSide;
}

/** The code at the two heads: a diff from a's head commit to b's, or why there is none. */
export type CodeComparison =
  | { available: true; fromCommit: string; toCommit: string; files: FileChange[]; patch: () => Promise<{ patch: string; truncated: boolean }> }
  | { available: false; reason: string };

export interface TaskComparison {
  a: Task;
  b: Task;
  conversation: ConversationComparison;
  code: CodeComparison;
}

/**
 * Compares the viewer's tasks `a` and `b` (each an ID or a reference as Query.task(ref:) takes it).
 * NOT_FOUND for a task not theirs; BAD_USER_INPUT for tasks of different contracts. The same task
 * twice is its own comparison: everything shared, no changes.
 */
export async function compareTasks(ctx: ServiceContext, input: { a: string; b: string }): Promise<TaskComparison> {
  const db = ctx.prisma;
  // One after the other, so that a bad `a` is the error reported whatever `b` is.
  const a = await findOwnTask(db, ctx.viewer, await resolveTaskRef(db, ctx.viewer, input.a, 'a'));
  const b = await findOwnTask(db, ctx.viewer, await resolveTaskRef(db, ctx.viewer, input.b, 'b'));
  if (!a.contractId || a.contractId !== b.contractId) {
    throw new BadInputError(
      `task #${a.number} ${a.name} and task #${b.number} ${b.name} belong to different contracts: compare two tasks of one contract (two forks of a task, or any two of its tasks)`,
      'b',
    );
  }
  const [conversation, code] = await Promise.all([compareConversations(db, a, b), compareCode(ctx, a, b)]);
  return { a, b, conversation, code };
}

async function conversationLength(db: PrismaClient, task: Task): Promise<number> {
  if (!task.headMessageId) return 0;
  const head = await db.conversationMessage.findUniqueOrThrow({ where: { id: task.headMessageId }, select: { depth: true } });
  return head.depth + 1;
}

/** Whether two messages say the same: same role, content and tool calls (jsonb keeps keys in one order). */
function sameMessage(x: ConversationMessage, y: ConversationMessage): boolean {
  return x.id === y.id || (x.role === y.role && JSON.stringify(x.content) === JSON.stringify(y.content) && JSON.stringify(x.toolCalls) === JSON.stringify(y.toolCalls));
}

async function compareConversations(db: PrismaClient, a: Task, b: Task): Promise<ConversationComparison> {
  const [lengthA, lengthB, shared] = await Promise.all([conversationLength(db, a), conversationLength(db, b), deepestSharedDepth(db, a.headMessageId, b.headMessageId)]);
  const sharedMessageCount = shared === null ? 0 : shared + 1;
  // Past the shared rows, messages still match when they say the same (two runs of one prompt).
  let prefix = sharedMessageCount;
  const shorter = Math.min(lengthA, lengthB);
  while (prefix < shorter) {
    const to = Math.min(prefix + CONTENT_BATCH, shorter);
    const [xs, ys] = await Promise.all([pathMessages(db, a.headMessageId, prefix, to), pathMessages(db, b.headMessageId, prefix, to)]);
    const differs = xs.findIndex((x, i) => !sameMessage(x, ys[i]));
    if (differs !== -1) {
      prefix += differs;
      break;
    }
    prefix = to;
  }
  const [lastCommonMessage] = prefix > 0 ? await pathMessages(db, a.headMessageId, prefix - 1, prefix) : [];
  return {
    commonPrefixLength: prefix,
    sharedMessageCount,
    lastCommonMessage: lastCommonMessage ?? null,
    onlyInA: { task: a, from: prefix, count: lengthA - prefix },
    onlyInB: { task: b, from: prefix, count: lengthB - prefix },
  };
}

/** A side's first messages after the common prefix, at most `first`. */
export function sideMessages(db: PrismaClient, side: ConversationSide, first: number): Promise<ConversationMessage[]> {
  return pathMessages(db, side.task.headMessageId, side.from, side.from + Math.min(first, side.count));
}

async function compareCode(ctx: ServiceContext, a: Task, b: Task): Promise<CodeComparison> {
  const missing = [a, b].filter((t) => !t.headCommit);
  if (missing.length) {
    return { available: false, reason: `${missing.map((t) => `task #${t.number} ${t.name}`).join(' and ')} ${missing.length > 1 ? 'have' : 'has'} no head commit: no code to compare` };
  }
  const repo = await repositoryOf(ctx.prisma, a);
  const fromCommit = a.headCommit!;
  const toCommit = b.headCommit!;
  const files = await ctx.git.changedFiles(repo, fromCommit, toCommit);
  let patch: Promise<{ patch: string; truncated: boolean }> | undefined;
  return { available: true, fromCommit, toCommit, files, patch: () => (patch ??= patchBetween(ctx.git, repo, fromCommit, toCommit)) };
}
