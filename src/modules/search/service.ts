// Search (docs/api.md, "Search, export and import"): the viewer's messages, task events and
// checkpoints, by PostgreSQL full-text search over the generated `search_vector` columns (migration
// 20261201100000_search_and_transcripts), ranked, with an excerpt of the original text and the
// spans that matched (excerpt.ts).
// Rows are searchable as soon as their transaction commits: the vectors are generated columns.
import type { ServiceContext } from '../../context.js';
import { BadInputError } from '../../errors.js';
import { excerpts, markedSnippet, MAX_SCANNED_CHARS, type Excerpt } from './excerpt.js';
import { Prisma, type ConversationMessage, type Contract, type MessageRole, type Task, type TaskCheckpoint, type TaskEvent } from '../../generated/prisma/client.js';

export type SearchHitKind = 'MESSAGE' | 'TASK_EVENT' | 'CHECKPOINT';
export const SEARCH_HIT_KINDS: SearchHitKind[] = ['MESSAGE', 'TASK_EVENT', 'CHECKPOINT'];

/** The longest query accepted, in characters. */
export const MAX_QUERY_LENGTH = 1000;
/**
 * How many matches of each kind are ranked: the newest ones. A query whose words are in more rows
 * than this (a common word) returns the best of its most recent matches.
 */
export const MAX_RANKED = 2000;
/** Where the `snippet` string marks a matched term (a convenience: `excerpt` has the spans). */
export const MARK_START = '<mark>';
export const MARK_END = '</mark>';

export interface SearchFilter {
  contractId?: string | null;
  taskId?: string | null;
  kinds?: SearchHitKind[] | null;
  /** Only messages with one of these roles (and so only MESSAGE hits). */
  roles?: MessageRole[] | null;
  since?: Date | null;
  until?: Date | null;
}

/** A position in the ranked list: the hit after which the next page starts. */
export interface SearchPosition {
  score: number;
  createdAt: Date;
  id: string;
}

export interface SearchHit extends SearchPosition {
  kind: SearchHitKind;
  excerpt: Excerpt;
  /** The excerpt's text with each highlight between MARK_START and MARK_END. */
  snippet: string;
  node: ConversationMessage | TaskEvent | TaskCheckpoint;
  task: Task & { contract: Contract | null };
}

interface HitRow {
  kind: SearchHitKind;
  id: string;
  task_id: string;
  created_at: Date;
  score: number;
  body: string;
  body_length: number;
  tsq: string;
}

/** A sha prefix a person might paste: 7 to 39 hex digits (a full sha matches as a word). */
const HEX_PREFIX = /^[0-9a-f]{7,39}$/i;

const SEPARATORS = /[/\\.:]/g;

/**
 * The query as the 'simple' half of the vectors reads text: path and dotted-name separators turned
 * into spaces, and outside quotes a word that had them made a phrase of its parts — so that
 * `src/server.ts` means "src server ts" in a row, not three words anywhere.
 */
export function asWritten(query: string): string {
  return query
    .split(/("[^"]*")/)
    .map((part, i) =>
      i % 2 === 1
        ? part.replace(SEPARATORS, ' ')
        : part.replace(/(^|\s)(-?)([^\s"]*[/\\.:][^\s"]*)/g, (_m, lead: string, not: string, word: string) => `${lead}${not}"${word.replace(SEPARATORS, ' ')}"`),
    )
    .join('');
}

/**
 * The tsquery of a web-search-style query (quoted phrases, `-exclusion`, `or`): its English reading
 * (stemmed) OR its reading as written (the 'simple' half of the vectors), OR — when it holds sha
 * prefixes — the other words as written AND each prefix as a prefix match.
 */
function tsQuery(query: string): Prisma.Sql {
  const words = query.split(/\s+/);
  const prefixes = words.filter((w) => HEX_PREFIX.test(w)).map((w) => `${w.toLowerCase()}:*`);
  const english = Prisma.sql`websearch_to_tsquery('english'::regconfig, ${query})`;
  const simple = Prisma.sql`websearch_to_tsquery('simple'::regconfig, ${asWritten(query)})`;
  if (prefixes.length === 0) return Prisma.sql`(${english} || ${simple})`;
  const rest = asWritten(words.filter((w) => !HEX_PREFIX.test(w)).join(' '));
  const withPrefixes = Prisma.sql`(websearch_to_tsquery('simple'::regconfig, ${rest}) && to_tsquery('simple'::regconfig, ${prefixes.join(' & ')}))`;
  return Prisma.sql`(${english} || ${simple} || ${withPrefixes})`;
}

function checkQuery(query: string, filter: SearchFilter): string {
  const q = query.trim();
  if (q === '') throw new BadInputError('query must not be empty: give the words, "a phrase", -excluded words or `a or b` to search for', 'query');
  if (q.length > MAX_QUERY_LENGTH) throw new BadInputError(`query is ${q.length} characters; the limit is ${MAX_QUERY_LENGTH}`, 'query');
  if (filter.since && filter.until && filter.since > filter.until) throw new BadInputError('filter.since is after filter.until', 'filter');
  return q;
}

/** The union branches the filter asks for, each already filtered, ranked and cut to `take` rows. */
function branches(ownerId: string, tsq: Prisma.Sql, filter: SearchFilter, after: SearchPosition | undefined, take: number): Prisma.Sql[] {
  const kinds = new Set<SearchHitKind>(filter.roles?.length ? ['MESSAGE'] : (filter.kinds?.length ? filter.kinds : SEARCH_HIT_KINDS));
  if (filter.roles?.length && filter.kinds?.length && !filter.kinds.includes('MESSAGE')) kinds.clear();
  const common = (x: string) => {
    const where = [Prisma.sql`t.owner_id = ${ownerId}::uuid`, Prisma.sql`${Prisma.raw(x)}.search_vector @@ q.tsq`];
    if (filter.taskId) where.push(Prisma.sql`${Prisma.raw(x)}.task_id = ${filter.taskId}::uuid`);
    if (filter.contractId) where.push(Prisma.sql`t.contract_id = ${filter.contractId}::uuid`);
    if (filter.since) where.push(Prisma.sql`${Prisma.raw(x)}.created_at >= ${filter.since}`);
    if (filter.until) where.push(Prisma.sql`${Prisma.raw(x)}.created_at <= ${filter.until}`);
    return where;
  };
  // Keyset: every branch is ordered like the whole list, so each needs only the rows after the cursor.
  const afterCursor = after ? Prisma.sql`WHERE (r.score, r.created_at, r.id) < (${after.score}::float8::real, ${after.createdAt}::timestamptz, ${after.id}::uuid)` : Prisma.empty;
  const branch = (kind: SearchHitKind, table: string, x: string, extra: Prisma.Sql[]) => {
    const where = [...common(x), ...extra];
    const X = Prisma.raw(x);
    // Ranked among the newest MAX_RANKED matches of the kind: ranking reads every candidate's vector,
    // so a word found in most rows would otherwise cost a pass over most of the table.
    return Prisma.sql`(SELECT ${kind}::text AS kind, r.id, r.task_id, r.created_at, r.score FROM (
        SELECT c.id, c.task_id, c.created_at, ts_rank_cd(c.search_vector, q.tsq) AS score FROM (
          SELECT ${X}.id, ${X}.task_id, ${X}.created_at, ${X}.search_vector
            FROM ${Prisma.raw(table)} ${X} JOIN tasks t ON t.id = ${X}.task_id, (SELECT ${tsq} AS tsq) q
           WHERE ${Prisma.join(where, ' AND ')}
           ORDER BY ${X}.created_at DESC LIMIT ${MAX_RANKED}) c, (SELECT ${tsq} AS tsq) q
      ) r ${afterCursor}
      ORDER BY r.score DESC, r.created_at DESC, r.id DESC LIMIT ${take})`;
  };
  const out: Prisma.Sql[] = [];
  if (kinds.has('MESSAGE')) {
    const roles = filter.roles?.length ? [Prisma.sql`m.role::text = ANY(${filter.roles.map((r) => r.toLowerCase())}::text[])`] : [];
    out.push(branch('MESSAGE', 'conversation_messages', 'm', roles));
  }
  if (kinds.has('TASK_EVENT')) out.push(branch('TASK_EVENT', 'task_events', 'e', []));
  if (kinds.has('CHECKPOINT')) out.push(branch('CHECKPOINT', 'task_checkpoints', 'c', []));
  return out;
}

/** The text a hit's snippet is cut from, as the search vector saw it. */
const BODY = Prisma.sql`CASE h.kind
    WHEN 'MESSAGE' THEN (SELECT makima_search_text(content) || ' ' || makima_search_text(coalesce(tool_calls, 'null'::jsonb)) FROM conversation_messages WHERE id = h.id)
    WHEN 'TASK_EVENT' THEN (SELECT makima_search_text(data) FROM task_events WHERE id = h.id)
    ELSE (SELECT message || ' ' || commit_sha || ' ' || makima_search_text(files_changed) FROM task_checkpoints WHERE id = h.id) END`;

/**
 * One page of the viewer's hits for `query`, best first (rank, then newest), each with an excerpt
 * of its text as written and the spans that matched (excerpt.ts).
 */
export async function search(
  ctx: ServiceContext,
  input: { query: string; filter?: SearchFilter | null; first: number; after?: SearchPosition },
): Promise<{ hits: SearchHit[]; hasNextPage: boolean }> {
  const filter = input.filter ?? {};
  const query = checkQuery(input.query, filter);
  const tsq = tsQuery(query);
  const parts = branches(ctx.viewer.id, tsq, filter, input.after, input.first + 1);
  if (parts.length === 0) return { hits: [], hasNextPage: false };
  const rows = await ctx.prisma.$queryRaw<HitRow[]>`
    WITH hits AS (
      SELECT * FROM (${Prisma.join(parts, ' UNION ALL ')}) u ORDER BY score DESC, created_at DESC, id DESC LIMIT ${input.first + 1}
    ), bodies AS (SELECT h.*, ${BODY} AS body FROM hits h)
    -- rtrim: the body joins a row's texts with spaces, so a trailing one is the join's, not the text's.
    SELECT kind, id::text AS id, task_id::text AS task_id, created_at, score::float8 AS score,
           left(rtrim(coalesce(body, '')), ${MAX_SCANNED_CHARS}) AS body, length(rtrim(coalesce(body, ''))) AS body_length, (${tsq})::text AS tsq
      FROM bodies ORDER BY score DESC, created_at DESC, id DESC`;
  if (rows.length === 0) {
    // Only an empty answer can be a query with nothing to search for (punctuation, operators alone).
    const [{ nodes }] = await ctx.prisma.$queryRaw<{ nodes: number }[]>`SELECT numnode(${tsq}) AS nodes`;
    if (nodes === 0) throw new BadInputError(`query "${query.slice(0, 60)}" has no searchable words`, 'query');
  }
  const hasNextPage = rows.length > input.first;
  const page = rows.slice(0, input.first);
  const cut = await excerpts(ctx.prisma, rows[0]?.tsq ?? '', page.map((r) => r.body), page.map((r) => r.body_length));
  return { hits: await withNodes(ctx, page, cut), hasNextPage };
}

/** The rows the hits name (their node, task and contract), loaded in one query per table. */
async function withNodes(ctx: ServiceContext, rows: HitRow[], cut: Excerpt[]): Promise<SearchHit[]> {
  const excerptOf = new Map(rows.map((r, i) => [r.id, cut[i]]));
  const ids = (kind: SearchHitKind) => rows.filter((r) => r.kind === kind).map((r) => r.id);
  if (rows.length === 0) return [];
  const load = <T>(list: string[], find: (ids: string[]) => Promise<T[]>) => (list.length ? find(list) : Promise.resolve([]));
  const [messages, events, checkpoints, tasks] = await Promise.all([
    load(ids('MESSAGE'), (id) => ctx.prisma.conversationMessage.findMany({ where: { id: { in: id } } })),
    load(ids('TASK_EVENT'), (id) => ctx.prisma.taskEvent.findMany({ where: { id: { in: id } } })),
    load(ids('CHECKPOINT'), (id) => ctx.prisma.taskCheckpoint.findMany({ where: { id: { in: id } } })),
    ctx.prisma.task.findMany({ where: { id: { in: [...new Set(rows.map((r) => r.task_id))] }, ownerId: ctx.viewer.id }, include: { contract: true } }),
  ]);
  const byId = new Map<string, ConversationMessage | TaskEvent | TaskCheckpoint>([...messages, ...events, ...checkpoints].map((n) => [n.id, n]));
  const taskById = new Map(tasks.map((t) => [t.id, t]));
  // A row deleted between the two queries (its task removed) is left out rather than half-shown.
  return rows
    .filter((r) => byId.has(r.id) && taskById.has(r.task_id))
    .map((r) => {
      const excerpt = excerptOf.get(r.id)!;
      return { kind: r.kind, id: r.id, score: r.score, createdAt: r.created_at, excerpt, snippet: markedSnippet(excerpt, MARK_START, MARK_END), node: byId.get(r.id)!, task: taskById.get(r.task_id)! };
    });
}
