// `makima login [url]`, `makima logout`, `makima status`: where the client commands point, kept in
// the user's config directory so that no shell needs MAKIMA_URL and MAKIMA_TOKEN exported
// (src/cli/client-config.ts has the order: flags, environment, login, a local server, the default).
import fs from 'node:fs';
import type { Command } from 'commander';
import { apiEndpoint, clientSettings, localDataDir, loginFile, readLocalServer, writeLogin, type ClientSettings, type Source } from './client-config.js';
import { graphql } from '../generated/gql/index.js';
import { ApiClient, clientCommand, DEFAULT_URL } from './client.js';
import type { CliCommand } from './command.js';
import { CliError, UsageError, color, printJson, println } from './output.js';

const Viewer = graphql(`
  query CliViewer { viewer { id name isAdmin } }
`);

/** A server given as `host:port`, `http://host:port` or the full endpoint: the GraphQL endpoint. */
export function endpointOf(given: string): string {
  const withScheme = /^https?:\/\//i.test(given) ? given : `http://${given}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`"${given}" is not a server URL (like http://127.0.0.1:4000)`);
  }
  return new URL(apiEndpoint(url.href)).href;
}

/** Reads a token from standard input: a prompt on a terminal, else its first line. */
async function readToken(url: string): Promise<string> {
  if (process.stdin.isTTY) {
    const { createInterface } = await import('node:readline/promises');
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      return (await rl.question(`API token for ${url} (from makima user create --name "<you>", or makima token create --name "<what for>"): `)).trim();
    } finally {
      rl.close();
    }
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').split('\n')[0].trim();
}

export const login: CliCommand = {
  name: 'login',
  define: (cmd: Command) =>
    cmd
      .argument('[url]', 'the server (http://host:port or its /graphql endpoint); default: the local server whose data directory is here')
      .option('--token <token>', "an API token (default: the local server's own token, else read from standard input)")
      .option('--json', 'print { "url", "user", "file" } as JSON')
      .description('remember a server and token for every later command (in your config directory, readable only by you)')
      .action(async (given: string | undefined, opts: { token?: string; json?: boolean }) => {
        const local = readLocalServer(localDataDir());
        const url = given ? endpointOf(given) : local.url;
        if (!url) {
          throw new UsageError(`no server given and none running from ${localDataDir()} (its data directory): give its URL, like makima login http://127.0.0.1:4000`);
        }
        const token = opts.token ?? (url === local.url && local.token ? local.token : await readToken(url));
        if (!token) throw new UsageError('no token given: pass --token, or type it when asked');
        const { viewer } = await new ApiClient(url, token).request(Viewer);
        const file = loginFile();
        writeLogin(file, { url, token });
        if (opts.json) return printJson({ url, user: viewer, file });
        println(`logged in to ${color.cyan(url)} as ${color.bold(viewer.name)}; saved in ${file} (mode 0600)`);
        println(color.dim('MAKIMA_URL and MAKIMA_TOKEN, when set, still take precedence; makima logout forgets it'));
      }),
};

export const logout: CliCommand = {
  name: 'logout',
  define: (cmd: Command) =>
    cmd
      .description('forget the server and token that makima login saved')
      .option('--json', 'print { "removed": file or null } as JSON')
      .action((opts: { json?: boolean }) => {
        const file = loginFile();
        const existed = fs.existsSync(file);
        fs.rmSync(file, { force: true });
        if (opts.json) return printJson({ removed: existed ? file : null });
        println(existed ? `logged out: removed ${file}` : `not logged in (no ${file})`);
      }),
};

const FROM: Record<Source, string> = {
  flag: 'the command line',
  env: 'the environment (MAKIMA_URL / MAKIMA_TOKEN)',
  login: 'makima login',
  local: 'the local server',
  default: 'the default',
};

function describeSource(settings: ClientSettings, source: Source | undefined): string {
  if (source === 'login') return `${FROM.login} (${settings.loginFile})`;
  if (source === 'local') return `${FROM.local} (${settings.dataDir})`;
  return source ? FROM[source] : 'nowhere';
}

export const status: CliCommand = {
  name: 'status',
  define: (cmd: Command) =>
    clientCommand(cmd)
      .description('where makima commands point (server and token, and where each came from) and who you are there')
      .action(async (opts: { url?: string; token?: string; json?: boolean }) => {
        const settings = clientSettings(opts);
        const shown = { url: settings.url, urlFrom: settings.urlSource, tokenFrom: settings.tokenSource ?? null, loginFile: settings.loginFile };
        if (!opts.json) {
          println(`server  ${color.cyan(settings.url)} ${color.dim(`from ${describeSource(settings, settings.urlSource)}`)}`);
          println(`token   ${settings.token ? `${settings.token.slice(0, 6)}… ` : ''}${color.dim(`from ${describeSource(settings, settings.tokenSource)}`)}`);
        }
        if (!settings.token) {
          if (opts.json) printJson({ ...shown, user: null });
          throw new CliError(`no API token: run makima login ${settings.url === DEFAULT_URL ? '"<url>"' : settings.url}, or set MAKIMA_TOKEN`, 'UNAUTHORIZED');
        }
        const { viewer } = await new ApiClient(settings.url, settings.token).request(Viewer);
        if (opts.json) return printJson({ ...shown, user: viewer });
        println(`user    ${color.bold(viewer.name)}${viewer.isAdmin ? ' (administrator)' : ''} ${color.dim(viewer.id)}`);
      }),
};
