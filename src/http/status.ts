// HTTP status codes for refusals (GraphQL over HTTP, docs/design.md §5):
// - no valid token → 401 (with WWW-Authenticate), a token over its rate limit → 429 (with
//   Retry-After), as GitHub's API answers them, on both JSON response types and for a server-sent
//   events request too, before any stream starts (the body is then a JSON GraphQL response);
// - an operation that did nothing because the server was busy (SERVER_BUSY: no top-level field has
//   a value) → 503 with Retry-After, on both JSON response types, its body as it is;
// - under `application/graphql-response+json`, any other result without `data` (the request was
//   refused before it ran: a page size, first with last, a malformed cursor, a limit, a NUL) is
//   4xx — 400 for bad input — as the GraphQL-over-HTTP spec requires of that media type, or 500 for
//   a server fault. Under `application/json` such a result stays 200, as that spec says it should.
// The body stays a GraphQL response holding the errors. graphql-ws is untouched: a socket has its
// own refusal (4403) and an operation's refusal is an `error` message.
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { GraphQLError } from 'graphql';

const JSON_TYPES = ['application/json', 'application/graphql-response+json'];
const EVENT_STREAM = 'text/event-stream';

/**
 * Apollo's persisted-query link turns automatic persisted queries off for good after a 400 or a
 * 500, so these answers stay 200 on every media type: the link then sends the document (http/persisted.ts).
 */
const APQ_CODES = new Set(['PERSISTED_QUERY_NOT_FOUND', 'PERSISTED_QUERY_NOT_SUPPORTED']);

interface Refusal {
  status: number;
  headers: Record<string, string>;
  errors: GraphQLError[];
  /** The response's body stays as it is (data: null and all), instead of only the refusal's errors. */
  keepBody?: boolean;
}

type ErrorWithCode = GraphQLError & { extensions: { code?: unknown; retryAfterSeconds?: unknown; http?: unknown } };

/** The refusal a result stands for, if any: its errors of that code; without a token there is no data to show. */
function refusalOf(errors: readonly ErrorWithCode[], data: Record<string, unknown> | null | undefined): Refusal | undefined {
  const unauthenticated = errors.filter((e) => e.extensions?.code === 'UNAUTHENTICATED');
  if (unauthenticated.length) return { status: 401, headers: { 'www-authenticate': 'Bearer realm="makima"' }, errors: unauthenticated };
  const limited = errors.filter((e) => e.extensions?.code === 'RATE_LIMITED');
  if (limited.length) return { status: 429, headers: { 'retry-after': String(limited[0].extensions.retryAfterSeconds ?? 1) }, errors: limited };
  const busy = errors.filter((e) => e.extensions?.code === 'SERVER_BUSY');
  // A mutation after a busy one still runs (the fields run in order): then something was done, and the answer stays 200.
  if (busy.length && Object.values(data ?? {}).every((v) => v === null)) {
    return { status: 503, headers: { 'retry-after': String(busy[0].extensions.retryAfterSeconds ?? 1) }, errors: busy, keepBody: true };
  }
  return undefined;
}

/**
 * The status a result without `data` gets under application/graphql-response+json, marked on its
 * errors the way graphql-yoga marks its own parse and validation errors (`extensions.http`, never
 * sent): `spec: true` keeps application/json at 200.
 */
function markStatusWithoutData(errors: readonly ErrorWithCode[]): void {
  if (errors.some((e) => APQ_CODES.has(e.extensions?.code as string))) return;
  const fault = errors.some((e) => e.extensions?.code === undefined || e.extensions.code === 'INTERNAL_SERVER_ERROR');
  for (const error of errors) {
    if (error.extensions?.http) continue; // yoga's own
    (error.extensions as Record<string, unknown>).http = { spec: true, status: fault ? 500 : 400 };
  }
}

export function refusalStatusPlugin(): Plugin {
  const refusals = new WeakMap<Request, Refusal>();
  return {
    onResultProcess({ request, result }) {
      if (Array.isArray(result) || isAsyncIterable(result)) return;
      const errors = (result.errors ?? []) as ErrorWithCode[];
      const refusal = refusalOf(errors, result.data as Record<string, unknown> | null | undefined);
      if (refusal) refusals.set(request, refusal);
      // `data: null` is a result (execution ran and a non-null field failed): 200 on both types.
      else if (errors.length && result.data === undefined) markStatusWithoutData(errors);
    },
    onResponse({ request, response, setResponse, fetchAPI }) {
      const refusal = refusals.get(request);
      const type = response.headers.get('content-type')?.split(';')[0].trim();
      if (!refusal || !type) return;
      if (type === EVENT_STREAM) {
        // Refused before the stream started: answer as any request without a token, not with a stream.
        const headers = { 'content-type': 'application/json; charset=utf-8', ...refusal.headers };
        return setResponse(new fetchAPI.Response(JSON.stringify({ errors: refusal.errors }), { status: refusal.status, headers }));
      }
      if (!JSON_TYPES.includes(type)) return;
      if (refusal.keepBody) {
        const kept = new fetchAPI.Headers(response.headers);
        for (const [name, value] of Object.entries(refusal.headers)) kept.set(name, value);
        return setResponse(new fetchAPI.Response(response.body, { status: refusal.status, headers: kept }));
      }
      const headers: Record<string, string> = {};
      response.headers.forEach((value, name) => {
        if (name !== 'content-length') headers[name] = value;
      });
      Object.assign(headers, refusal.headers);
      setResponse(new fetchAPI.Response(JSON.stringify({ errors: refusal.errors }), { status: refusal.status, headers }));
    },
  };
}
