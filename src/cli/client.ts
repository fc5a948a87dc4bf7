// The CLI's GraphQL client: HTTP for queries and mutations, graphql-ws for subscriptions. Every
// failure becomes a one-line CliError that says which URL or which API error.
//
// Built for start-up time (docs/design.md §17): node:http rather than fetch (whose first call loads
// undici, ~60 ms), graphql's printer rather than all of graphql, graphql-ws's client entry rather
// than its server, and the client settings without config.ts's zod.
import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql/language/printer.js';
import type { Command } from 'commander';
import type { Client, ClientOptions as WsClientOptions } from 'graphql-ws/client';
import { clientSettings, DEFAULT_URL } from './client-config.js';
import { displayText } from './display.js';
import { CliError, type ExitKind } from './output.js';

export interface ClientOptions {
  url?: string;
  token?: string;
}

export { DEFAULT_URL };

/** The options every API client command takes: where the server is, the token, and --json. */
export function clientCommand(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'the GraphQL endpoint (default: MAKIMA_URL, else `makima login`, else a local server)')
    .option('--token <token>', 'API token (default: MAKIMA_TOKEN, else `makima login`, else a local server)')
    .option('--json', 'print JSON for scripts instead of text for people');
}

interface GraphqlError {
  message: string;
  extensions?: { code?: unknown; reason?: unknown; candidates?: unknown };
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
  readonly errors: { message: string; code: string | null; candidates?: unknown[] }[];
  constructor(errors: readonly GraphqlError[]) {
    const codes = errors.map((e) => (typeof e.extensions?.code === 'string' ? e.extensions.code : ''));
    super(describeErrors(errors), codes.map((c) => EXIT_KINDS[c]).find(Boolean) ?? 'ERROR');
    this.codes = codes;
    this.reasons = errors.flatMap((e) => (typeof e.extensions?.reason === 'string' ? [e.extensions.reason] : []));
    // candidates: what an ambiguous task or contract reference could mean (docs/design.md §16).
    this.errors = errors.map((e, i) => ({
      message: displayText(e.message),
      code: codes[i] || null,
      ...(Array.isArray(e.extensions?.candidates) ? { candidates: e.extensions.candidates } : {}),
    }));
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

/** Loads a package when first needed (not named `require`, so the CLI bundle leaves it out: scripts/bundle-cli.mjs). */
const requireLazily = createRequire(import.meta.url);

export class ApiClient {
  constructor(
    readonly url: string,
    readonly token: string,
  ) {}

  /** Runs a query or mutation; throws CliError on a network failure or any GraphQL error. */
  async request<R, V>(doc: TypedDocumentNode<R, V>, variables?: V, signal?: AbortSignal): Promise<R> {
    let res: { status: number; text: string };
    try {
      res = await post(this.url, JSON.stringify({ query: print(doc), variables }), { authorization: `Bearer ${this.token}` }, signal);
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new CliError(`could not reach ${this.url}: ${networkReason(err)}`, 'UNREACHABLE');
    }
    let body: { data?: R | null; errors?: GraphqlError[] };
    try {
      body = JSON.parse(res.text) as typeof body;
    } catch {
      throw new CliError(`${this.url} answered HTTP ${res.status} without a GraphQL response; is MAKIMA_URL the /graphql endpoint?`, 'UNREACHABLE');
    }
    if (body.errors?.length) throw new ApiError(body.errors);
    if (!body.data) throw new CliError(`${this.url} returned no data (HTTP ${res.status})`, 'UNREACHABLE');
    return body.data;
  }

  /** A graphql-ws client for this server (same path, ws:// scheme); retries are the caller's choice. */
  subscriptions(options: Pick<WsClientOptions, 'retryAttempts' | 'retryWait' | 'on'> = {}): Client {
    const { createClient } = requireLazily('graphql-ws/client') as typeof import('graphql-ws/client');
    const WebSocket = requireLazily('ws') as typeof import('ws');
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
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  return e.code ?? e.cause?.code ?? e.cause?.message ?? (err instanceof Error ? err.message : String(err));
}

/** POSTs a JSON body; resolves with the status and the body as text, rejects on a network failure. */
function post(url: string, body: string, headers: Record<string, string>, signal?: AbortSignal): Promise<{ status: number; text: string }> {
  const target = new URL(url);
  const transport = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.request(
      target,
      { method: 'POST', signal, headers: { ...headers, 'content-type': 'application/json', accept: 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The client for `--url`/`--token` flags, else MAKIMA_URL / MAKIMA_TOKEN, the login, a local server (client-config.ts). */
export function clientFrom(options: ClientOptions): ApiClient {
  const { url, token } = clientSettings(options);
  if (!token) {
    throw new CliError(
      'no API token: set MAKIMA_TOKEN or pass --token, or run `makima login "<url>"` once (create a user and its token with `makima user create --name "<you>"`)',
      'UNAUTHORIZED',
    );
  }
  try {
    new URL(url);
  } catch {
    throw new CliError(`--url / MAKIMA_URL is not a URL: ${url}`, 'USAGE');
  }
  return new ApiClient(url, token);
}
