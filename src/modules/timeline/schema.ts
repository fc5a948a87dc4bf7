// GraphQL: Subscription.timeline, Subscription.contractHistory and Subscription.taskEvents over
// graphql-ws (and yoga's SSE): catch-up after the cursor, then live (DESIGN §6).
import { parsePrismaCursor } from '@pothos/plugin-prisma';
import type { Context } from '../../context.js';
import { BadInputError } from '../../errors.js';
import { builder } from '../../schema/builder.js';
import { decodeId } from '../../schema/ids.js';
import { requireViewer } from '../../schema/viewer.js';
import { decodeHistoryFilter, HistoryEventRef, HistoryFilterInput } from '../history/schema.js';
import { SUBSCRIBER_TOO_SLOW_REASON, SubscriberTooSlowError } from '../../errors.js';
import { CLOSE_SUBSCRIBER_TOO_SLOW } from './live.js';
import { followContractHistory, followTaskEvents, followTimeline, type Live } from './service.js';
import { TaskEventRef } from '../events/schema.js';

/** The seq inside a connection cursor (`HistoryEvent.cursor`, `TaskEvent.cursor`). */
function parseSeqCursor(after: string | null | undefined, taskId?: string): bigint | undefined {
  if (after == null) return undefined;
  let value: unknown;
  try {
    value = parsePrismaCursor(after);
  } catch {
    throw new BadInputError(`after: "${after.slice(0, 60)}" is not a cursor of this stream`, 'after');
  }
  // A task event's cursor is (taskId, seq): it must be of the stream it is passed to.
  if (Array.isArray(value)) {
    if (taskId === undefined || value[0] !== taskId) throw new BadInputError(`after: "${after.slice(0, 60)}" is not a cursor of this stream`, 'after');
    value = value[value.length - 1];
  }
  if ((typeof value === 'bigint' || (typeof value === 'number' && Number.isSafeInteger(value))) && value >= 0) return BigInt(value);
  throw new BadInputError(`after: "${after.slice(0, 60)}" is not a cursor of this stream`, 'after');
}

/** On overflow a graphql-ws socket is closed with a code the client can act on (reconnect with its cursor). */
function closeSlowSubscriber(ctx: Context): () => void {
  return () => ctx.closeSocket?.(CLOSE_SUBSCRIBER_TOO_SLOW, SUBSCRIBER_TOO_SLOW_REASON);
}

/** The event to resolve; a subscriber that fell behind gets its error as the stream's last result. */
function liveEvent<T>(item: Live<T>): T {
  if (item instanceof SubscriberTooSlowError) throw item;
  return item;
}

builder.subscriptionFields((t) => ({
  timeline: t.field({
    type: HistoryEventRef,
    description: "The viewer's history events matching `filter`: oldest first after the cursor `after`, then live",
    args: { filter: t.arg({ type: HistoryFilterInput }), after: t.arg.string() },
    subscribe: (_root, args, ctx) =>
      followTimeline(ctx, requireViewer(ctx), decodeHistoryFilter(args.filter), { after: parseSeqCursor(args.after), onOverflow: closeSlowSubscriber(ctx) }),
    resolve: liveEvent,
  }),
  contractHistory: t.field({
    type: HistoryEventRef,
    description: "A contract's history events across all phases: oldest first after the cursor `after`, then live",
    args: { contractId: t.arg.id({ required: true }), after: t.arg.string() },
    subscribe: (_root, args, ctx) =>
      followContractHistory(ctx, requireViewer(ctx), decodeId(String(args.contractId), 'Contract', 'contractId'), {
        after: parseSeqCursor(args.after),
        onOverflow: closeSlowSubscriber(ctx),
      }),
    resolve: liveEvent,
  }),
  taskEvents: t.field({
    type: TaskEventRef,
    description: "A task's output, tool calls, tool results and errors: oldest first after the cursor `after`, then live",
    args: { taskId: t.arg.id({ required: true }), after: t.arg.string() },
    subscribe: (_root, args, ctx) => {
      const taskId = decodeId(String(args.taskId), 'Task', 'taskId');
      return followTaskEvents(ctx, requireViewer(ctx), taskId, {
        after: parseSeqCursor(args.after, taskId),
        onOverflow: closeSlowSubscriber(ctx),
      });
    },
    resolve: liveEvent,
  }),
}));
