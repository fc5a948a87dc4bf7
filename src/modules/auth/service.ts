// Users and API tokens: tokens are random, shown once, stored only as a SHA-256 hash (docs/design.md §7).
import crypto from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Viewer } from '../../context.js';
import type { PrismaClient } from '../../generated/prisma/client.js';

const TOKEN_PREFIX = 'mk_';

export function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token).digest('hex');
}

export interface CreatedUser {
  id: string;
  name: string;
  token: string;
}

/** Creates a user with one API token; the token is returned here and never again. */
export async function createUser(prisma: PrismaClient, name: string, tokenName = 'default'): Promise<CreatedUser> {
  const trimmed = name.trim();
  if (!trimmed) throw new Error('a user needs a non-empty name');
  const token = TOKEN_PREFIX + crypto.randomBytes(32).toString('base64url');
  const user = await prisma.user.create({
    data: { name: trimmed, tokens: { create: { name: tokenName, tokenHash: hashToken(token) } } },
  });
  return { id: user.id, name: user.name, token };
}

/** How long a token that was checked is trusted without asking the database again. */
export const AUTH_CACHE_MS = 5_000;

// Every request authenticates; a burst of requests with one token costs one lookup, not one each.
// Entries are per token hash and expire after AUTH_CACHE_MS, so a revoked token stops working
// within that time; unknown tokens are not cached (they cannot fill the cache).
const authCache = new LRUCache<string, Viewer>({ max: 10_000, ttl: AUTH_CACHE_MS });

interface TokenRow {
  token_id: string;
  user_id: string;
  user_name: string;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

/** The viewer a bearer token belongs to, or null for a missing, unknown or revoked token. */
export async function authenticate(prisma: PrismaClient, token: string | undefined | null): Promise<Viewer | null> {
  if (!token || !token.startsWith(TOKEN_PREFIX) || token.length > 200) return null;
  const hash = hashToken(token);
  const cached = authCache.get(hash);
  if (cached) return cached;
  const [row] = await prisma.$queryRaw<TokenRow[]>`
    SELECT t.id AS token_id, u.id AS user_id, u.name AS user_name, t.last_used_at, t.revoked_at
      FROM api_tokens t JOIN users u ON u.id = t.user_id
     WHERE t.token_hash = ${hash}`;
  if (!row || row.revoked_at) return null;
  // last_used_at is advisory: refresh it at most once a minute so reads stay read-only in practice.
  if (!row.last_used_at || Date.now() - new Date(row.last_used_at).getTime() > 60_000) {
    await prisma.apiToken.update({ where: { id: row.token_id }, data: { lastUsedAt: new Date() } });
  }
  const viewer = { id: row.user_id, name: row.user_name };
  authCache.set(hash, viewer);
  return viewer;
}

/** Reads "Bearer <token>" from an Authorization header value. */
export function bearerToken(header: unknown): string | null {
  if (typeof header !== 'string') return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : null;
}
