// The graphql-ws transport (docs/design.md §6): graphql-ws's protocol server (`makeServer`) on
// makima's own handling of `ws` sockets, instead of graphql-ws's `useServer`, so that
// - every close makima initiates uses a code from CloseCode below and is logged with its reason
//   (useServer logs with console.error, and drops a client that stops answering pings with a bare
//   terminate: 1006 for the client, nothing in the log);
// - an error while handling one message is logged and does not take the other operations of the
//   socket down with it unless it is a real server fault (4500);
// - stop() can close every socket and be sure they are all gone within a grace period.
import type { IncomingMessage } from 'node:http';
import { CloseCode as GraphqlWsCloseCode, handleProtocols, makeServer, type ServerOptions } from 'graphql-ws';
import type { Logger } from 'pino';
import type { WebSocket, WebSocketServer } from 'ws';

/**
 * Every code a graphql-ws socket is closed with by makima (docs/live.md, "Close codes"). graphql-ws
 * clients retry after a close unless the code is fatal: 1002, 1007, 1009, 4400, 4401, 4406, 4409,
 * 4429 and 4500 are; 1001, 4403, 4408, 4410, 4413, 4419 and 4420 are not (a retry with a revoked or
 * expired token is refused with 4403, which ends the client's retries once they are used up).
 */
export const CloseCode = {
  /** The server is stopping. Reconnect (later, or to another instance) with your last cursor. */
  GoingAway: 1001,
  /** A frame that is not valid WebSocket (closed by `ws` itself). */
  ProtocolError: 1002,
  /** A text frame that is not valid UTF-8 (closed by `ws` itself). */
  InvalidPayload: 1007,
  /** A WebSocket message larger than MAKIMA_MAX_BODY_BYTES (closed by `ws` itself). */
  MessageTooBig: 1009,
  /** A message that is not graphql-transport-ws (graphql-ws). */
  BadRequest: GraphqlWsCloseCode.BadRequest,
  /** `subscribe` before the connection was acknowledged (graphql-ws). */
  Unauthorized: GraphqlWsCloseCode.Unauthorized,
  /** `connection_init` without a valid token. */
  Forbidden: GraphqlWsCloseCode.Forbidden,
  /** The client did not offer the graphql-transport-ws subprotocol (graphql-ws). */
  SubprotocolNotAcceptable: GraphqlWsCloseCode.SubprotocolNotAcceptable,
  /** No `connection_init` within 3 seconds of opening (graphql-ws). */
  ConnectionInitialisationTimeout: GraphqlWsCloseCode.ConnectionInitialisationTimeout,
  /** A `subscribe` reusing the id of an operation still running on the socket (graphql-ws). */
  SubscriberAlreadyExists: GraphqlWsCloseCode.SubscriberAlreadyExists,
  /** The client stopped answering WebSocket pings (it stopped reading, or the network is gone). */
  KeepAliveTimeout: 4410,
  /**
   * The socket's API token was revoked (on any server instance). Reconnecting with it is refused
   * with 4403; a client must get a new token (docs/operations.md, "Accounts, tokens and scopes").
   */
  TokenRevoked: 4419,
  /** The socket's API token reached its `expiresAt`. Reconnecting with it is refused with 4403. */
  TokenExpired: 4420,
  /** A subscriber fell more than MAKIMA_SUBSCRIBER_BUFFER events behind: reconnect with the last cursor. */
  SubscriberTooSlow: 4413,
  /** A second `connection_init` (graphql-ws). */
  TooManyInitialisationRequests: GraphqlWsCloseCode.TooManyInitialisationRequests,
  /** A server fault while handling a message (logged as an error). Never a client's bad operation. */
  InternalServerError: GraphqlWsCloseCode.InternalServerError,
} as const;

export type CloseCodeValue = (typeof CloseCode)[keyof typeof CloseCode];

const CODE_NAMES = new Map<number, string>(Object.entries(CloseCode).map(([name, code]) => [code, name]));

/**
 * A message payload serialized beforehand, once for every socket it goes to (docs/design.md §6,
 * "Shared delivery"). graphql-ws serializes each message itself; this payload serializes as a
 * marker, and the socket's `send` puts the JSON in its place (graphql-ws calls `send` right after
 * serializing, with no other code in between).
 */
export class SerializedPayload {
  constructor(readonly json: string) {}

  toJSON(): string {
    pendingPayload = this.json;
    return PAYLOAD_MARKER;
  }
}

const PAYLOAD_MARKER = '\u0000makima: serialized payload';
/** The marker as it ends a graphql-ws message: `…,"payload":"<marker>"}`. */
const MARKED_END = `${JSON.stringify(PAYLOAD_MARKER)}}`;
let pendingPayload: string | undefined;

/** The message with the pending serialized payload in place of its marker. */
function withPayload(data: string): string {
  const json = pendingPayload;
  if (json === undefined) return data;
  pendingPayload = undefined;
  if (!data.endsWith(MARKED_END)) throw new Error('a serialized payload must be the last field of its message');
  return `${data.slice(0, data.length - MARKED_END.length)}${json}}`;
}

/** What graphql-ws's hooks see as `ctx.extra`. */
export interface WsExtra {
  socket: WebSocket;
  request: IncomingMessage;
  /** Closes this socket with a code of CloseCode, logging it. */
  close: (code: CloseCodeValue, reason: string) => void;
}

export interface GraphqlWsTransportOptions {
  logger: Logger;
  /** A ping every this many ms; a socket that has not answered the previous one is closed (4410). 0: none. */
  keepAliveMs: number;
}

export interface GraphqlWsTransport {
  /**
   * Closes every socket with 1001 and `reason`, and resolves once all are closed: a socket whose
   * client does not complete the close handshake within `graceMs` (it stopped reading) is cut.
   * Then closes the WebSocket server.
   */
  closeAll(reason: string, graceMs: number): Promise<void>;
}

export function serveGraphqlWs(
  wss: WebSocketServer,
  options: ServerOptions<Record<string, unknown> | undefined, WsExtra>,
  { logger, keepAliveMs }: GraphqlWsTransportOptions,
): GraphqlWsTransport {
  const server = makeServer(options);
  const closers = new Map<WebSocket, WsExtra['close']>();
  let sequence = 0;
  wss.options.handleProtocols = handleProtocols;
  // ws re-emits the HTTP server's own errors here; failing to listen is startServer's to report.
  wss.on('error', (err) => {
    const { syscall } = err as NodeJS.ErrnoException;
    if (syscall !== 'listen' && syscall !== 'getaddrinfo') logger.error({ err }, 'the WebSocket server failed');
  });

  wss.on('connection', (socket, request) => {
    const log = logger.child({ socket: ++sequence, remote: request.socket.remoteAddress });
    let closedBy: 'server' | 'client' = 'client';
    let cut: NodeJS.Timeout | undefined;
    const close = (code: CloseCodeValue, reason: string) => {
      if (socket.readyState !== socket.OPEN && socket.readyState !== socket.CONNECTING) return;
      closedBy = 'server';
      log[levelOf(code)]({ code, codeName: CODE_NAMES.get(code), reason }, 'closing a graphql-ws socket');
      socket.close(code, reason);
    };
    /** After a close the client may not answer (it stopped reading): cut the connection after `ms`. */
    const cutAfter = (ms: number) => {
      cut ??= setTimeout(() => socket.terminate(), ms);
    };
    closers.set(socket, close);

    // `ws` closes the socket itself when a frame breaks its rules (too big, not UTF-8, malformed),
    // with the code in the error; say so in the log, which `ws` does not.
    socket.on('error', (err) => {
      closedBy = 'server';
      const code = statusCodeOf(err);
      log.warn({ code, codeName: code === undefined ? undefined : CODE_NAMES.get(code), reason: err.message }, 'closing a graphql-ws socket');
    });

    let answered = true;
    socket.on('pong', () => (answered = true));
    const keepAlive =
      keepAliveMs > 0
        ? setInterval(() => {
            if (socket.readyState !== socket.OPEN) return;
            if (!answered) {
              close(CloseCode.KeepAliveTimeout, `keep-alive: no answer to a ping within ${keepAliveMs} ms`);
              cutAfter(keepAliveMs);
              return;
            }
            answered = false;
            socket.ping();
          }, keepAliveMs)
        : undefined;

    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (serialized) => {
          const data = withPayload(serialized);
          return new Promise<void>((resolve, reject) => {
            if (socket.readyState !== socket.OPEN) return resolve();
            socket.send(data, (err) => (err ? reject(err) : resolve()));
          });
        },
        close: (code, reason) => close((code ?? CloseCode.InternalServerError) as CloseCodeValue, reason ?? ''),
        onMessage: (handle) =>
          socket.on('message', async (data) => {
            try {
              await handle(String(data));
            } catch (err) {
              // Sending to a socket that closed meanwhile is the client leaving, not a fault.
              if (socket.readyState !== socket.OPEN) return void log.debug({ err }, 'graphql-ws socket closed while an operation was running');
              log.error({ err }, 'unexpected error handling a graphql-ws message');
              close(CloseCode.InternalServerError, 'Internal server error');
            }
          }),
      },
      { socket, request, close },
    );

    socket.once('close', (code, reason) => {
      clearInterval(keepAlive);
      clearTimeout(cut);
      closers.delete(socket);
      log.debug({ code, reason: String(reason), by: closedBy }, 'graphql-ws socket closed');
      closed(code, String(reason)).catch((err: unknown) => log.error({ err }, 'unexpected error ending the operations of a closed graphql-ws socket'));
    });
  });

  return {
    async closeAll(reason, graceMs) {
      const sockets = [...wss.clients];
      if (sockets.length) logger.info({ code: CloseCode.GoingAway, codeName: 'GoingAway', reason, sockets: sockets.length }, 'closing every graphql-ws socket');
      await Promise.all(
        sockets.map(
          (socket) =>
            new Promise<void>((resolve) => {
              if (socket.readyState === socket.CLOSED) return resolve();
              const timer = setTimeout(() => socket.terminate(), graceMs);
              socket.once('close', () => {
                clearTimeout(timer);
                resolve();
              });
              const close = closers.get(socket);
              if (close) close(CloseCode.GoingAway, reason);
              else socket.close(CloseCode.GoingAway, reason);
            }),
        ),
      );
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** A client's misbehaviour is a warning; a server fault an error; the server stopping is routine. */
function levelOf(code: number): 'debug' | 'warn' | 'error' {
  if (code === CloseCode.GoingAway) return 'debug';
  if (code === CloseCode.InternalServerError) return 'error';
  return 'warn';
}

/** The close code `ws` puts on the errors it closes a socket for (its `kStatusCode` symbol). */
function statusCodeOf(err: Error): number | undefined {
  const symbol = Object.getOwnPropertySymbols(err).find((s) => s.description === 'status-code');
  const code = symbol ? (err as unknown as Record<symbol, unknown>)[symbol] : undefined;
  return typeof code === 'number' ? code : undefined;
}
