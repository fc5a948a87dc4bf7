// HTTP status codes for two refusals on the GraphQL-over-HTTP JSON response types, as GitHub's API
// answers them: no valid token → 401 (with WWW-Authenticate), a token over its rate limit → 429
// (with Retry-After). The body stays a GraphQL response holding the error. graphql-ws and SSE are
// untouched: a socket has its own refusal (4403), and an event stream has already answered 200.
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { GraphQLError } from 'graphql';

const JSON_TYPES = ['application/json', 'application/graphql-response+json'];

interface Refusal {
  status: number;
  headers: Record<string, string>;
  errors: GraphQLError[];
}

type ErrorWithCode = GraphQLError & { extensions: { code?: unknown; retryAfterSeconds?: unknown } };

/** The refusal a result stands for, if any: its errors of that code; without a token there is no data to show. */
function refusalOf(errors: readonly ErrorWithCode[]): Refusal | undefined {
  const unauthenticated = errors.filter((e) => e.extensions?.code === 'UNAUTHENTICATED');
  if (unauthenticated.length) return { status: 401, headers: { 'www-authenticate': 'Bearer realm="makima"' }, errors: unauthenticated };
  const limited = errors.filter((e) => e.extensions?.code === 'RATE_LIMITED');
  if (limited.length) return { status: 429, headers: { 'retry-after': String(limited[0].extensions.retryAfterSeconds ?? 1) }, errors: limited };
  return undefined;
}

export function refusalStatusPlugin(): Plugin {
  const refusals = new WeakMap<Request, Refusal>();
  return {
    onResultProcess({ request, result }) {
      if (Array.isArray(result) || isAsyncIterable(result)) return;
      const refusal = refusalOf((result.errors ?? []) as ErrorWithCode[]);
      if (refusal) refusals.set(request, refusal);
    },
    onResponse({ request, response, setResponse, fetchAPI }) {
      const refusal = refusals.get(request);
      const type = response.headers.get('content-type')?.split(';')[0].trim();
      if (!refusal || !type || !JSON_TYPES.includes(type)) return;
      const headers: Record<string, string> = {};
      response.headers.forEach((value, name) => {
        if (name !== 'content-length') headers[name] = value;
      });
      Object.assign(headers, refusal.headers);
      setResponse(new fetchAPI.Response(JSON.stringify({ errors: refusal.errors }), { status: refusal.status, headers }));
    },
  };
}
