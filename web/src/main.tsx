// The timeline view's entry: sign-in, the header (search, connection state) and the hash routes
// #/ (timeline), #/contract/<id>, #/task/<id>[?message=<id>], #/compare?a=<id>&b=<id>, #/search?q=<query>.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, gql, onConnection, type Connection } from './api';
import { ComparePage } from './compare';
import { ContractPage } from './contract';
import { graphql } from './generated';
import { useRoute, useSession } from './hooks';
import { SearchPage } from './search';
import { session } from './session';
import { TaskPage } from './task';
import { TimelinePage } from './timeline';
import './style.css';

const SIGN_IN = graphql(`
  query SignIn { viewer { id name } }
`);

function SignIn({ refusal }: { refusal?: string }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>(refusal);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      // The token is kept only once the server accepts it.
      await gql(SIGN_IN, {}, token.trim());
      session.signIn(token.trim());
    } catch (err) {
      const e = err as ApiError;
      setError(e.code === 'UNAUTHENTICATED' ? `The server refused this token: ${e.message}` : e.message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <h1>makima</h1>
      <p>The history of your agents' contracts and tasks, live. Sign in with an API token (<code>makima user create</code> prints one).</p>
      <form onSubmit={submit}>
        <label for="token">API token</label>
        <input id="token" type="password" autocomplete="off" value={token} onInput={(e) => setToken(e.currentTarget.value)} required />
        <button type="submit" disabled={busy || !token.trim()}>
          Sign in
        </button>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </form>
      <p class="hint">
        The token is kept in this browser's storage until you sign out. GraphiQL is at <a href="/graphql">/graphql</a>.
      </p>
    </main>
  );
}

function ConnectionState() {
  const [state, setState] = useState<Connection>('idle');
  useEffect(() => onConnection(setState), []);
  const text = { idle: '', connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting… (events are kept and resumed from the last one)' }[state];
  return (
    <span class={`connection ${state}`} role="status" aria-live="polite" data-state={state}>
      {text}
    </span>
  );
}

function Header({ query }: { query: string }) {
  const [q, setQ] = useState(query);
  useEffect(() => setQ(query), [query]);
  return (
    <header class="top">
      <a class="brand" href="#/">
        makima
      </a>
      <nav aria-label="Main">
        <a href="#/">Timeline</a>
      </nav>
      <form
        role="search"
        class="search"
        onSubmit={(e) => {
          e.preventDefault();
          if (q.trim()) location.hash = `#/search?q=${encodeURIComponent(q.trim())}`;
        }}
      >
        <label for="search" class="visually-hidden">
          Search messages, task output and checkpoints
        </label>
        <input id="search" type="search" placeholder="Search history…" value={q} onInput={(e) => setQ(e.currentTarget.value)} />
        <button type="submit">Search</button>
      </form>
      <ConnectionState />
      <button type="button" class="link" onClick={() => session.signOut()}>
        Sign out
      </button>
    </header>
  );
}

function App() {
  const { token, refusal } = useSession();
  const route = useRoute();
  if (!token) return <SignIn refusal={refusal} />;
  return (
    <>
      <Header query={route.page === 'search' ? (route.params.get('q') ?? '') : ''} />
      {route.page === 'contract' && route.id ? (
        <ContractPage key={route.id} id={route.id} />
      ) : route.page === 'task' && route.id ? (
        <TaskPage key={route.id} id={route.id} messageId={route.params.get('message') ?? undefined} />
      ) : route.page === 'compare' && route.params.get('a') && route.params.get('b') ? (
        <ComparePage key={`${route.params.get('a')}/${route.params.get('b')}`} a={route.params.get('a')!} b={route.params.get('b')!} />
      ) : route.page === 'search' ? (
        <SearchPage query={route.params.get('q') ?? ''} />
      ) : (
        <TimelinePage />
      )}
    </>
  );
}

render(<App />, document.getElementById('app')!);
