// graphql-ws on the API's port and path (docs/design.md §6): each operation runs through yoga's
// enveloped parse, validate, execute and subscribe, so every plugin applies as over HTTP; the
// socket handling and close codes are src/http/ws.ts.
import { getOperationAST, getVariableValues, type DocumentNode, type ExecutionArgs, type ExecutionResult, type FormattedExecutionResult, type GraphQLError } from 'graphql';
import type { SubscribePayload } from 'graphql-ws';
import type { WebSocketServer } from 'ws';
import type { AppContext, Context } from '../context.js';
import { BadInputError } from '../errors.js';
import { bearerToken } from '../modules/auth/index.js';
import { describeOperation } from './observability.js';
import { isRequestRefusal } from '../schema/limits.js';
import { isSharedResult } from '../schema/subscriptions.js';
import { CloseCode, SerializedPayload, serveGraphqlWs, type GraphqlWsTransport, type WsExtra } from './ws.js';
import { errorMasker } from './errors.js';
import { resolvePersisted, type PersistedOperations } from './persisted.js';
import type { Yoga } from './yoga.js';

type OperationResult = ExecutionResult | AsyncIterable<ExecutionResult>;
/** What onSubscribe prepared: the operation's result, or its event stream, for graphql-ws to send. */
type Prepared = { prepared: OperationResult };

/**
 * graphql-ws on the WebSocket server. An operation runs through yoga's enveloped parse, validate,
 * execute and subscribe, so every plugin applies as over HTTP. It is run in onSubscribe: an
 * operation refused before it starts (a syntax error, a depth, alias, cost or page limit, a
 * variable of the wrong type, any plugin that throws) is then an `error` message for its id, with
 * the code HTTP gives it, and the socket's other operations go on. Thrown out of a graphql-ws hook,
 * the same refusal would close the whole socket with 4500, which clients treat as fatal.
 */
export function attachGraphqlWs(app: AppContext, yoga: Yoga, wss: WebSocketServer, keepAliveMs: number, persisted: PersistedOperations | undefined): GraphqlWsTransport {
  const maskError = errorMasker(app);
  return serveGraphqlWs(
    wss,
    {
      execute: (args) => (args.rootValue as Prepared).prepared,
      subscribe: (args) => (args.rootValue as Prepared).prepared,
      onConnect: async (ctx) => {
        const params = (ctx.connectionParams ?? {}) as Record<string, unknown>;
        const { viewer } = await app.auth.authenticate(bearerToken(params.authorization ?? params.Authorization));
        if (!viewer) return false; // closes the socket with 4403 Forbidden
        // The socket lives as long as its token: a revocation (on any instance) or the expiry closes it.
        const untrack = app.auth.trackSocket(viewer, (why) =>
          ctx.extra.close(
            why === 'revoked' ? CloseCode.TokenRevoked : CloseCode.TokenExpired,
            why === 'revoked' ? `API token "${viewer.tokenName}" was revoked` : `API token "${viewer.tokenName}" expired`,
          ),
        );
        ctx.extra.socket.once('close', untrack);
        return true;
      },
      // A live event's result shared by several subscribers is serialized once for all of them.
      onNext: (_ctx, _id, _payload, _args, result) => (isSharedResult(result) && !result.errors ? (serializedOnce(result) as unknown as FormattedExecutionResult) : undefined),
      onSubscribe: async (ctx, _id, payload) => {
        const start = performance.now();
        let prepared: Awaited<ReturnType<typeof prepareOperation>>;
        try {
          const query = resolvePersisted(persisted, payload as SubscribePayload & { documentId?: unknown }) ?? payload.query;
          if (typeof query === 'object') prepared = [query];
          else prepared = await prepareOperation(yoga, maskError, ctx.connectionParams, ctx.extra, { ...payload, query });
        } catch (err) {
          // A server fault (the context could not be built, say): this operation fails, not the socket.
          prepared = [maskError(err)];
        }
        logWsOperation(app, payload, prepared, performance.now() - start);
        return prepared;
      },
    },
    { logger: app.logger, keepAliveMs },
  );
}

const serialized = new WeakMap<ExecutionResult, SerializedPayload>();

/** The `next` payload graphql-ws would build from an error-free result, serialized once. */
function serializedOnce(result: ExecutionResult): SerializedPayload {
  let payload = serialized.get(result);
  if (!payload) serialized.set(result, (payload = new SerializedPayload(JSON.stringify(result))));
  return payload;
}

/** The graphql-ws counterpart of the HTTP request log (observability.ts): one line per operation started or refused. */
function logWsOperation(app: AppContext, payload: SubscribePayload, prepared: (ExecutionArgs & { rootValue: Prepared }) | readonly GraphQLError[], ms: number): void {
  const refused = Array.isArray(prepared) ? (prepared as readonly GraphQLError[]) : undefined;
  const args = refused ? undefined : (prepared as ExecutionArgs);
  const viewer = (args?.contextValue as Context | undefined)?.viewer;
  const operation = args ? describeOperation(args.document, payload.operationName) : { name: payload.operationName ?? undefined, type: undefined };
  app.logger.info(
    {
      transport: 'graphql-ws',
      operationName: operation.name,
      operationType: operation.type,
      status: refused ? 'refused' : 'started',
      codes: refused?.map((e) => e.extensions?.code),
      durationMs: Math.round(ms * 10) / 10,
      user: viewer ? { id: viewer.id, name: viewer.name } : undefined,
    },
    'graphql-ws operation',
  );
}

async function prepareOperation(
  yoga: Yoga,
  maskError: (error: unknown) => GraphQLError,
  connectionParams: Record<string, unknown> | undefined,
  extra: WsExtra,
  payload: SubscribePayload,
): Promise<(ExecutionArgs & { rootValue: Prepared }) | readonly GraphQLError[]> {
  const { schema, parse, validate, execute, subscribe, contextFactory } = yoga.getEnveloped({ connectionParams, closeSocket: extra.close });
  let document: DocumentNode;
  let errors: readonly GraphQLError[];
  try {
    document = parse(payload.query);
    errors = validate(schema, document);
  } catch (err) {
    return [maskError(err)]; // a syntax error, or a graphql-armor limit (they throw from validation)
  }
  if (errors.length) return errors.map((e) => maskError(e));
  const operation = getOperationAST(document, payload.operationName);
  if (!operation) {
    const message = payload.operationName ? `the document has no operation named "${payload.operationName}"` : 'the document must hold exactly one operation, or name one with operationName';
    return [new BadInputError(message, 'operationName')];
  }
  // Variables that do not coerce: graphql-js would answer with a result; nothing would have run.
  const variables = getVariableValues(schema, operation.variableDefinitions ?? [], payload.variables ?? {});
  if (variables.errors) return variables.errors.map((e) => maskError(e));
  const args = { schema, document, operationName: payload.operationName, variableValues: payload.variables, contextValue: await contextFactory() };
  let prepared: OperationResult;
  try {
    prepared = (await (operation.operation === 'subscription' ? subscribe(args) : execute(args))) as OperationResult;
  } catch (err) {
    return [maskError(err)]; // a plugin refused it before execution: first with last
  }
  // The request checks (schema/limits.ts: page sizes, list sizes, text, IDs, cursors) answer a
  // refusal as a result, so that nothing throws out of a hook; over graphql-ws that too is an
  // `error` message for the operation, as a refusal thrown above is.
  const { errors: refusal } = prepared as { errors?: readonly GraphQLError[] };
  if (refusal?.length && refusal.every((e) => isRequestRefusal(e))) return refusal.map((e) => maskError(e));
  // Field errors (a subscription's NOT_FOUND, a malformed cursor) are the operation's result, sent
  // with `next` before `complete`, as over HTTP and SSE.
  return { ...args, rootValue: { prepared } };
}
