// A contract: its phase, its supervisor and tasks with their status (running ones with their
// worker and lease), and its history, newest first, followed live (contractHistory).
import { useEffect, useState } from 'preact/hooks';
import { ApiError, gql } from './api';
import { fullTime, relative, shortTime, summarise } from './format';
import { graphql } from './generated';
import type { TaskRowFieldsFragment } from './generated/graphql';
import { useQuery } from './hooks';
import { follow } from './live';
import { ApiErrorText } from './steer';
import { EventLabel, PHASES, START, type HistoryEvent } from './timeline';

type TaskRow = TaskRowFieldsFragment;

graphql(`
  fragment TaskRowFields on Task { id name status isSupervisor workerId leaseExpiresAt messageCount updatedAt }
`);
const CONTRACT_QUERY = graphql(`
  query ContractPage($id: ID!) {
    contract(id: $id) {
      id name description phase repositoryPath createdAt
      supervisor { ...TaskRowFields }
      tasks(first: 100) { edges { node { ...TaskRowFields } } pageInfo { hasNextPage } }
      history(first: 50) { edges { node { ...HistoryEventFields } } pageInfo { hasNextPage endCursor } }
    }
  }
`);
const LIVE_HISTORY = graphql(`
  subscription LiveContractHistory($contractId: ID!, $after: String) { contractHistory(contractId: $contractId, after: $after) { ...HistoryEventFields } }
`);
const HISTORY_QUERY = graphql(`
  query ContractHistory($id: ID!, $after: String) {
    contract(id: $id) { history(first: 50, after: $after) { edges { node { ...HistoryEventFields } } pageInfo { hasNextPage endCursor } } }
  }
`);

function TaskTable({ tasks }: { tasks: TaskRow[] }) {
  return (
    <table class="tasks">
      <caption class="visually-hidden">Tasks of this contract</caption>
      <thead>
        <tr>
          <th scope="col">Task</th>
          <th scope="col">Status</th>
          <th scope="col">Worker and lease</th>
          <th scope="col">Messages</th>
          <th scope="col">Updated</th>
        </tr>
      </thead>
      <tbody>
        {tasks.map((t) => (
          <tr key={t.id}>
            <td>
              <a href={`#/task/${t.id}`}>{t.name}</a>
              {t.isSupervisor && <span class="badge">supervisor</span>}
            </td>
            <td>
              <span class={`status status-${t.status.toLowerCase()}`}>{t.status}</span>
            </td>
            <td>{t.status === 'RUNNING' && t.workerId ? `${t.workerId}${t.leaseExpiresAt ? `, lease ends ${relative(t.leaseExpiresAt)}` : ''}` : ''}</td>
            <td>{t.messageCount}</td>
            <td>
              <time dateTime={t.updatedAt} title={fullTime(t.updatedAt)}>
                {shortTime(t.updatedAt)}
              </time>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function ContractPage({ id }: { id: string }) {
  const { data, error, loading } = useQuery(CONTRACT_QUERY, { id });
  const [older, setOlder] = useState<HistoryEvent[]>([]);
  const [page, setPage] = useState<{ hasNextPage: boolean; endCursor: string | null }>();
  const [moreError, setMoreError] = useState<ApiError>();
  const [live, setLive] = useState<HistoryEvent[]>([]);
  const newest = data?.contract?.history.edges[0]?.node.cursor;
  useEffect(() => {
    if (!data?.contract) return;
    return follow({
      document: LIVE_HISTORY,
      field: 'contractHistory',
      after: newest ?? START,
      variables: (after) => ({ contractId: id, after }),
      onEvent: (event) => setLive((old) => [event, ...old]),
      onError: setMoreError,
    });
  }, [data]);
  if (loading && !data) return <main><p role="status">Loading the contract…</p></main>;
  if (error) return <main><ApiErrorText error={error} /></main>;
  const contract = data?.contract;
  if (!contract) return <main><p class="error" role="alert">NOT_FOUND: no contract with this id is yours.</p></main>;
  const history = [...live, ...contract.history.edges.map((e) => e.node), ...older];
  const pageInfo = page ?? contract.history.pageInfo;
  const loadMore = async () => {
    try {
      const { contract: c } = await gql(HISTORY_QUERY, { id, after: pageInfo.endCursor });
      if (!c) throw new ApiError('no contract with this id is yours', 'NOT_FOUND');
      setOlder((o) => [...o, ...c.history.edges.map((e) => e.node)]);
      setPage(c.history.pageInfo);
    } catch (err) {
      setMoreError(err as ApiError);
    }
  };
  const tasks = contract.tasks.edges.map((e) => e.node).filter((t) => !t.isSupervisor);
  return (
    <main class="contract-page">
      <nav aria-label="Breadcrumb" class="crumbs">
        <a href="#/">Timeline</a> › <span aria-current="page">{contract.name}</span>
      </nav>
      <h1>{contract.name}</h1>
      <ol class="phases" aria-label="Phase">
        {PHASES.map((p) => (
          <li key={p} class={p === contract.phase ? 'current' : ''} aria-current={p === contract.phase ? 'step' : undefined}>
            {p}
          </li>
        ))}
      </ol>
      {contract.description && <p>{contract.description}</p>}
      <dl class="facts">
        <dt>Repository</dt>
        <dd>
          <code>{contract.repositoryPath}</code>
        </dd>
        <dt>Created</dt>
        <dd>{fullTime(contract.createdAt)}</dd>
      </dl>
      <section aria-labelledby="supervisor-title">
        <h2 id="supervisor-title">Supervisor</h2>
        <TaskTable tasks={[contract.supervisor]} />
      </section>
      <section aria-labelledby="tasks-title">
        <h2 id="tasks-title">Tasks</h2>
        {tasks.length ? <TaskTable tasks={tasks} /> : <p class="empty">No tasks yet.</p>}
        {contract.tasks.pageInfo.hasNextPage && <p class="hint">The first 100 tasks are shown.</p>}
      </section>
      <section aria-labelledby="history-title">
        <h2 id="history-title">History</h2>
        <ol class="history">
          {history.map((e) => (
            <li key={e.id}>
              <time dateTime={e.createdAt} title={fullTime(e.createdAt)}>
                {shortTime(e.createdAt)}
              </time>{' '}
              <EventLabel event={e} /> {e.task && <a href={`#/task/${e.task.id}`}>{e.task.name}</a>} <span class="summary">{summarise(e.data)}</span>
            </li>
          ))}
        </ol>
        {moreError && <ApiErrorText error={moreError} />}
        {pageInfo.hasNextPage && (
          <button type="button" onClick={() => void loadMore()}>
            Show older events
          </button>
        )}
      </section>
    </main>
  );
}
