// Token checks for one server: a short cache of checked tokens, and the graphql-ws sockets opened
// with each token. A revocation is announced through the database (NOTIFY on TOKEN_REVOKED_CHANNEL)
// so that every instance drops the token from its cache and closes its sockets at once, instead of
// trusting it until its cache entry expires (docs/operations.md, "Accounts, tokens and scopes").
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { TokenAuthority, Viewer } from '../../context.js';
import { RESYNC, type Database } from '../../db/database.js';
import type { PrismaClient } from '../../generated/prisma/client.js';
import type { TokenScope } from '../../generated/prisma/enums.js';
import { hashToken, TOKEN_PREFIX } from './service.js';

/** NOTIFY channel carrying the id of a revoked API token. */
export const TOKEN_REVOKED_CHANNEL = 'makima_token_revoked';

/** How long a checked token is trusted without asking the database again (a revocation clears it at once). */
export const AUTH_CACHE_MS = 5_000;

/** setTimeout's largest delay; a socket whose token expires later is checked again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export type Authentication = { viewer: Viewer } | { viewer: null; refusal?: string };

interface TokenRow {
  token_id: string;
  token_name: string;
  scope: string;
  expires_at: Date | null;
  user_id: string;
  user_name: string;
  is_admin: boolean;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

/** A socket opened with a token: closed when the token is revoked or expires. */
type CloseSocket = (reason: 'revoked' | 'expired') => void;

export class Authenticator implements TokenAuthority {
  // Per token hash; unknown tokens are not cached (they cannot fill the cache).
  private readonly cache = new LRUCache<string, Viewer>({ max: 10_000, ttl: AUTH_CACHE_MS });
  private readonly sockets = new Map<string, Set<CloseSocket>>();
  private unlisten?: () => Promise<void>;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly logger: Logger,
  ) {}

  /** Starts listening for revocations (on PGlite, too: one process, the same channel). */
  async start(db: Database): Promise<void> {
    this.unlisten = await db.listen(TOKEN_REVOKED_CHANNEL, (payload) => {
      // After a lost LISTEN connection every revocation sent meanwhile is lost: forget every check.
      if (payload === RESYNC) return void this.resync();
      this.forget(payload, 'revoked');
    });
  }

  async stop(): Promise<void> {
    await this.unlisten?.();
    this.unlisten = undefined;
  }

  /** The viewer a bearer token belongs to; null (with why, when it is worth saying) for a missing, unknown, revoked or expired token. */
  async authenticate(token: string | undefined | null): Promise<Authentication> {
    if (!token || !token.startsWith(TOKEN_PREFIX) || token.length > 200) return { viewer: null };
    const hash = hashToken(token);
    const cached = this.cache.get(hash);
    if (cached) return expired(cached) ? { viewer: null, refusal: expiredMessage(cached) } : { viewer: cached };
    const [row] = await this.prisma.$queryRaw<TokenRow[]>`
      SELECT t.id AS token_id, t.name AS token_name, t.scope::text AS scope, t.expires_at, t.last_used_at, t.revoked_at,
             u.id AS user_id, u.name AS user_name, u.is_admin
        FROM api_tokens t JOIN users u ON u.id = t.user_id
       WHERE t.token_hash = ${hash}`;
    if (!row) return { viewer: null };
    if (row.revoked_at) return { viewer: null, refusal: `API token "${row.token_name}" was revoked; create a new one (makima token create)` };
    const viewer: Viewer = {
      id: row.user_id,
      name: row.user_name,
      isAdmin: row.is_admin,
      tokenId: row.token_id,
      tokenName: row.token_name,
      scope: row.scope.toUpperCase() as TokenScope,
      expiresAt: row.expires_at ? new Date(row.expires_at) : null,
    };
    if (expired(viewer)) return { viewer: null, refusal: expiredMessage(viewer) };
    // last_used_at is advisory: refresh it at most once a minute so reads stay read-only in practice.
    if (!row.last_used_at || Date.now() - new Date(row.last_used_at).getTime() > 60_000) {
      await this.prisma.apiToken.update({ where: { id: row.token_id }, data: { lastUsedAt: new Date() } });
    }
    this.cache.set(hash, viewer);
    return { viewer };
  }

  /**
   * Tracks a graphql-ws socket opened with `viewer`'s token: `close` is called when the token is
   * revoked (on any instance) or expires. Returns the function to call when the socket closes.
   */
  trackSocket(viewer: Viewer, close: CloseSocket): () => void {
    let set = this.sockets.get(viewer.tokenId);
    if (!set) this.sockets.set(viewer.tokenId, (set = new Set()));
    set.add(close);
    let timer: NodeJS.Timeout | undefined;
    const armExpiry = () => {
      if (!viewer.expiresAt) return;
      const left = viewer.expiresAt.getTime() - Date.now();
      timer = setTimeout(() => (left > MAX_TIMER_MS ? armExpiry() : close('expired')), Math.min(Math.max(left, 0), MAX_TIMER_MS));
      timer.unref();
    };
    armExpiry();
    return () => {
      clearTimeout(timer);
      set.delete(close);
      if (set.size === 0 && this.sockets.get(viewer.tokenId) === set) this.sockets.delete(viewer.tokenId);
    };
  }

  /** Forgets a revoked token on this instance: its cache entries, and its sockets are closed. */
  forget(tokenId: string, reason: 'revoked'): void {
    for (const [hash, viewer] of this.cache.entries()) if (viewer.tokenId === tokenId) this.cache.delete(hash);
    const sockets = this.sockets.get(tokenId);
    if (!sockets) return;
    this.sockets.delete(tokenId);
    this.logger.info({ tokenId, sockets: sockets.size }, 'closing the graphql-ws sockets of a revoked API token');
    for (const close of sockets) close(reason);
  }

  /** After a lost LISTEN connection: drop every cached check and re-check the token of every open socket. */
  private resync(): void {
    this.cache.clear();
    const tokenIds = [...this.sockets.keys()];
    if (tokenIds.length === 0) return;
    this.prisma.apiToken
      .findMany({ where: { id: { in: tokenIds }, revokedAt: { not: null } }, select: { id: true } })
      .then((revoked) => revoked.forEach((t) => this.forget(t.id, 'revoked')))
      .catch((err: unknown) => this.logger.error({ err }, 'could not re-check the API tokens of open sockets'));
  }
}

function expired(viewer: Viewer): boolean {
  return viewer.expiresAt !== null && viewer.expiresAt.getTime() <= Date.now();
}

function expiredMessage(viewer: Viewer): string {
  return `API token "${viewer.tokenName}" expired at ${viewer.expiresAt?.toISOString()}; create a new one (makima token create)`;
}
