// The API client's half of the configuration (docs/design.md §17): where the CLI finds the server
// and its token. Apart from config.ts because a client command must start in a few milliseconds:
// this reads five variables and two small files, without zod and without the server's settings.
//
// Where a client command points, the first that answers wins:
//   1. --url / --token on the command line;
//   2. MAKIMA_URL / MAKIMA_TOKEN;
//   3. the login file, written by `makima login` (`<config dir>/makima/login.json`, mode 0600);
//   4. a local server: the embedded server's data directory (MAKIMA_DATA_DIR, else ./.makima) holds
//      `server-url` while it runs and `local-token` since its first start;
//   5. http://127.0.0.1:4000/graphql, without a token.
// URL and token are chosen one by one (MAKIMA_TOKEN with a logged-in URL works as it reads), but a
// stored token is only sent to the URL it was stored with.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const DEFAULT_URL = 'http://127.0.0.1:4000/graphql';

/** What `makima login` stores. */
export interface Login {
  url: string;
  token: string;
}

export type Source = 'flag' | 'env' | 'login' | 'local' | 'default';

export interface ClientSettings {
  url: string;
  urlSource: Source;
  token: string | undefined;
  tokenSource: Source | undefined;
  /** The login file, whether or not it exists. */
  loginFile: string;
  /** The embedded server's data directory that was looked at. */
  dataDir: string;
}

/** `$XDG_CONFIG_HOME/makima`, else `~/.config/makima` (the XDG Base Directory default). */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CONFIG_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(env.HOME || os.homedir(), '.config'), 'makima');
}

export function loginFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(configDir(env), 'login.json');
}

/** The stored login, or undefined when there is none (or it is not a login: it is then ignored, and `makima status` says so). */
export function readLogin(file: string): Login | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const value = JSON.parse(text) as Partial<Login>;
    return typeof value.url === 'string' && typeof value.token === 'string' ? { url: value.url, token: value.token } : undefined;
  } catch {
    return undefined;
  }
}

/** Writes the login file readable by its owner only (0600), its directory 0700; replaces it atomically. */
export function writeLogin(file: string, login: Login): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(login, null, 2)}\n`, { mode: 0o600 });
  fs.chmodSync(tmp, 0o600); // writeFileSync's mode is masked by the umask
  fs.renameSync(tmp, file);
}

/** The embedded server's data directory, as `makima serve` would choose it (config.ts: MAKIMA_DATA_DIR, else ./.makima). */
export function localDataDir(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  return path.resolve(cwd, env.MAKIMA_DATA_DIR || '.makima');
}

/** A running embedded server's URL and its local user's token, from its data directory. */
export function readLocalServer(dataDir: string): { url?: string; token?: string } {
  const read = (name: string) => {
    try {
      return fs.readFileSync(path.join(dataDir, name), 'utf8').trim() || undefined;
    } catch {
      return undefined;
    }
  };
  return { url: read('server-url'), token: read('local-token') };
}

/**
 * The API endpoint of a URL a person gave: a server's address alone (`http://host:4000`, no path)
 * means its GraphQL endpoint, `/graphql`, where `makima serve` answers; any other URL is kept as it is.
 */
export function apiEndpoint(url: string): string;
export function apiEndpoint(url: string | undefined): string | undefined;
export function apiEndpoint(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    const parsed = new URL(url);
    if (!/^https?:$/.test(parsed.protocol) || parsed.pathname !== '/' || parsed.search || parsed.hash) return url;
    parsed.pathname = '/graphql';
    return parsed.toString();
  } catch {
    return url; // not a URL: the client says so when it tries it
  }
}

/** Where a client command points (the order in the header), given its --url / --token flags. */
export function clientSettings(flags: { url?: string; token?: string }, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): ClientSettings {
  const file = loginFile(env);
  const login = readLogin(file);
  const dataDir = localDataDir(env, cwd);
  const local = readLocalServer(dataDir);
  const pick = <T>(candidates: [T | undefined, Source][]): [T | undefined, Source | undefined] => candidates.find(([v]) => v !== undefined && v !== '') ?? [undefined, undefined];
  const [url, urlSource] = pick<string>([
    [apiEndpoint(flags.url), 'flag'],
    [apiEndpoint(env.MAKIMA_URL), 'env'],
    [login?.url, 'login'],
    [local.url, 'local'],
    [DEFAULT_URL, 'default'],
  ]);
  const [token, tokenSource] = pick<string>([
    [flags.token, 'flag'],
    [env.MAKIMA_TOKEN, 'env'],
    // A stored token goes only to the server it was stored for: never to a URL given some other way.
    [url === login?.url ? login?.token : undefined, 'login'],
    [urlSource === 'local' || urlSource === 'default' ? local.token : undefined, 'local'],
  ]);
  return { url: url ?? DEFAULT_URL, urlSource: urlSource ?? 'default', token, tokenSource, loginFile: file, dataDir };
}
