// What every subscription shares: the seq inside a stream's cursor, closing a subscriber that fell
// too far behind, and ending its stream with the reason (live/follow.ts, live/hub.ts); and executing
// each live event once for all the subscribers that would compute the same result.
import { parsePrismaCursor } from '@pothos/plugin-prisma';
import {
  createSourceEventStream,
  execute,
  getOperationAST,
  GraphQLError,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type OperationDefinitionNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../context.js';
import { BadInputError, SUBSCRIBER_TOO_SLOW_REASON, SubscriberTooSlowError } from '../errors.js';
import type { Live } from '../live/follow.js';
import { CloseCode } from '../http/ws.js';

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

/**
 * One execution per live event per kind of subscriber (docs/design.md §6, "Shared delivery"): the
 * hub hands the same event object to every feed of its owner, so subscribers running the same
 * document with the same variables, as the same viewer, would compute the same result. The first
 * of them executes the selection on it; the others reuse that result (and, over graphql-ws, its
 * serialization: http/graphql-ws.ts). Catch-up rows are read per subscriber and are never shared.
 */
type PromiseOrValue<T> = T | Promise<T>;

const sharedResults = new WeakMap<object, Map<string, PromiseOrValue<ExecutionResult>>>();
/** Results handed to more than one subscriber may be serialized once (http/graphql-ws.ts). */
const shareable = new WeakSet<object>();
const documentIds = new WeakMap<DocumentNode, number>();
/** Subscription events executed, and those answered with another subscriber's result (tests read it). */
export const subscriptionEventStats = { executed: 0, shared: 0 };
let nextDocumentId = 0;

/** Whether `result` is one execution of a live event, the same for every subscriber of its key. */
export function isSharedResult(result: unknown): boolean {
  return typeof result === 'object' && result !== null && shareable.has(result);
}

/** What decides a subscription event's result besides the event: the operation and the viewer. */
function executionKey(args: ExecutionArgs): string {
  let documentId = documentIds.get(args.document);
  if (documentId === undefined) documentIds.set(args.document, (documentId = ++nextDocumentId));
  const viewer = (args.contextValue as Context).viewer;
  return JSON.stringify([documentId, args.operationName ?? null, args.variableValues ?? null, viewer?.id ?? null, viewer?.isAdmin ?? null, viewer?.scope ?? null]);
}

function executeShared(args: ExecutionArgs, key: string, event: unknown): PromiseOrValue<ExecutionResult> {
  if (typeof event !== 'object' || event === null) {
    subscriptionEventStats.executed++;
    return execute({ ...args, rootValue: event });
  }
  let byKey = sharedResults.get(event);
  if (!byKey) sharedResults.set(event, (byKey = new Map()));
  let result = byKey.get(key);
  if (result !== undefined) subscriptionEventStats.shared++;
  else {
    subscriptionEventStats.executed++;
    result = execute({ ...args, rootValue: event });
    const remember = (r: ExecutionResult) => (shareable.add(r), r);
    result = isPromise(result) ? result.then(remember) : remember(result);
    byKey.set(key, result);
  }
  return result;
}

function isPromise<T>(value: PromiseOrValue<T>): value is Promise<T> {
  return typeof (value as Promise<T> | undefined)?.then === 'function';
}

/** The subscription's events mapped to their (shared) results; closing it closes the source. */
function mapEvents(source: AsyncIterable<unknown>, map: (event: unknown) => PromiseOrValue<ExecutionResult>, operation: OperationDefinitionNode | null): AsyncGenerator<ExecutionResult> {
  const iterator = source[Symbol.asyncIterator]();
  const step = async (result: IteratorResult<unknown>): Promise<IteratorResult<ExecutionResult>> => {
    if (result.done) return { done: true, value: undefined };
    return { done: false, value: await map(result.value) };
  };
  // An error of the event stream itself (a catch-up read failing) ends the operation as graphql-tools' executor words it.
  const wrap = (err: unknown): never => {
    if (err instanceof GraphQLError) throw err;
    throw new GraphQLError((err as Error).message, { originalError: err as Error, nodes: operation ? [operation] : undefined });
  };
  const mapped: AsyncGenerator<ExecutionResult> = {
    next: () => iterator.next().then(step, wrap),
    return: async () => step((await iterator.return?.()) ?? { done: true, value: undefined }),
    throw: async (err: unknown) => {
      if (iterator.throw) return step(await iterator.throw(err));
      await iterator.return?.();
      throw err;
    },
    [Symbol.asyncIterator]: () => mapped,
  } as AsyncGenerator<ExecutionResult>;
  return mapped;
}

/**
 * Subscriptions run their events through executeShared instead of once per subscriber. Everything
 * else stays: the plugins' onSubscribe and onSubscribeResult hooks (limits, error masking, codes)
 * act on the event stream and its results as before.
 */
export function sharedSubscriptionEvents(): Plugin {
  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(async (args: ExecutionArgs) => {
        const stream = await createSourceEventStream(args);
        if (!(Symbol.asyncIterator in stream)) return stream;
        const key = executionKey(args);
        return mapEvents(stream, (event) => executeShared(args, key, event), getOperationAST(args.document, args.operationName) ?? null);
      });
    },
  };
}
