// Real graphql-ws clients for the live tests: a subscription that collects what it receives and
// lets a test await a condition (never a sleep), and a raw socket that can stop reading.
import { once } from 'node:events';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { createClient, type Client, type ClientOptions } from 'graphql-ws';
import { print, type DocumentNode, type ExecutionResult } from 'graphql';
import WebSocket from 'ws';

/** A graphql-ws client authenticated with `token` (none: no authorization at all); it never retries. */
export function wsClient(url: string, token?: string, options: Partial<ClientOptions> = {}): Client {
  return createClient({
    url,
    webSocketImpl: WebSocket,
    connectionParams: token === undefined ? {} : { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    ...options,
  });
}

export type Ending = { kind: 'complete' } | { kind: 'error'; error: unknown };

export interface Collected<T> {
  /** The payloads received, in order (results with errors are in `errors`). */
  items: T[];
  errors: unknown[];
  ended: Promise<Ending>;
  /** Resolves once `predicate(items)` holds; rejects if the subscription ends first. */
  until(predicate: (items: T[]) => boolean, what?: string): Promise<T[]>;
  /** Resolves once at least `count` items were received. */
  count(count: number): Promise<T[]>;
  /** Stops the subscription (the client stays connected). */
  stop(): void;
}

/** Subscribes and collects `data[field]` of every result (typed by the document when it is typed). */
export function collect<R, V, K extends keyof R>(client: Client, doc: TypedDocumentNode<R, V>, variables: V, field: K): Collected<R[K]>;
/** Subscribes with a document as text (for one that is invalid on purpose). */
export function collect<T = any>(client: Client, query: string, variables: Record<string, unknown>, field: string): Collected<T>;
export function collect<T>(client: Client, doc: DocumentNode | string, variables: Record<string, unknown>, field: PropertyKey): Collected<T> {
  const query = typeof doc === 'string' ? doc : print(doc);
  const items: T[] = [];
  const errors: unknown[] = [];
  let waiters: { check: () => boolean; resolve: () => void; reject: (e: Error) => void; what: string }[] = [];
  let ending: Ending | undefined;
  let settle: (e: Ending) => void = () => undefined;
  const ended = new Promise<Ending>((resolve) => (settle = resolve));

  const wake = () => {
    waiters = waiters.filter((w) => {
      if (w.check()) w.resolve();
      else if (ending) w.reject(new Error(`subscription ended (${describe(ending)}) before ${w.what}; received ${items.length}`));
      else return true;
      return false;
    });
  };
  const finish = (e: Ending) => {
    ending ??= e;
    settle(e);
    wake();
  };
  const stop = client.subscribe<Record<string, T>>(
    { query, variables },
    {
      next: (result: ExecutionResult<Record<string, T>>) => {
        if (result.errors?.length) errors.push(...result.errors);
        else if (result.data) items.push(result.data[field as string]);
        wake();
      },
      error: (error) => finish({ kind: 'error', error }),
      complete: () => finish({ kind: 'complete' }),
    },
  );
  const until = (predicate: (items: T[]) => boolean, what = 'the awaited condition') =>
    new Promise<T[]>((resolve, reject) => {
      waiters.push({ check: () => predicate(items), resolve: () => resolve(items), reject, what });
      wake();
    });
  return { items, errors, ended, until, count: (n) => until((i) => i.length >= n, `${n} items`), stop };
}

function describe(e: Ending): string {
  if (e.kind === 'complete') return 'complete';
  const err = e.error as { code?: number; reason?: string; message?: string };
  return err.code ? `closed ${err.code} ${err.reason}` : String(err.message ?? err);
}

/**
 * A graphql-ws connection spoken by hand over a `ws` socket, so a test can stop reading from it
 * (`pause()`) like a stalled client whose buffers fill up.
 */
export class RawGraphqlWs {
  readonly socket: WebSocket;
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    this.closed = once(socket, 'close').then(([code, reason]) => ({ code: code as number, reason: String(reason) }));
  }

  static async connect(url: string, token: string): Promise<RawGraphqlWs> {
    const socket = new WebSocket(url, 'graphql-transport-ws');
    await once(socket, 'open');
    const raw = new RawGraphqlWs(socket);
    const ack = raw.nextMessage();
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
    const message = await ack;
    if (message.type !== 'connection_ack') throw new Error(`expected connection_ack, got ${JSON.stringify(message)}`);
    return raw;
  }

  subscribe(id: string, doc: DocumentNode | string, variables: Record<string, unknown>): void {
    const query = typeof doc === 'string' ? doc : print(doc);
    this.socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
  }

  nextMessage(): Promise<{ type: string; id?: string; payload?: unknown }> {
    return once(this.socket, 'message').then(([data]) => JSON.parse(String(data)));
  }
}
