// The CLI's GraphQL client: HTTP for queries and mutations, graphql-ws for subscriptions. Every
// failure becomes a one-line CliError that says which URL or which API error.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import type { Command } from 'commander';
import { createClient, type Client, type ClientOptions as WsClientOptions } from 'graphql-ws';
import WebSocket from 'ws';
import { loadConfig } from '../config.js';
import { displayText } from './display.js';
import { CliError, type ExitKind } from './output.js';

export interface ClientOptions {
  url?: string;
  token?: string;
}

export const DEFAULT_URL = 'http://127.0.0.1:4000/graphql';

/** The options every API client command takes: where the server is, the token, and --json. */
export function clientCommand(cmd: Command): Command {
  return cmd
    .option('--url <url>', `the GraphQL endpoint (default: MAKIMA_URL or ${DEFAULT_URL})`)
    .option('--token <token>', 'API token (default: MAKIMA_TOKEN)')
    .option('--json', 'print JSON for scripts instead of text for people');
}

interface GraphqlError {
  message: string;
  extensions?: { code?: unknown; reason?: unknown };
}

/** Which exit status an API error code leads to; the first error's code that has one decides. */
const EXIT_KINDS: Record<string, ExitKind> = {
  BAD_USER_INPUT: 'USAGE',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  UNAUTHENTICATED: 'UNAUTHORIZED',
  FORBIDDEN: 'UNAUTHORIZED',
};

/** The API refused a request: `codes` are the errors' extensions.code, for callers that act on them. */
export class ApiError extends CliError {
  readonly codes: string[];
  /** The errors' extensions.reason, where set (e.g. CANCELLED: the task a worker runs was cancelled). */
  readonly reasons: string[];
  /** The errors as the CLI shows them (global IDs, CLI command names), for --json. */
  readonly errors: { message: string; code: string | null }[];
  constructor(errors: readonly GraphqlError[]) {
    const codes = errors.map((e) => (typeof e.extensions?.code === 'string' ? e.extensions.code : ''));
    super(describeErrors(errors), codes.map((c) => EXIT_KINDS[c]).find(Boolean) ?? 'ERROR');
    this.codes = codes;
    this.reasons = errors.flatMap((e) => (typeof e.extensions?.reason === 'string' ? [e.extensions.reason] : []));
    this.errors = errors.map((e, i) => ({ message: displayText(e.message), code: codes[i] || null }));
  }
}

/** One page of a Relay connection. */
export interface Connection<T> {
  edges: { node: T }[];
  pageInfo: { hasNextPage: boolean; endCursor?: string | null };
}

/** Every node of a connection, fetching page after page (`fetchPage(after)` asks for first: 100). */
export async function allNodes<T>(fetchPage: (after: string | undefined) => Promise<Connection<T>>): Promise<T[]> {
  const nodes: T[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await fetchPage(after);
    nodes.push(...page.edges.map((e) => e.node));
    if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor) return nodes;
    after = page.pageInfo.endCursor;
  }
}

export class ApiClient {
  constructor(
    readonly url: string,
    readonly token: string,
  ) {}

  /** Runs a query or mutation; throws CliError on a network failure or any GraphQL error. */
  async request<R, V>(doc: TypedDocumentNode<R, V>, variables?: V, signal?: AbortSignal): Promise<R> {
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${this.token}` },
        body: JSON.stringify({ query: print(doc), variables }),
        signal,
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new CliError(`could not reach ${this.url}: ${networkReason(err)}`, 'UNREACHABLE');
    }
    let body: { data?: R | null; errors?: GraphqlError[] };
    try {
      body = (await res.json()) as typeof body;
    } catch {
      throw new CliError(`${this.url} answered HTTP ${res.status} without a GraphQL response; is MAKIMA_URL the /graphql endpoint?`, 'UNREACHABLE');
    }
    if (body.errors?.length) throw new ApiError(body.errors);
    if (!body.data) throw new CliError(`${this.url} returned no data (HTTP ${res.status})`, 'UNREACHABLE');
    return body.data;
  }

  /** A graphql-ws client for this server (same path, ws:// scheme); retries are the caller's choice. */
  subscriptions(options: Pick<WsClientOptions, 'retryAttempts' | 'retryWait' | 'on'> = {}): Client {
    return createClient({
      url: this.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${this.token}` },
      retryAttempts: options.retryAttempts ?? 0,
      retryWait: options.retryWait,
      shouldRetry: () => true,
      lazy: true,
      on: options.on,
    });
  }
}

export function describeErrors(errors: readonly { message: string; extensions?: { code?: unknown } }[]): string {
  return errors.map((e) => displayText(e.extensions?.code ? `${e.extensions.code}: ${e.message}` : e.message)).join('; ');
}

function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}

/** The client for `--url`/`--token` flags, falling back to MAKIMA_URL / MAKIMA_TOKEN. */
export function clientFrom(options: ClientOptions): ApiClient {
  const config = loadConfig();
  const url = options.url ?? config.clientUrl ?? DEFAULT_URL;
  const token = options.token ?? config.clientToken;
  if (!token) {
    throw new CliError('no API token: set MAKIMA_TOKEN or pass --token (create one with `makima user create --name <you>`)', 'UNAUTHORIZED');
  }
  try {
    new URL(url);
  } catch {
    throw new CliError(`--url / MAKIMA_URL is not a URL: ${url}`, 'USAGE');
  }
  return new ApiClient(url, token);
}
