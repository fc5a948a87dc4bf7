// Users and API tokens: tokens are random, shown once, stored only as a SHA-256 hash (docs/design.md §7).
// A token has a scope (FULL, READ, WORKER) and may expire; a revoked token stops working at once
// on every instance (authenticator.ts). The first user is the administrator: only it may add users.
import crypto from 'node:crypto';
import type { ServiceContext } from '../../context.js';
import { BadInputError, ConflictError, ForbiddenError, NotFoundError } from '../../errors.js';
import type { ApiToken, PrismaClient } from '../../generated/prisma/client.js';
import { globalId } from '../../global-id.js';
import { transaction } from '../../db/transaction.js';
import type { TokenScope } from '../../generated/prisma/enums.js';

export const TOKEN_PREFIX = 'mk_';
export const MAX_TOKEN_NAME_LENGTH = 100;
export const MAX_USER_NAME_LENGTH = 100;

export function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token).digest('hex');
}

function newToken(): string {
  return TOKEN_PREFIX + crypto.randomBytes(32).toString('base64url');
}

export interface CreatedUser {
  id: string;
  name: string;
  token: string;
  isAdmin: boolean;
}

/**
 * Creates a user with one FULL API token; the token is returned here and never again. The first
 * user of a database is its administrator (an advisory lock makes "first" exact across instances).
 */
export async function createUser(prisma: PrismaClient, name: string, tokenName = 'default'): Promise<CreatedUser> {
  const trimmed = name.trim();
  if (!trimmed) throw new BadInputError('a user needs a non-empty name', 'name');
  if (trimmed.length > MAX_USER_NAME_LENGTH) throw new BadInputError(`a user's name is at most ${MAX_USER_NAME_LENGTH} characters`, 'name');
  const token = newToken();
  const user = await transaction(prisma, async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('makima_users'))`;
    const isAdmin = (await tx.user.count()) === 0;
    return tx.user.create({ data: { name: trimmed, isAdmin, tokens: { create: { name: tokenName, tokenHash: hashToken(token) } } } });
  });
  return { id: user.id, name: user.name, token, isAdmin: user.isAdmin };
}

/** createUser through the API: only the administrator may add users, and only with a FULL token. */
export async function createUserAsAdmin(ctx: ServiceContext, name: string): Promise<CreatedUser> {
  if (!ctx.viewer.isAdmin) throw new ForbiddenError('only the administrator (the first user) may create users');
  return createUser(ctx.prisma, name);
}

export interface CreateApiTokenInput {
  name: string;
  scope?: TokenScope | null;
  expiresAt?: Date | null;
}

/** A new token of the viewer's; the secret is returned here and never again. */
export async function createApiToken(ctx: ServiceContext, input: CreateApiTokenInput): Promise<{ token: string; apiToken: ApiToken }> {
  const name = input.name.trim();
  if (!name) throw new BadInputError('a token needs a non-empty name', 'name');
  if (name.length > MAX_TOKEN_NAME_LENGTH) throw new BadInputError(`a token's name is at most ${MAX_TOKEN_NAME_LENGTH} characters`, 'name');
  if (/\p{C}/u.test(name)) throw new BadInputError("a token's name must contain only printable characters", 'name');
  if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) throw new BadInputError('expiresAt must be in the future', 'expiresAt');
  const token = newToken();
  const apiToken = await ctx.prisma.apiToken.create({
    data: { userId: ctx.viewer.id, name, scope: input.scope ?? 'FULL', expiresAt: input.expiresAt ?? null, tokenHash: hashToken(token) },
  });
  return { token, apiToken };
}

/**
 * Revokes one of the viewer's tokens (also the one making the call). The NOTIFY is sent in the same
 * transaction, so every instance hears of it as the revocation commits.
 */
export async function revokeApiToken(ctx: ServiceContext, tokenId: string): Promise<ApiToken> {
  const apiToken = await transaction(ctx.prisma, async (tx) => {
    const found = await tx.apiToken.findFirst({ where: { id: tokenId, userId: ctx.viewer.id } });
    if (!found) throw new NotFoundError('API token', globalId('ApiToken', tokenId));
    if (found.revokedAt) throw new ConflictError(`API token "${found.name}" was already revoked at ${found.revokedAt.toISOString()}`, { revokedAt: found.revokedAt.toISOString() });
    const revoked = await tx.apiToken.update({ where: { id: found.id }, data: { revokedAt: new Date() } });
    await tx.$executeRaw`SELECT pg_notify('makima_token_revoked', ${found.id})`;
    return revoked;
  });
  ctx.auth.forget(apiToken.id, 'revoked');
  return apiToken;
}

/** Reads "Bearer <token>" from an Authorization header value. */
export function bearerToken(header: unknown): string | null {
  if (typeof header !== 'string') return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : null;
}
