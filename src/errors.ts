// The typed errors services throw; each maps to one `extensions.code` of API.md. Anything else is
// unexpected and is masked by the server.
import { GraphQLError } from 'graphql';

export type ErrorCode = 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND' | 'BAD_USER_INPUT' | 'CONFLICT' | 'GIT_ERROR';

export class MakimaError extends GraphQLError {
  constructor(
    readonly code: ErrorCode,
    message: string,
    details?: Record<string, unknown>,
  ) {
    super(message, { extensions: { code, ...details } });
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
