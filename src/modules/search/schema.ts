// GraphQL: Query.search and its SearchHit, SearchFilter and SearchHitKind.
import { brandWithType, encodeBase64 } from '@pothos/core';
import { BadInputError } from '../../errors.js';
import type { MessageRole } from '../../generated/prisma/client.js';
import { builder, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../../schema/builder.js';
import { decodeCanonicalBase64, type CursorKind } from '../../schema/cursors.js';
import { MessageRoleEnum } from '../../schema/enums.js';
import { decodeOptionalId, isUuid } from '../../schema/ids.js';
import { serviceContext } from '../../schema/viewer.js';
import { CheckpointRef } from '../checkpoints/schema.js';
import { ContractRef } from '../contracts/schema.js';
import { ConversationMessageRef } from '../conversation/schema.js';
import { TaskEventRef } from '../events/schema.js';
import { TaskRef } from '../tasks/schema.js';
import { MARK_END, MARK_START, MAX_QUERY_LENGTH, search, type SearchHit, type SearchPosition } from './service.js';
import type { Excerpt, Highlight } from './excerpt.js';

export const SearchHitKindEnum = builder.enumType('SearchHitKind', {
  description: 'What a search hit is',
  values: {
    MESSAGE: { description: 'A conversation message (its content and tool calls); its node is a ConversationMessage, which forkTask(messageId:) and rewindConversation(toMessageId:) take' },
    TASK_EVENT: { description: 'A task event: output, a tool call and its arguments (shell commands included), a tool result, an error' },
    CHECKPOINT: { description: "A checkpoint: its message, commit sha and changed files' paths" },
  } as const,
});

const CURSOR_PREFIX = 'SH:';

function searchCursor(hit: SearchPosition): string {
  return encodeBase64(`${CURSOR_PREFIX}${JSON.stringify([hit.score, hit.createdAt.toISOString(), hit.id])}`);
}

/** The position inside a search cursor, or undefined when the text is not one. */
function parseSearchCursor(cursor: string): SearchPosition | undefined {
  const text = decodeCanonicalBase64(cursor);
  if (!text?.startsWith(CURSOR_PREFIX)) return undefined;
  let parts: unknown;
  try {
    parts = JSON.parse(text.slice(CURSOR_PREFIX.length));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parts) || parts.length !== 3) return undefined;
  const [score, at, id] = parts as unknown[];
  if (typeof score !== 'number' || !Number.isFinite(score) || typeof at !== 'string' || typeof id !== 'string' || !isUuid(id)) return undefined;
  const createdAt = new Date(at);
  if (Number.isNaN(createdAt.getTime()) || createdAt.toISOString() !== at) return undefined;
  return { score, createdAt, id };
}

const SEARCH_CURSOR: CursorKind = { what: 'a search cursor', accepts: (cursor) => parseSearchCursor(cursor) !== undefined };

/** The GraphQL type of each kind's node (Pothos resolves the Node interface by this brand). */
const NODE_TYPE = { MESSAGE: ConversationMessageRef, TASK_EVENT: TaskEventRef, CHECKPOINT: CheckpointRef } as const;

const SearchHighlightRef = builder.objectRef<Highlight & { of: string }>('SearchHighlight').implement({
  description: 'One matched span of an excerpt',
  fields: (t) => ({
    start: t.exposeInt('start', { description: "Where the span starts in the excerpt's text: a UTF-16 code unit offset (a JavaScript string index), from 0" }),
    end: t.exposeInt('end', { description: 'Where it ends, exclusive (UTF-16 code units)' }),
    text: t.string({ description: 'The matched text itself: text.slice(start, end)', resolve: (h) => h.of.slice(h.start, h.end) }),
  }),
});

const SearchExcerptRef = builder.objectRef<Excerpt>('SearchExcerpt').implement({
  description: 'A piece of the text a hit matched in, exactly as written (no markup, nothing escaped or removed), and the spans that matched',
  fields: (t) => ({
    text: t.exposeString('text', { description: 'The piece of the text, unchanged: path separators, `<`, tags and line breaks as written' }),
    highlights: t.field({
      type: [SearchHighlightRef],
      description: 'The spans of `text` that matched the query, in order, not overlapping',
      resolve: (e) => e.highlights.map((h) => ({ ...h, of: e.text })),
    }),
    truncatedBefore: t.exposeBoolean('truncatedBefore', { description: 'The text goes on before the excerpt (show "…")' }),
    truncatedAfter: t.exposeBoolean('truncatedAfter', { description: 'The text goes on after the excerpt (show "…")' }),
  }),
});

export const SearchHitRef = builder.objectRef<SearchHit>('SearchHit').implement({
  description: 'One match of a search: what matched, where, and how well',
  fields: (t) => ({
    score: t.exposeFloat('score', { description: 'Relevance (ts_rank_cd): higher is better; hits are ordered by it, then newest first' }),
    snippet: t.exposeString('snippet', {
      description: `The excerpt's text with each highlight between ${MARK_START} and ${MARK_END} (nothing else changed or escaped): a convenience, ambiguous when the text itself holds ${MARK_START}; use excerpt`,
    }),
    excerpt: t.field({ type: SearchExcerptRef, description: 'The matched text in its context, as written, with the matched spans as offsets: what clients should show', resolve: (hit) => hit.excerpt }),
    kind: t.expose('kind', { type: SearchHitKindEnum, description: 'Which kind of object matched' }),
    node: t.field({
      type: builder.nodeInterfaceRef(),
      description: 'The object that matched: a ConversationMessage, a TaskEvent or a Checkpoint (see kind)',
      resolve: (hit) => {
        brandWithType(hit.node, NODE_TYPE[hit.kind]);
        return hit.node as never;
      },
    }),
    task: t.field({ type: TaskRef, description: 'The task the object belongs to', resolve: (hit) => hit.task }),
    contract: t.field({ type: ContractRef, nullable: true, description: "The task's contract", resolve: (hit) => hit.task.contract }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the object was written' }),
  }),
});

export const SearchHitConnection = builder.connectionObject(
  { type: SearchHitRef, name: 'SearchHitConnection', description: 'A page of search hits, best first', extensions: { cursor: SEARCH_CURSOR } },
  { description: 'A search hit and its cursor' },
);

const SearchFilterInput = builder.inputType('SearchFilter', {
  description: 'Narrows a search; all given conditions must hold',
  fields: (t) => ({
    contractId: t.id({ description: "Only this contract's tasks" }),
    taskId: t.id({ description: "Only this task's messages, events and checkpoints" }),
    kinds: t.field({ type: [SearchHitKindEnum], description: 'Only these kinds of hit (default: all)' }),
    roles: t.field({ type: [MessageRoleEnum], description: 'Only messages with one of these roles (so only MESSAGE hits)' }),
    since: t.field({ type: 'DateTime', description: 'Only objects written at or after this time' }),
    until: t.field({ type: 'DateTime', description: 'Only objects written at or before this time; BAD_USER_INPUT when before `since`' }),
  }),
});

builder.queryField('search', (t) =>
  t.connection(
    {
      type: SearchHitRef,
      description:
        "Full-text search over the viewer's messages (content and tool calls), task events and checkpoints, best match first. " +
        'Query syntax (web-search style): words (stemmed: "tests" finds "testing"), "a quoted phrase", -excluded, a or b; identifiers, ' +
        `paths (src/parser.ts, or just parser.ts) and sha prefixes (7+ hex digits) are found as written. BAD_USER_INPUT for an empty query, one longer than ${MAX_QUERY_LENGTH} characters or one with no searchable words. ` +
        `Pages forward only (first ≤ ${MAX_PAGE_SIZE}, after).`,
      args: {
        query: t.arg.string({ required: true, description: `What to find (at most ${MAX_QUERY_LENGTH} characters)`, extensions: { maxLength: MAX_QUERY_LENGTH } }),
        filter: t.arg({ type: SearchFilterInput, description: 'Narrows the search' }),
      },
      resolve: async (_root, args, ctx) => {
        if (args.last != null || args.before != null) throw new BadInputError('search pages forward only: use first and after', args.last != null ? 'last' : 'before');
        const first = args.first ?? DEFAULT_PAGE_SIZE;
        if (first < 0 || first > MAX_PAGE_SIZE) throw new BadInputError(`first must be between 0 and ${MAX_PAGE_SIZE}`, 'first');
        const after = args.after == null ? undefined : parseSearchCursor(args.after);
        if (args.after != null && !after) throw new BadInputError('after is not a search cursor', 'after');
        const f = args.filter;
        const { hits, hasNextPage } = await search(serviceContext(ctx), {
          query: args.query,
          first,
          after,
          filter: f && {
            contractId: decodeOptionalId(f.contractId as string | null | undefined, 'Contract', 'filter.contractId'),
            taskId: decodeOptionalId(f.taskId as string | null | undefined, 'Task', 'filter.taskId'),
            kinds: f.kinds,
            roles: f.roles as MessageRole[] | null | undefined,
            since: f.since,
            until: f.until,
          },
        });
        const edges = hits.map((hit) => ({ cursor: searchCursor(hit), node: hit }));
        return {
          edges,
          pageInfo: { hasNextPage, hasPreviousPage: after !== undefined, startCursor: edges[0]?.cursor ?? null, endCursor: edges.at(-1)?.cursor ?? null },
        };
      },
    },
    SearchHitConnection,
  ),
);
