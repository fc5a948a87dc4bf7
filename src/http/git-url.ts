// Where a contract's repository is served over HTTP (docs/design.md §11): `<base>/git/<contract
// global id>.git`, the base being MAKIMA_PUBLIC_URL when set (a proxy, another host name), else the
// scheme and host the request came to.
import type { Config } from '../config.js';
import { globalId } from '../global-id.js';

/** The path every git URL starts with. */
export const GIT_PATH_PREFIX = '/git/';

/** The path of a contract's repository: the global ID, URL-encoded (base64 may hold "/" and "+"). */
export function gitPath(contractId: string): string {
  return `${GIT_PATH_PREFIX}${encodeURIComponent(globalId('Contract', contractId))}.git`;
}

/**
 * The server's base URL as a client reaches it: MAKIMA_PUBLIC_URL, else the request's origin (with
 * the scheme a proxy reports in X-Forwarded-Proto), else HOST and PORT (a graphql-ws operation
 * carries no request URL).
 */
export function publicBase(config: Pick<Config, 'publicUrl' | 'host' | 'port'>, request?: { url: string; headers: { get(name: string): string | null } }): string {
  if (config.publicUrl) return config.publicUrl;
  if (request) {
    const url = new URL(request.url);
    const proto = request.headers.get('x-forwarded-proto')?.split(',')[0]?.trim();
    return `${proto === 'https' || proto === 'http' ? proto : url.protocol.replace(':', '')}://${url.host}`;
  }
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return `http://${host}:${config.port}`;
}

/** A contract's absolute clone URL. */
export function gitUrl(base: string, contractId: string): string {
  return `${base}${gitPath(contractId)}`;
}
