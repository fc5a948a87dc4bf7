// The page's only way to the server: the public GraphQL API at /graphql, over HTTP for queries and
// mutations and over graphql-ws for subscriptions, with the signed-in token.
import { createClient, type Client } from 'graphql-ws';
import type { TypedDocumentString } from './generated/graphql';
import { session } from './session';

export const GRAPHQL_PATH = '/graphql';
/** graphql-ws close code for a connection_init whose token the server refused (src/http/ws.ts, Forbidden). */
export const CLOSE_FORBIDDEN = 4403;

/** An error as the API gives it: its message, and its `extensions.code` (CONFLICT, NOT_FOUND, …). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

interface GraphqlResponse<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/**
 * Runs a query or mutation — a typed document from `graphql()` (web/src/generated, `npm run
 * generate`), so its variables and result are the schema's — and throws the API's first error (a
 * refused token also signs out).
 */
export async function gql<T, V>(document: TypedDocumentString<T, V>, variables: V, token = session.token()): Promise<T> {
  let res: Response;
  try {
    res = await fetch(GRAPHQL_PATH, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query: document.toString(), variables }),
    });
  } catch {
    throw new ApiError('the server cannot be reached; is makima running?', 'NETWORK');
  }
  const body = (await res.json().catch(() => null)) as GraphqlResponse<T> | null;
  const error = body?.errors?.[0];
  if (error) {
    if (error.extensions?.code === 'UNAUTHENTICATED' && token === session.token()) session.refused(error.message);
    throw new ApiError(error.message, error.extensions?.code);
  }
  if (!res.ok || !body?.data) throw new ApiError(`the server answered HTTP ${res.status}`);
  return body.data;
}

/** idle: no subscription needs the socket (graphql-ws closes it lazily, with 1000). */
export type Connection = 'idle' | 'connecting' | 'live' | 'reconnecting';
type ConnectionListener = (state: Connection) => void;
const connectionListeners = new Set<ConnectionListener>();
let connection: Connection = 'idle';

function setConnection(state: Connection): void {
  connection = state;
  for (const listener of connectionListeners) listener(state);
}

/** The graphql-ws socket's state, for the page's "live / reconnecting" indicator. */
export function onConnection(listener: ConnectionListener): () => void {
  connectionListeners.add(listener);
  listener(connection);
  return () => connectionListeners.delete(listener);
}

let client: Client | undefined;
let clientToken: string | null | undefined;

/**
 * The graphql-ws client for the current token. It does not retry by itself (retryAttempts 0):
 * a dropped socket ends each subscription, and live.ts resubscribes from that subscription's last
 * cursor, which graphql-ws's own retry (resending the first payload) would not do.
 */
export function wsClient(): Client {
  const token = session.token();
  if (client && clientToken === token) return client;
  void client?.dispose();
  clientToken = token;
  client = createClient({
    url: location.origin.replace(/^http/, 'ws') + GRAPHQL_PATH,
    connectionParams: { authorization: `Bearer ${token}` },
    lazy: true,
    retryAttempts: 0,
    keepAlive: 10_000,
    on: {
      // While reconnecting, a new attempt does not change what the page says until it succeeds.
      connecting: () => connection === 'idle' && setConnection('connecting'),
      connected: () => setConnection('live'),
      closed: (event) => {
        const code = (event as CloseEvent | undefined)?.code;
        if (code === CLOSE_FORBIDDEN && token === session.token()) session.refused((event as CloseEvent).reason || 'the server refused the token');
        else setConnection(code === 1000 ? 'idle' : 'reconnecting');
      },
    },
  });
  return client;
}
