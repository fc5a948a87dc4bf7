// Users and API tokens: tokens are random, shown once, stored only as a SHA-256 hash (DESIGN §7).
import crypto from 'node:crypto';
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

/** The viewer a bearer token belongs to, or null for a missing, unknown or revoked token. */
export async function authenticate(prisma: PrismaClient, token: string | undefined | null): Promise<Viewer | null> {
  if (!token || !token.startsWith(TOKEN_PREFIX) || token.length > 200) return null;
  const row = await prisma.apiToken.findUnique({
    where: { tokenHash: hashToken(token) },
    include: { user: true },
  });
  if (!row || row.revokedAt) return null;
  // last_used_at is advisory: refresh it at most once a minute so reads stay read-only in practice.
  if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > 60_000) {
    await prisma.apiToken.update({ where: { id: row.id }, data: { lastUsedAt: new Date() } });
  }
  return { id: row.user.id, name: row.user.name };
}

/** Reads "Bearer <token>" from an Authorization header value. */
export function bearerToken(header: unknown): string | null {
  if (typeof header !== 'string') return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : null;
}
