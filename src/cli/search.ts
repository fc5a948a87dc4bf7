// `makima search "<query>" [--contract C] [--task T] [--kind K] [--role R] [--since 2d] [--until T] [--first N]`:
// full-text search over the viewer's messages, task events and checkpoints, best match first, each
// hit with its task, time, kind, the excerpt (matched spans highlighted) and the command to go on from it.
import { InvalidArgumentError, type Command } from 'commander';
import { graphql } from '../generated/gql/index.js';
import type { MessageRole, SearchHitKind, TaskStatus } from '../generated/gql/graphql.js';
import type { CliCommand } from './command.js';
import { clientCommand, clientFrom, type ClientOptions } from './client.js';
import { color, printJson, println, UsageError, when } from './output.js';

const Search = graphql(`
  query CliSearch($query: String!, $first: Int, $filter: SearchFilter) {
    search(query: $query, first: $first, filter: $filter) {
      edges {
        node {
          score snippet kind createdAt
          excerpt { text truncatedBefore truncatedAfter highlights { start end } }
          task { id name status }
          contract { id name }
          node { id ... on ConversationMessage { role index } ... on TaskEvent { type seq } ... on Checkpoint { number commitSha } }
        }
      }
      pageInfo { hasNextPage }
    }
  }
`);

const KINDS: Record<string, SearchHitKind> = { message: 'MESSAGE', event: 'TASK_EVENT', task_event: 'TASK_EVENT', checkpoint: 'CHECKPOINT' };
const ROLES = ['system', 'user', 'assistant', 'tool'];
const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 7 * 86_400 };

/** `2d`, `36h`, `90m`, `1w` before now, or an ISO 8601 time, as an ISO time. */
export function parseSince(value: string, now = Date.now()): string {
  const ago = /^(\d+)\s*([smhdw])$/i.exec(value.trim());
  if (ago) return new Date(now - Number(ago[1]) * UNITS[ago[2].toLowerCase()] * 1000).toISOString();
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) throw new InvalidArgumentError('give a duration before now (30m, 36h, 2d, 1w) or an ISO 8601 time');
  return at.toISOString();
}

function collect<T>(map: (value: string) => T) {
  return (value: string, previous: T[] = []) => [...previous, map(value)];
}

function kindOf(value: string): SearchHitKind {
  const kind = KINDS[value.toLowerCase()];
  if (!kind) throw new InvalidArgumentError(`one of message, event, checkpoint`);
  return kind;
}

function roleOf(value: string): MessageRole {
  if (!ROLES.includes(value.toLowerCase())) throw new InvalidArgumentError(`one of ${ROLES.join(', ')}`);
  return value.toUpperCase() as MessageRole;
}

function firstOf(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100) throw new InvalidArgumentError('a whole number from 1 to 100');
  return n;
}

/**
 * A hit's excerpt for a terminal: the matched spans (the server's offsets, no markup parsed) in bold
 * yellow, or between [ and ] without colour; line breaks and tabs shown as spaces, "…" where it is cut.
 */
export function highlight(excerpt: { text: string; truncatedBefore: boolean; truncatedAfter: boolean; highlights: readonly { start: number; end: number }[] }): string {
  const on = color.isColorSupported;
  const plain = (text: string) => text.replace(/\s+/g, ' ');
  let out = '';
  let at = 0;
  for (const h of excerpt.highlights) {
    const term = plain(excerpt.text.slice(h.start, h.end));
    out += plain(excerpt.text.slice(at, h.start)) + (on ? color.bold(color.yellow(term)) : `[${term}]`);
    at = h.end;
  }
  out += plain(excerpt.text.slice(at));
  return `${excerpt.truncatedBefore ? '… ' : ''}${out.trim()}${excerpt.truncatedAfter ? ' …' : ''}`;
}

type Hit = NonNullable<Awaited<ReturnType<typeof searchOnce>>>['search']['edges'][number]['node'];

async function searchOnce(client: ReturnType<typeof clientFrom>, variables: { query: string; first: number; filter: Record<string, unknown> }) {
  return client.request(Search, variables);
}

/** Statuses `makima task resume` and `task resume-from` accept. */
const RESUMABLE: TaskStatus[] = ['INTERRUPTED', 'FAILED'];

/**
 * The commands that go on from a hit, each runnable as printed (IDs and bare numbers, nothing the
 * shell reads): fork at the message or checkpoint, rewind or resume where the task allows it.
 */
function nextStep(hit: Hit): string {
  const node = hit.node as { id: string; number?: number };
  const task = hit.task.id;
  const resumable = RESUMABLE.includes(hit.task.status);
  if (hit.kind === 'MESSAGE') return `makima task fork ${task} --message ${node.id}   (or: makima conversation rewind --task ${task} --to ${node.id})`;
  if (hit.kind === 'CHECKPOINT') {
    const other = resumable ? `makima task resume-from ${task} ${node.number}` : `makima task diff ${task} ${node.number}`;
    return `makima task fork ${task} --checkpoint ${node.number}   (or: ${other})`;
  }
  return `makima task history ${task}${resumable ? `   (or: makima task resume ${task})` : ''}`;
}

function where(hit: Hit): string {
  const node = hit.node as { role?: string; index?: number; type?: string; seq?: number; number?: number; commitSha?: string };
  if (hit.kind === 'MESSAGE') return `message ${Number(node.index) + 1} (${String(node.role).toLowerCase()})`;
  if (hit.kind === 'CHECKPOINT') return `checkpoint #${node.number} ${node.commitSha?.slice(0, 10)}`;
  return `event ${node.seq} (${String(node.type).toLowerCase()})`;
}

export const search: CliCommand = {
  name: 'search',
  define: (cmd: Command) =>
  void clientCommand(cmd.argument('<query>', 'words, "a phrase", -excluded, a or b; identifiers, paths and sha prefixes as written'))
    .description("search everything your agents wrote: messages, tool calls and shell commands, outputs, errors, checkpoints")
    .option('--contract <contract>', "only this contract's tasks")
    .option('--task <task>', 'only this task')
    .option('--kind <kind>', 'only hits of this kind: message, event, checkpoint; repeatable', collect(kindOf))
    .option('--role <role>', `only messages with this role (${ROLES.join(', ')}); repeatable`, collect(roleOf))
    .option('--since <time>', 'only what was written since then: 30m, 36h, 2d, 1w, or an ISO 8601 time', (v) => parseSince(v))
    .option('--until <time>', 'only what was written until then (same forms as --since)', (v) => parseSince(v))
    .option('--first <n>', 'how many hits to show (1–100)', firstOf, 20)
    .action(async (query: string, opts: ClientOptions & { json?: boolean; contract?: string; task?: string; kind?: SearchHitKind[]; role?: MessageRole[]; since?: string; until?: string; first: number }) => {
      if (!query.trim()) throw new UsageError('give something to search for');
      const client = clientFrom(opts);
      const filter = { contractId: opts.contract, taskId: opts.task, kinds: opts.kind, roles: opts.role, since: opts.since, until: opts.until };
      const { search } = await searchOnce(client, { query, first: opts.first, filter });
      if (opts.json) return printJson(search);
      const hits = search.edges.map((e) => e.node);
      if (hits.length === 0) return println(color.dim(`no matches for ${query}`));
      for (const hit of hits) {
        println(`${color.bold(hit.task.name)} ${color.dim(hit.task.id)}  ${when(hit.createdAt)}  ${where(hit)}  ${color.dim(`score ${hit.score.toFixed(3)}`)}`);
        println(`  ${highlight(hit.excerpt)}`);
        println(color.dim(`  → ${nextStep(hit)}`));
        println();
      }
      if (search.pageInfo.hasNextPage) println(color.dim(`more matches: raise --first (at most 100) or narrow with --task, --kind, --since`));
    }),
};
