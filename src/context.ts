// What every resolver and service receives: the server's shared parts and, per request, the viewer.
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Database } from './db/database.js';
import type { PrismaClient } from './generated/prisma/client.js';
import type { TokenScope } from './generated/prisma/enums.js';
import type { Git } from './git/index.js';
import type { LiveHub } from './live/hub.js';

export interface Viewer {
  id: string;
  name: string;
  /** May create users (the first user; modules/auth). */
  isAdmin: boolean;
  /** The API token the request authenticated with, and what it may do (docs/operations.md, "Accounts, tokens and scopes"). */
  tokenId: string;
  tokenName: string;
  scope: TokenScope;
  expiresAt: Date | null;
}

/** Token checks for one server (modules/auth/authenticator.ts). */
export interface TokenAuthority {
  /** The viewer of a bearer token; null (with why, when worth saying) for a missing, unknown, revoked or expired one. */
  authenticate(token: string | null | undefined): Promise<{ viewer: Viewer } | { viewer: null; refusal?: string }>;
  /** Calls `close` when the viewer's token is revoked (on any instance) or expires; returns the untrack function. */
  trackSocket(viewer: Viewer, close: (reason: 'revoked' | 'expired') => void): () => void;
  /** Drops a revoked token on this instance at once (its cache entries and sockets). */
  forget(tokenId: string, reason: 'revoked'): void;
}

/** Built once per server. */
export interface AppContext {
  config: Config;
  db: Database;
  prisma: PrismaClient;
  logger: Logger;
  /** Live history and task events for this server's subscribers. */
  live: LiveHub;
  /** The one way to git (src/git/index.ts). */
  git: Git;
  /** Token checks, their cache, and the sockets of each token (closed when it is revoked). */
  auth: TokenAuthority;
}

/** What a service receives: the server's parts and the authenticated viewer it acts for. */
export interface ServiceContext extends AppContext {
  viewer: Viewer;
}

/** Built per request (HTTP) or per socket (graphql-ws). */
export interface Context extends AppContext {
  viewer: Viewer | null;
  /** Why there is no viewer (an expired or revoked token), for the UNAUTHENTICATED message. */
  authRefusal?: string;
  /** On a graphql-ws connection: closes its socket (e.g. a subscriber that fell too far behind). */
  closeSocket?: (code: number, reason: string) => void;
}
