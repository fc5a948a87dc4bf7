// `makima user create --name N [--json]`: a user and an API token, printed once. It opens the
// database itself; when a running server holds the embedded database, it asks that server instead
// (createUser, which only the administrator — the first user — may call), so adding a user needs
// no downtime. The server is found at --url / MAKIMA_URL, else where it wrote its URL in the data
// directory (`server-url`), else at HOST and PORT; the token is
// --token / MAKIMA_TOKEN, else the local user's token in the data directory; without any token, the
// refusal is the data directory's own.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../config.js';
import { graphql } from '../generated/gql/index.js';
import { globalId } from './arguments.js';
import { ApiClient } from './client.js';
import type { CliCommand } from './command.js';
import { DataDirHeldError, migrateDatabase, openConfiguredDatabase } from './database.js';
import { CliError, UsageError, color, printJson, println } from './output.js';
import { serverUrlFile } from './serve.js';

const CreateUser = graphql(`
  mutation CliCreateUser($input: CreateUserInput!) { createUser(input: $input) { token user { id name } } }
`);

interface Created {
  id: string;
  name: string;
  token: string;
}

type UserOptions = { name: string; json?: boolean; url?: string; token?: string };

export const userCreate: CliCommand = { name: 'user create', define: defineUserCreate };

function defineUserCreate(cmd: Command): void {
  cmd
    .description('create a user and print its API token (shown only once); through the running server if one holds the embedded database')
    .requiredOption('--name <name>', "the user's name")
    .option('--json', 'print { "id", "name", "token" } as JSON')
    .option('--url <url>', 'the running server, when it holds the embedded database (default: MAKIMA_URL, else HOST and PORT)')
    .option('--token <token>', "an administrator's token for it (default: MAKIMA_TOKEN, else the local user's token in the data directory)")
    .action(async (opts: UserOptions) => {
      if (!opts.name.trim()) throw new UsageError('--name must not be empty');
      const { loadConfig } = await import('../config.js'); // lazily: zod is slow to load, and client commands never need it
      const config = loadConfig();
      const created = await createDirectly(config, opts.name).catch((err: unknown) => {
        if (!(err instanceof DataDirHeldError)) throw err;
        return createThroughServer(config, opts, err);
      });
      if (opts.json) return printJson(created);
      // The token once, inside the command that uses it; the ID is for scripts (--json).
      println(`created user ${color.bold(created.name)}; its API token is shown only this once. Log in with it:`);
      println(`  makima login ${serverUrl(config, opts)} --token ${created.token}`);
      println(color.dim('(or set it as MAKIMA_TOKEN, or send it in GraphiQL under Headers: {"Authorization": "Bearer <token>"})'));
    });
}

/** The server's URL: --url / MAKIMA_URL, else what a running server wrote in the data directory, else HOST and PORT. */
function serverUrl(config: Config, opts: UserOptions): string {
  const running = serverUrlFile(config);
  const written = fs.existsSync(running) ? fs.readFileSync(running, 'utf8').trim() : undefined;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return opts.url ?? config.clientUrl ?? written ?? `http://${host}:${config.port}/graphql`;
}

async function createDirectly(config: Config, name: string): Promise<Created> {
  const db = await openConfiguredDatabase(config);
  try {
    await migrateDatabase(db);
    const { createUser } = await import('../modules/auth/index.js');
    const { id, token } = await createUser(db.prisma, name);
    return { id: globalId('User', id), name: name.trim(), token };
  } finally {
    await db.close();
  }
}

async function createThroughServer(config: Config, opts: UserOptions, held: DataDirHeldError): Promise<Created> {
  const localToken = path.join(config.dataDir, 'local-token');
  const token = opts.token ?? config.clientToken ?? (fs.existsSync(localToken) ? fs.readFileSync(localToken, 'utf8').trim() : undefined);
  // Without a token to ask a server with, the refusal is the data directory's own (one line).
  if (!token) throw held;
  const url = serverUrl(config, opts);
  try {
    const { createUser } = await new ApiClient(url, token).request(CreateUser, { input: { name: opts.name } });
    return { id: createUser.user.id, name: createUser.user.name, token: createUser.token };
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    throw new CliError(`${held.message} Adding the user through the server at ${url} failed too: ${err.message}`, err.kind);
  }
}
