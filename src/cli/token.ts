// `makima token create|list|revoke`: the viewer's API tokens. The secret is printed once, by create.
import type { Command } from 'commander';
import { graphql } from '../generated/gql/index.js';
import type { CliCommand } from './command.js';
import { allNodes, clientCommand, clientFrom, type ClientOptions } from './client.js';
import { color, printJson, println, printTable, UsageError, when } from './output.js';

const CreateApiToken = graphql(`
  mutation CliCreateApiToken($input: CreateApiTokenInput!) {
    createApiToken(input: $input) { token apiToken { id name scope createdAt expiresAt } }
  }
`);

const ApiTokens = graphql(`
  query CliApiTokens($after: String) {
    apiTokens(first: 100, after: $after) {
      edges { node { id name scope createdAt lastUsedAt expiresAt revokedAt } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

const RevokeApiToken = graphql(`
  mutation CliRevokeApiToken($input: RevokeApiTokenInput!) { revokeApiToken(input: $input) { apiToken { id name revokedAt } } }
`);

const SCOPES = ['FULL', 'READ', 'WORKER'] as const;
type Scope = (typeof SCOPES)[number];

/** "30d", "12h", "90m" from now, or an ISO 8601 time. */
function expiry(value: string): string {
  const relative = /^(\d+)([mhd])$/.exec(value);
  if (relative) return new Date(Date.now() + Number(relative[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 'm' | 'h' | 'd']).toISOString();
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) throw new UsageError(`--expires must be a duration like 30d, 12h or 90m, or an ISO 8601 time; got "${value}"`);
  return time.toISOString();
}

export const tokenCreate: CliCommand = {
  name: 'token create',
  define: (cmd: Command) =>
  void clientCommand(cmd)
    .description('create an API token and print it (shown only this once)')
    .requiredOption('--name <name>', 'what the token is for (shown in the history of what it does)')
    .option('--scope <scope>', 'FULL (everything), READ (queries and subscriptions) or WORKER (the worker protocol)', 'FULL')
    .option('--expires <when>', 'when it stops working: 30d, 12h, 90m from now, or an ISO 8601 time (default: never)')
    .action(async (opts: ClientOptions & { json?: boolean; name: string; scope: string; expires?: string }) => {
      const scope = opts.scope.toUpperCase() as Scope;
      if (!SCOPES.includes(scope)) throw new UsageError(`--scope must be one of ${SCOPES.join(', ')}; got "${opts.scope}"`);
      const expiresAt = opts.expires ? expiry(opts.expires) : undefined;
      const { createApiToken } = await clientFrom(opts).request(CreateApiToken, { input: { name: opts.name, scope, expiresAt } });
      if (opts.json) return printJson(createApiToken);
      const t = createApiToken.apiToken;
      println(`created ${t.scope} token ${color.bold(t.name)} (${t.id})${t.expiresAt ? `, expires ${t.expiresAt}` : ''}`);
      println(`token: ${createApiToken.token}`);
      println(color.dim('It is shown only this once: store it now (e.g. as MAKIMA_TOKEN on the machine that uses it).'));
    }),
};

export const tokenList: CliCommand = {
  name: 'token list',
  define: (cmd: Command) =>
  void clientCommand(cmd)
    .description('list your API tokens (never their secrets), newest first')
    .action(async (opts: ClientOptions & { json?: boolean }) => {
      const client = clientFrom(opts);
      const tokens = await allNodes(async (after) => (await client.request(ApiTokens, { after })).apiTokens);
      if (opts.json) return printJson(tokens);
      if (tokens.length === 0) return println('no tokens');
      const state = (t: (typeof tokens)[number]) =>
        t.revokedAt ? color.red(`revoked ${when(t.revokedAt)}`) : t.expiresAt && Date.parse(t.expiresAt) <= Date.now() ? color.red('expired') : color.green('valid');
      await printTable(
        ['id', 'name', 'scope', 'state', 'created', 'last used', 'expires'],
        tokens.map((t) => [t.id, t.name, t.scope, state(t), when(t.createdAt), t.lastUsedAt ? when(t.lastUsedAt) : 'never', t.expiresAt ?? 'never']),
        { keep: [0] }, // the ID `makima token revoke` takes
      );
    }),
};

export const tokenRevoke: CliCommand = {
  name: 'token revoke',
  define: (cmd: Command) =>
  void clientCommand(cmd.argument('<token-id>', 'the ID of the token (as `makima token list` shows it)'))
    .description('revoke one of your API tokens: every server instance refuses it at once')
    .action(async (id: string, opts: ClientOptions & { json?: boolean }) => {
      const { revokeApiToken } = await clientFrom(opts).request(RevokeApiToken, { input: { id } });
      if (opts.json) return printJson(revokeApiToken);
      println(`revoked token ${color.bold(revokeApiToken.apiToken.name)} (${revokeApiToken.apiToken.id})`);
    }),
};
