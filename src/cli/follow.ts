// Following a subscription from a cursor until Ctrl-C (timeline --follow, task events --follow),
// resuming after the last item printed when the connection drops, so that nothing is missed or
// printed twice.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql/language/printer.js';
import { ApiError, type ApiClient } from './client.js';
import { CliError, color } from './output.js';

export interface FollowOptions<R, V, T extends { cursor: string }> {
  document: TypedDocumentNode<R, V>;
  /** The variables to (re-)subscribe with, after `cursor`: the last item printed, or the start. */
  variables(cursor: string | undefined): V;
  /** The item in one result. */
  item(data: R): T | undefined;
  /** What is followed, for messages ("the live timeline"). */
  what: string;
  /** Where to start: the last item already printed, if any. */
  start: T | undefined;
  /** How a message names an item's position ("event 42"). */
  position(item: T): string;
  onItem(item: T): void;
}

/**
 * Follows the subscription until Ctrl-C or SIGTERM. graphql-ws reconnects with backoff after a
 * dropped connection and re-sends the subscribe payload it was given; its variables are a getter,
 * read when the payload is serialised, so each re-subscription asks for the items after the last
 * one printed (and the server sends each item after a cursor exactly once).
 */
export async function follow<R, V, T extends { cursor: string }>(client: ApiClient, options: FollowOptions<R, V, T>): Promise<void> {
  let last = options.start;
  let stopping = false;
  const ws = client.subscriptions({
    retryAttempts: Infinity,
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(5000, 200 * 2 ** retries) * (0.5 + Math.random() / 2))),
    on: {
      closed: () => {
        if (!stopping) process.stderr.write(color.dim('makima: connection lost; reconnecting…\n'));
      },
      connected: (_socket, _payload, wasRetry) => {
        const after = last ? `after ${options.position(last)}` : 'from the start';
        if (wasRetry) process.stderr.write(color.dim(`makima: reconnected; resuming ${after}\n`));
        else process.stderr.write(color.dim('makima: following live events; Ctrl-C stops\n'));
      },
    },
  });
  const payload = {
    query: print(options.document),
    get variables() {
      return options.variables(last?.cursor) as Record<string, unknown>;
    },
  };
  await new Promise<void>((resolve, reject) => {
    const stop = () => {
      stopping = true;
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      unsubscribe();
      void ws.dispose();
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    const unsubscribe = ws.subscribe<R>(payload, {
      next: (result) => {
        if (result.errors?.length) return fail(new ApiError(result.errors));
        const item = result.data ? options.item(result.data) : undefined;
        if (!item) return;
        last = item;
        options.onItem(item);
      },
      error: (err) => fail(Array.isArray(err) ? new ApiError(err) : new CliError(`${options.what} ended: ${describeClose(err)}`)),
      complete: () => stopping || fail(new CliError(`the server ended ${options.what}`)),
    });
    function fail(err: Error) {
      stopping = true;
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void ws.dispose();
      reject(err);
    }
  });
}

function describeClose(err: unknown): string {
  if (err instanceof Error) return err.message;
  const close = err as { code?: number; reason?: string };
  return close.code ? `closed with ${close.code} ${close.reason ?? ''}`.trim() : String(err);
}
