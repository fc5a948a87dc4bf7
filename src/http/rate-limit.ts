// Rate limiting per token (MAKIMA_RATE_LIMIT operations per MAKIMA_RATE_LIMIT_WINDOW_SECONDS), with
// rate-limiter-flexible's in-memory limiter: the count is per instance, so behind a load balancer of
// N instances a token may run up to N times the limit. Every operation counts, over HTTP, SSE and
// graphql-ws alike; a refused one is RATE_LIMITED (HTTP 429 with Retry-After, see http/status.ts)
// and runs nothing. Requests without a valid token are not counted: they are refused anyway.
import crypto from 'node:crypto';
import type { Plugin } from 'graphql-yoga';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { bearerToken } from '../modules/auth/index.js';
import type { Context } from '../context.js';
import { RateLimitedError } from '../errors.js';

type OperationContext = Context & { request?: Request; connectionParams?: Record<string, unknown> };

/** The key a context's operations count against: a hash of its token (never the token itself). */
function tokenKey(context: OperationContext): string | undefined {
  if (!context.viewer) return undefined;
  const header = context.request?.headers.get('authorization') ?? context.connectionParams?.authorization ?? context.connectionParams?.Authorization;
  const token = bearerToken(header);
  return token ? crypto.createHash('sha256').update(token).digest('base64url') : undefined;
}

export function rateLimitPlugin(limit: number, windowSeconds: number): Plugin<Context> {
  const limiter = new RateLimiterMemory({ points: limit, duration: windowSeconds });
  const consume = async (context: OperationContext) => {
    const key = tokenKey(context);
    if (!key) return;
    try {
      await limiter.consume(key);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      throw new RateLimitedError(limit, windowSeconds, Math.max(1, Math.ceil(err.msBeforeNext / 1000)));
    }
  };
  return {
    onExecute: ({ args }) => consume(args.contextValue),
    onSubscribe: ({ args }) => consume(args.contextValue),
  };
}
