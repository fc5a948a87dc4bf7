// Search (Query.search): ranked hits across messages, task output and checkpoints, with the
// matched terms highlighted; a hit opens its task at that message.
import { useQuery } from './hooks';
import { fullTime, shortTime } from './format';
import { ApiErrorText } from './steer';

interface Hit {
  score: number;
  snippet: string;
  kind: string;
  createdAt: string;
  node: { id: string; index?: number; number?: number };
  task: { id: string; name: string };
  contract: { id: string; name: string } | null;
}

const SEARCH_QUERY = `query Search($query: String!) { search(query: $query, first: 50) { edges { node {
  score snippet kind createdAt
  node { id ... on ConversationMessage { index } ... on Checkpoint { number } }
  task { id name } contract { id name } } } } }`;

/** The snippet with the terms the server marks (<mark>…</mark>) highlighted; everything else is text, never HTML. */
export function Snippet({ text }: { text: string }) {
  const parts = text.split(/(<mark>.*?<\/mark>)/g);
  return (
    <span class="snippet">
      {parts.map((part, i) => {
        const marked = /^<mark>(.*)<\/mark>$/.exec(part);
        return marked ? <mark key={i}>{marked[1]}</mark> : part;
      })}
    </span>
  );
}

function hitHref(hit: Hit): string {
  return hit.kind === 'MESSAGE' ? `#/task/${hit.task.id}?message=${encodeURIComponent(hit.node.id)}` : `#/task/${hit.task.id}`;
}

export function SearchPage({ query }: { query: string }) {
  const { data, error, loading } = useQuery<{ search: { edges: { node: Hit }[] } }>(SEARCH_QUERY, { query });
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
              {hit.kind === 'MESSAGE' && hit.node.index !== undefined ? `, message ${hit.node.index + 1}` : ''}
              {hit.kind === 'CHECKPOINT' && hit.node.number !== undefined ? `, checkpoint #${hit.node.number}` : ''}
            </a>{' '}
            <span class="badge">{hit.kind}</span>{' '}
            <time dateTime={hit.createdAt} title={fullTime(hit.createdAt)}>
              {shortTime(hit.createdAt)}
            </time>
            <p>
              <Snippet text={hit.snippet} />
            </p>
          </li>
        ))}
      </ol>
    </main>
  );
}
