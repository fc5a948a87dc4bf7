// The typed errors services throw; each maps to one `extensions.code` (docs/design.md §5). Anything else is
// unexpected and is masked by the server.
import { GraphQLError } from 'graphql';
import { dataWithGlobalIds, withGlobalIds } from './global-id.js';

/** Every `extensions.code` the API answers with: the one list (the server's error policy reads it too). */
export const ERROR_CODES = [
  ...['UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'BAD_USER_INPUT', 'CONFLICT', 'GIT_ERROR', 'SUBSCRIBER_TOO_SLOW', 'RATE_LIMITED', 'SERVER_BUSY'],
  // Apollo's persisted-query protocol signals (PersistedQueryError below).
  ...['PERSISTED_QUERY_NOT_FOUND', 'PERSISTED_QUERY_NOT_SUPPORTED'],
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export class MakimaError extends GraphQLError {
  constructor(
    readonly code: ErrorCode,
    message: string,
    details?: Record<string, unknown>,
  ) {
    // Every id the API returns is the global ID its arguments take, in sentences and details alike.
    super(withGlobalIds(message), { extensions: { code, ...(details ? (dataWithGlobalIds(details) as Record<string, unknown>) : {}) } });
  }
}

export class UnauthenticatedError extends MakimaError {
  constructor(message = 'a valid API token is required: send "Authorization: Bearer <token>"') {
    super('UNAUTHENTICATED', message);
  }
}

export class ForbiddenError extends MakimaError {
  constructor(message: string) {
    super('FORBIDDEN', message);
  }
}

export class NotFoundError extends MakimaError {
  constructor(what: string, id?: string) {
    super('NOT_FOUND', id ? `${what} ${id} was not found` : `${what} was not found`);
  }
}

export class BadInputError extends MakimaError {
  constructor(message: string, field?: string) {
    super('BAD_USER_INPUT', message, field ? { field } : undefined);
  }
}

/**
 * A reference (a task's number or name, a contract's short name, a prefix of an id or branch) that
 * names more than one object: BAD_USER_INPUT, with each candidate in `extensions.candidates` so that
 * a client can offer them (docs/design.md §16).
 */
export class AmbiguousReferenceError extends MakimaError {
  constructor(message: string, field: string, candidates: Record<string, unknown>[]) {
    super('BAD_USER_INPUT', message, { field, candidates });
  }
}

export class ConflictError extends MakimaError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('CONFLICT', message, details);
  }
}

export class GitError extends MakimaError {
  constructor(message: string) {
    super('GIT_ERROR', message);
  }
}

/** What a subscriber that fell too far behind is told, however the stream reaches it. */
export const SUBSCRIBER_TOO_SLOW_REASON = 'subscriber too slow: reconnect with your last cursor';

/**
 * Ends a subscription whose buffer overflowed (live/hub.ts). Over graphql-ws the socket is
 * closed first (code 4413), so only a transport without a socket (SSE) shows this error: an
 * expected condition, not a server fault.
 */
export class SubscriberTooSlowError extends MakimaError {
  constructor() {
    super('SUBSCRIBER_TOO_SLOW', SUBSCRIBER_TOO_SLOW_REASON);
    this.name = 'SubscriberTooSlowError';
  }
}

/** A token used more than MAKIMA_RATE_LIMIT operations in its window (http/rate-limit.ts); HTTP 429. */
export class RateLimitedError extends MakimaError {
  constructor(limit: number, windowSeconds: number, retryAfterSeconds: number) {
    super('RATE_LIMITED', `rate limit reached: ${limit} operations per ${windowSeconds} s for this token; retry in ${retryAfterSeconds} s`, { retryAfterSeconds });
  }
}

/**
 * The server could not start the operation's transaction in time: every database connection was
 * taken by others for longer than MAKIMA_TRANSACTION_MAX_WAIT_MS (db/transaction.ts). Nothing was
 * done, so a client may send the same request again; HTTP 503 with Retry-After (http/status.ts).
 */
export class ServerBusyError extends MakimaError {
  constructor(retryAfterSeconds = 1) {
    super('SERVER_BUSY', `the server is busy: no database connection came free in time; nothing was done, retry in ${retryAfterSeconds} s`, { retryAfterSeconds, retryable: true });
  }
}

/**
 * Apollo's automatic persisted queries (http/persisted.ts): the messages and codes its link
 * recognises, to fall back on sending the document. Not MakimaErrors: their messages are Apollo's
 * protocol words, and a client that does not speak APQ never sees them.
 */
export class PersistedQueryError extends GraphQLError {
  constructor(kind: 'NotFound' | 'NotSupported') {
    const code = kind === 'NotFound' ? 'PERSISTED_QUERY_NOT_FOUND' : 'PERSISTED_QUERY_NOT_SUPPORTED';
    super(`PersistedQuery${kind}`, { extensions: { code } });
  }
}
