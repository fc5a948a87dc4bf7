// Search (Query.search): ranked hits across messages, task output and checkpoints, with the
// matched terms highlighted; a hit opens its task at that message.
import type { ComponentChild } from 'preact';
import { graphql } from './generated';
import type { SearchQuery } from './generated/graphql';
import { useQuery } from './hooks';
import { fullTime, shortTime } from './format';
import { ApiErrorText } from './steer';

type Hit = SearchQuery['search']['edges'][number]['node'];
type Excerpt = Hit['excerpt'];

const SEARCH_QUERY = graphql(`
  query Search($query: String!) {
    search(query: $query, first: 50) {
      edges {
        node {
          score kind createdAt excerpt { text truncatedBefore truncatedAfter highlights { start end } }
          node { id ... on ConversationMessage { index } ... on Checkpoint { number } }
          task { id name } contract { id name }
        }
      }
    }
  }
`);

/** A hit's excerpt with its matched spans highlighted, by the server's offsets: the text is shown as written, never parsed or treated as HTML. */
export function Snippet({ excerpt }: { excerpt: Excerpt }) {
  const parts: ComponentChild[] = [];
  let at = 0;
  excerpt.highlights.forEach((h, i) => {
    parts.push(excerpt.text.slice(at, h.start), <mark key={i}>{excerpt.text.slice(h.start, h.end)}</mark>);
    at = h.end;
  });
  parts.push(excerpt.text.slice(at));
  return (
    <span class="snippet">
      {excerpt.truncatedBefore ? '… ' : ''}
      {parts}
      {excerpt.truncatedAfter ? ' …' : ''}
    </span>
  );
}

function hitHref(hit: Hit): string {
  return hit.kind === 'MESSAGE' ? `#/task/${hit.task.id}?message=${encodeURIComponent(hit.node.id)}` : `#/task/${hit.task.id}`;
}

export function SearchPage({ query }: { query: string }) {
  const { data, error, loading } = useQuery(SEARCH_QUERY, { query });
  return (
    <main class="search-page">
      <h1>Search: “{query}”</h1>
      {loading && <p role="status">Searching…</p>}
      {error && <ApiErrorText error={error} />}
      {data && data.search.edges.length === 0 && <p class="empty">Nothing matches.</p>}
      <ol class="hits">
        {data?.search.edges.map(({ node: hit }) => (
          <li key={hit.node.id}>
            <a href={hitHref(hit)}>
              {hit.contract ? `${hit.contract.name} › ` : ''}
              {hit.task.name}
              {'index' in hit.node ? `, message ${hit.node.index + 1}` : ''}
              {'number' in hit.node ? `, checkpoint #${hit.node.number}` : ''}
            </a>{' '}
            <span class="badge">{hit.kind}</span>{' '}
            <time dateTime={hit.createdAt} title={fullTime(hit.createdAt)}>
              {shortTime(hit.createdAt)}
            </time>
            <p>
              <Snippet excerpt={hit.excerpt} />
            </p>
          </li>
        ))}
      </ol>
    </main>
  );
}
