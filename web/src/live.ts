// A subscription that survives dropped sockets: it remembers the cursor of the last event it
// delivered and, when the socket drops, subscribes again from there — so nothing is missed (the
// server replays everything after the cursor, then goes live) and nothing is delivered twice (an
// event at or before the last seq seen is skipped).
import { ApiError, wsClient } from './api';
import type { TypedDocumentString } from './generated/graphql';

export interface Positioned {
  cursor: string;
  seq: string | number;
}

export interface FollowOptions<T, V, K extends keyof T> {
  /** The subscription, a typed document from `graphql()` (web/src/generated). */
  document: TypedDocumentString<T, V>;
  /** The subscription's variables, given the cursor to start after (undefined: live only). */
  variables: (after: string | undefined) => V;
  /** The subscription field that holds the event (`timeline`, `taskEvents`). */
  field: K;
  after: string | undefined;
  onEvent: (event: T[K]) => void;
  /** An error the API gave for the subscription itself (it is not retried). */
  onError?: (error: ApiError) => void;
}

const RETRY_MS = [250, 500, 1000, 2000, 4000];

/** Follows a subscription until the returned function is called. */
export function follow<T extends { [key in K]: Positioned }, V, K extends keyof T>(options: FollowOptions<T, V, K>): () => void {
  let after = options.after;
  let lastSeq: bigint | undefined;
  let stopped = false;
  let unsubscribe: (() => void) | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;

  const start = () => {
    if (stopped) return;
    unsubscribe = wsClient().subscribe<T>(
      { query: options.document.toString(), variables: options.variables(after) as Record<string, unknown> },
      {
        next: (result) => {
          failures = 0;
          const error = result.errors?.[0] as { message: string; extensions?: { code?: string } } | undefined;
          if (error) return options.onError?.(new ApiError(error.message, error.extensions?.code));
          const event = result.data?.[options.field];
          if (!event) return;
          const seq = BigInt(event.seq);
          if (lastSeq !== undefined && seq <= lastSeq) return;
          lastSeq = seq;
          after = event.cursor;
          options.onEvent(event);
        },
        error: (err) => {
          if (Array.isArray(err)) {
            const first = err[0] as { message: string; extensions?: { code?: string } };
            return options.onError?.(new ApiError(first.message, first.extensions?.code));
          }
          retry();
        },
        // The server ends a subscription when it stops (1001) or the subscriber fell behind: go on.
        complete: () => retry(),
      },
    );
  };
  const retry = () => {
    if (stopped) return;
    timer = setTimeout(start, RETRY_MS[Math.min(failures++, RETRY_MS.length - 1)]);
  };
  start();
  return () => {
    stopped = true;
    clearTimeout(timer);
    unsubscribe?.();
  };
}
