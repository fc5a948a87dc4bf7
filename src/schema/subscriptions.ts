// What every subscription shares: the seq inside a stream's cursor, closing a subscriber that fell
// too far behind, and ending its stream with the reason (live/follow.ts, live/hub.ts).
import { parsePrismaCursor } from '@pothos/plugin-prisma';
import type { Context } from '../context.js';
import { BadInputError, SUBSCRIBER_TOO_SLOW_REASON, SubscriberTooSlowError } from '../errors.js';
import type { Live } from '../live/follow.js';
import { CloseCode } from '../ws.js';

/** The seq inside a connection cursor (`HistoryEvent.cursor`, `TaskEvent.cursor`). */
export function parseSeqCursor(after: string | null | undefined, taskId?: string): bigint | undefined {
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
export function closeSlowSubscriber(ctx: Context): () => void {
  return () => ctx.closeSocket?.(CloseCode.SubscriberTooSlow, SUBSCRIBER_TOO_SLOW_REASON);
}

/** The event to resolve; a subscriber that fell behind gets its error as the stream's last result. */
export function liveEvent<T>(item: Live<T>): T {
  if (item instanceof SubscriberTooSlowError) throw item;
  return item;
}
