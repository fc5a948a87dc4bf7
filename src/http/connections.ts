// Bounds on what one client can hold open (docs/operations.md, "Timeouts and connections per client"): a request's headers and
// its body must arrive within MAKIMA_HEADERS_TIMEOUT_MS and MAKIMA_REQUEST_TIMEOUT_MS (Node answers
// 408 and closes), and one client address holds at most MAKIMA_MAX_CONNECTIONS_PER_CLIENT
// connections (more are answered 429 and closed). A response may take as long as it needs: an SSE
// stream or a long-polling claimTask is not cut once its request has arrived.
import type http from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../config.js';

/** The node:http options that enforce the timeouts; Node checks them every connectionsCheckingInterval. */
export function requestTimeouts(config: Config): http.ServerOptions {
  return {
    headersTimeout: config.headersTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    // Node's default check every 30 s would let a slow client hold on that much past its bound.
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(config.headersTimeoutMs / 4))),
  };
}

const TOO_MANY = 'HTTP/1.1 429 Too Many Requests\r\nconnection: close\r\ncontent-type: text/plain\r\ncontent-length: 51\r\n\r\ntoo many connections from this address: close some\n';

/**
 * Counts open connections per remote address; one over `max` is answered 429 and closed before
 * anything of it is read. Behind a reverse proxy every client has the proxy's address: set 0 there
 * and let the proxy bound its clients.
 */
export function limitConnectionsPerClient(server: http.Server, max: number, logger: Logger): void {
  if (max <= 0) return;
  const open = new Map<string, number>();
  const warned = new Set<string>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    const count = (open.get(address) ?? 0) + 1;
    if (count > max) {
      if (!warned.has(address)) {
        warned.add(address);
        logger.warn({ remote: address, max }, 'refusing connections from a client over MAKIMA_MAX_CONNECTIONS_PER_CLIENT');
      }
      socket.end(TOO_MANY);
      return;
    }
    open.set(address, count);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
      if (left < max) warned.delete(address);
    });
  });
}
