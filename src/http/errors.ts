// What a client receives for an error (docs/design.md §5): the API's codes as they are, a client's
// malformed request as BAD_USER_INPUT, anything else logged and masked as INTERNAL_SERVER_ERROR.
// Used by yoga (HTTP, SSE) and by the graphql-ws transport alike.
import type { Plugin } from 'graphql-yoga';
import { GraphQLError } from 'graphql';
import type { AppContext } from '../context.js';
import { ERROR_CODES } from '../errors.js';

// The API's error codes, plus the end of a subscription that fell too far behind (live/hub.ts).
const EXPECTED_CODES = new Set<string>(ERROR_CODES);
/** Codes graphql-yoga gives malformed requests; the API has one code for every kind of bad input. */
const REQUEST_ERROR_CODES = new Set(['BAD_REQUEST', 'GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'OPERATION_RESOLUTION_FAILURE']);

type ErrorLike = { name?: string; path?: unknown; originalError?: unknown; extensions?: Record<string, unknown> };

/**
 * Whether an error is the client's request being wrong rather than the server failing: yoga's
 * request errors, and graphql-js's variable coercion errors ("Variable "$x" got invalid value …"),
 * which have no path and wrap only the scalar's or enum's own GraphQLError.
 */
function isRequestError(error: ErrorLike): boolean {
  const code = error.extensions?.code;
  if (typeof code === 'string') return REQUEST_ERROR_CODES.has(code);
  if (error.name !== 'GraphQLError' || error.path !== undefined) return false;
  const original = error.originalError as ErrorLike | undefined;
  return original === undefined || original.name === 'GraphQLError';
}

function asBadUserInput<E extends ErrorLike>(error: E): E {
  (error.extensions as Record<string, unknown>).code = 'BAD_USER_INPUT';
  return error;
}

/** Parse and validation errors (an unknown enum value, a literal the JSON scalar refuses, a depth limit) are bad input. */
export function badUserInputCodes(): Plugin {
  return {
    onParse: () => ({ result }) => {
      if (result instanceof Error && isRequestError(result as ErrorLike)) asBadUserInput(result as ErrorLike);
    },
    onValidate: () => ({ result }) => {
      for (const error of result) asBadUserInput(error as ErrorLike);
    },
  };
}

/**
 * What a client receives for an error (yoga's maskError, and graphql-ws refusals): an error with
 * one of the API's codes as it is; a client's malformed request as BAD_USER_INPUT; anything else
 * logged and replaced by a generic INTERNAL_SERVER_ERROR.
 */
export function errorMasker(app: AppContext): (error: unknown, message?: string) => GraphQLError {
  return (error, message = 'Unexpected error.') => {
    // Duck-typed on purpose: graphql can be loaded twice (ESM and CJS builds), so instanceof
    // GraphQLError is not reliable across packages.
    const err = error as { originalError?: unknown; extensions?: { code?: unknown }; message?: string };
    const original = (err.originalError ?? error) as { name?: string; message?: string; extensions?: { code?: unknown } };
    if (typeof original.extensions?.code === 'string' && EXPECTED_CODES.has(original.extensions.code)) return original as GraphQLError;
    if ((original as { code?: unknown }).code === 'P2025') {
      // Prisma's "record required but not found": a node lookup of a missing or another user's object.
      return new GraphQLError('not found', { extensions: { code: 'NOT_FOUND' } });
    }
    if (isRequestError(err as ErrorLike)) return asBadUserInput(error as ErrorLike) as GraphQLError;
    if (original.name === 'PothosValidationError') {
      return new GraphQLError(original.message ?? 'invalid argument', { extensions: { code: 'BAD_USER_INPUT' } });
    }
    if (!err.originalError && typeof err.extensions?.code === 'string') return error as GraphQLError;
    app.logger.error({ err: original }, 'unexpected error');
    return new GraphQLError(message, { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  };
}

