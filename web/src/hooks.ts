// Small hooks shared by the screens: the hash route, a query's state, the session.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, gql } from './api';
import type { TypedDocumentString } from './generated/graphql';
import { session } from './session';

export interface Route {
  /** '' (the timeline), 'contract', 'task', 'compare', 'search'. */
  page: string;
  id?: string;
  params: URLSearchParams;
}

export function parseRoute(hash: string): Route {
  const [path, query = ''] = hash.replace(/^#/, '').split('?');
  const [, page = '', id] = path.split('/');
  return { page, id: id ? decodeURIComponent(id) : undefined, params: new URLSearchParams(query) };
}

export function useRoute(): Route {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const onChange = () => setHash(location.hash);
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return parseRoute(hash);
}

export function useSession(): { token: string | null; refusal: string | undefined } {
  const [, force] = useState(0);
  useEffect(() => session.subscribe(() => force((n) => n + 1)), []);
  return { token: session.token(), refusal: session.refusal() };
}

export interface QueryState<T> {
  data?: T;
  error?: ApiError;
  loading: boolean;
  reload: () => void;
}

/** Runs `document` when `variables` or `again` change (compared as JSON); `reload` runs it again. */
export function useQuery<T, V>(document: TypedDocumentString<T, V>, variables: V, again?: unknown): QueryState<T> {
  const key = JSON.stringify(variables);
  const againKey = JSON.stringify(again);
  const [state, setState] = useState<{ data?: T; error?: ApiError; loading: boolean }>({ loading: true });
  const [generation, setGeneration] = useState(0);
  const latest = useRef(0);
  useEffect(() => {
    const mine = ++latest.current;
    setState((s) => ({ ...s, loading: true }));
    gql(document, JSON.parse(key) as V).then(
      (data) => mine === latest.current && setState({ data, loading: false }),
      (error: ApiError) => mine === latest.current && setState({ error, loading: false }),
    );
  }, [document, key, againKey, generation]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { ...state, reload };
}
