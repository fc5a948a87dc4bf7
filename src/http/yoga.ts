// The GraphQL server proper (docs/design.md §5, §14): graphql-yoga with makima's schema, its
// plugins (limits, errors, actors, JIT) and, in production, status codes, logs, metrics, persisted
// operations and rate limits; GraphiQL is served from this server (src/http/graphiql.ts).
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { AppContext, Context } from '../context.js';
import { graphiqlPage } from './graphiql.js';
import { bearerToken } from '../modules/auth/index.js';
import { actorPlugin } from '../schema/actor.js';
import { connectionArgumentsPlugin, emptyCursorPlugin } from '../schema/connection-args.js';
import { getSchema } from '../schema/index.js';
import { jitPlugin } from '../schema/jit.js';
import { limitPlugins } from '../schema/limits.js';
import { sharedSubscriptionEvents } from '../schema/subscriptions.js';
import { requestLogging, type Metrics } from './observability.js';
import type { WsExtra } from './ws.js';
import { corsOptions } from './cors.js';
import { bodyLimitPlugin } from './body-limit.js';
import { badUserInputCodes, errorMasker } from './errors.js';
import { persistedOperationsPlugin, type PersistedOperations } from './persisted.js';
import { rateLimitPlugin } from './rate-limit.js';
import { refusalStatusPlugin } from './status.js';

export const GRAPHQL_PATH = '/graphql';

export type InitialContext = { request?: Request; connectionParams?: Record<string, unknown>; closeSocket?: WsExtra['close'] };
export type Yoga = YogaServerInstance<InitialContext, Context>;

/**
 * Running in production (docs/operations.md): 401/429 and GraphQL-over-HTTP status codes, request logs and
 * Prometheus metrics always; persisted operations (Apollo's link is answered even without a file)
 * and rate limiting per token when configured. The status plugin comes first so that the logs and
 * the metrics see the status the client gets.
 */
export function productionPlugins(app: AppContext, metrics: Metrics, persisted: PersistedOperations | undefined): Plugin[] {
  const { config } = app;
  return [
    refusalStatusPlugin(),
    requestLogging(app) as Plugin,
    ...metrics.plugin,
    persistedOperationsPlugin(persisted),
    ...(config.rateLimit > 0 ? [rateLimitPlugin(config.rateLimit, config.rateLimitWindowSeconds) as Plugin] : []),
  ];
}

export function createApp(app: AppContext, production: Plugin[]): Yoga {
  const maskError = errorMasker(app);
  return createYoga<InitialContext, Context>({
    schema: getSchema(),
    graphqlEndpoint: GRAPHQL_PATH,
    landingPage: false,
    // GraphiQL comes from this server, not a CDN (see graphiql.ts); subscriptions use graphql-ws.
    graphiql: true,
    renderGraphiQL: () => graphiqlPage(GRAPHQL_PATH),
    logging: false,
    // Ours instead (http/body-limit.ts): it counts only bodies that do not say their length.
    maxRequestBodySize: false,
    // GraphQL over HTTP's persisted documents (http/persisted.ts).
    extraParamNames: ['documentId'],
    cors: corsOptions(app.config.corsOrigins),
    plugins: [bodyLimitPlugin(app.config.maxBodyBytes), ...production, emptyCursorPlugin(), ...limitPlugins(), connectionArgumentsPlugin(), badUserInputCodes(), actorPlugin(), jitPlugin(), sharedSubscriptionEvents()],
    maskedErrors: { maskError: (error, message) => maskError(error, message) },
    context: async ({ request, connectionParams, closeSocket }) => {
      const header = request?.headers.get('authorization') ?? connectionParams?.authorization ?? connectionParams?.Authorization;
      const authentication = await app.auth.authenticate(bearerToken(header));
      const refusal = authentication.viewer ? {} : { authRefusal: authentication.refusal };
      return { ...app, viewer: authentication.viewer, ...refusal, ...(closeSocket ? { closeSocket } : {}) };
    },
  });
}

