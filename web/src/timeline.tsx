// The live timeline: the viewer's history events, newest first, grouped by contract and task,
// filterable, paginated as it scrolls and virtualised (only the rows in view are in the DOM, so
// 100,000 events scroll as smoothly as 100), followed live over graphql-ws from the newest cursor.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, gql } from './api';
import { fullTime, shortTime, summarise } from './format';
import { graphql } from './generated';
import type { ContractPhase, HistoryEventFieldsFragment, HistoryEventType, HistoryFilter } from './generated/graphql';
import { useQuery } from './hooks';
import { follow } from './live';

export type HistoryEvent = HistoryEventFieldsFragment;

graphql(`
  fragment HistoryEventFields on HistoryEvent {
    id seq cursor eventType eventSubtype phase createdAt data contract { id name } task { id name isSupervisor }
  }
`);
const PAGE = 100;
const ROW = 34;
/** The cursor before the first history event: follow from there when nothing matches yet, so nothing is missed. */
export const START = 'R1BDOkk6MA==';

const PAGE_QUERY = graphql(`
  query TimelinePage($first: Int!, $after: String, $filter: HistoryFilter) {
    timeline(first: $first, after: $after, filter: $filter) { edges { node { ...HistoryEventFields } } pageInfo { hasNextPage endCursor } }
  }
`);
const LIVE = graphql(`
  subscription LiveTimeline($filter: HistoryFilter, $after: String) { timeline(filter: $filter, after: $after) { ...HistoryEventFields } }
`);
const FILTER_CONTRACTS = graphql(`
  query FilterContracts { contracts(first: 100) { edges { node { id name } } } }
`);

export const PHASES = ['RESEARCH', 'SPECIFY', 'PLAN', 'EXECUTE', 'REVIEW', 'DONE'];
export const EVENT_TYPES = ['TASK', 'CHAT', 'CHECKPOINT', 'PHASE', 'FILE'];

interface Filter {
  contractId: string;
  phase: string;
  eventType: string;
  since: string;
  until: string;
}

function toHistoryFilter(f: Filter): HistoryFilter {
  const filter: HistoryFilter = {};
  if (f.contractId) filter.contractId = f.contractId;
  if (f.phase) filter.phases = [f.phase as ContractPhase];
  if (f.eventType) filter.eventTypes = [f.eventType as HistoryEventType];
  if (f.since) filter.since = new Date(f.since).toISOString();
  if (f.until) filter.until = new Date(f.until).toISOString();
  return filter;
}

type Row = { kind: 'group'; key: string; event: HistoryEvent } | { kind: 'event'; key: string; event: HistoryEvent };

/** A group header wherever the contract or task changes from the row above. */
function rowsOf(events: HistoryEvent[]): Row[] {
  const rows: Row[] = [];
  let group = '';
  for (const event of events) {
    const g = `${event.contract?.id ?? ''}/${event.task?.id ?? ''}`;
    if (g !== group) rows.push({ kind: 'group', key: `g${event.seq}`, event });
    group = g;
    rows.push({ kind: 'event', key: event.id, event });
  }
  return rows;
}

export function EventLabel({ event }: { event: HistoryEvent }) {
  return (
    <span class={`kind kind-${event.eventType.toLowerCase()}`}>
      {event.eventType}
      {event.eventSubtype ? `/${event.eventSubtype}` : ''}
    </span>
  );
}

function GroupRow({ event }: { event: HistoryEvent }) {
  return (
    <div class="row group" role="listitem">
      {event.contract ? <a href={`#/contract/${event.contract.id}`}>{event.contract.name}</a> : <span>no contract</span>}
      {event.task && (
        <>
          <span aria-hidden="true"> › </span>
          <a href={`#/task/${event.task.id}`}>{event.task.isSupervisor ? `${event.task.name} (supervisor)` : event.task.name}</a>
        </>
      )}
    </div>
  );
}

function EventRow({ event, fresh }: { event: HistoryEvent; fresh: boolean }) {
  return (
    <div class={`row event${fresh ? ' fresh' : ''}`} role="listitem" data-seq={event.seq}>
      <time dateTime={event.createdAt} title={fullTime(event.createdAt)}>
        {shortTime(event.createdAt)}
      </time>
      <EventLabel event={event} />
      {event.phase && <span class="phase">{event.phase}</span>}
      <span class="summary">{summarise(event.data)}</span>
    </div>
  );
}

function Filters({ filter, onChange }: { filter: Filter; onChange: (f: Filter) => void }) {
  const contracts = useQuery(FILTER_CONTRACTS, {});
  const set = (key: keyof Filter) => (e: Event) => onChange({ ...filter, [key]: (e.currentTarget as HTMLInputElement).value });
  return (
    <form class="filters" aria-label="Filter the timeline" onSubmit={(e) => e.preventDefault()}>
      <label>
        Contract
        <select value={filter.contractId} onChange={set('contractId')}>
          <option value="">all</option>
          {contracts.data?.contracts.edges.map(({ node }) => (
            <option key={node.id} value={node.id}>
              {node.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Phase
        <select value={filter.phase} onChange={set('phase')}>
          <option value="">all</option>
          {PHASES.map((p) => (
            <option key={p}>{p}</option>
          ))}
        </select>
      </label>
      <label>
        Event type
        <select value={filter.eventType} onChange={set('eventType')}>
          <option value="">all</option>
          {EVENT_TYPES.map((t) => (
            <option key={t}>{t}</option>
          ))}
        </select>
      </label>
      <label>
        Since
        <input type="datetime-local" value={filter.since} onChange={set('since')} />
      </label>
      <label>
        Until
        <input type="datetime-local" value={filter.until} onChange={set('until')} />
      </label>
    </form>
  );
}

export function TimelinePage() {
  const [filter, setFilter] = useState<Filter>({ contractId: '', phase: '', eventType: '', since: '', until: '' });
  return (
    <main class="timeline-page">
      <h1>Timeline</h1>
      <Filters filter={filter} onChange={setFilter} />
      <Timeline key={JSON.stringify(filter)} filter={toHistoryFilter(filter)} />
    </main>
  );
}

/** The events matching `filter`: the newest page, older pages as the list nears its end, new ones live. */
function Timeline({ filter }: { filter: HistoryFilter }) {
  const [events, setEvents] = useState<HistoryEvent[]>([]);
  const [more, setMore] = useState<{ hasNextPage: boolean; endCursor: string | null }>({ hasNextPage: false, endCursor: null });
  const [error, setError] = useState<ApiError>();
  const [loading, setLoading] = useState(true);
  const [freshFrom, setFreshFrom] = useState<bigint>();
  const loadingMore = useRef(false);
  const list = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);

  useEffect(() => {
    let stop: (() => void) | undefined;
    let cancelled = false;
    gql(PAGE_QUERY, { first: PAGE, filter }).then(
      ({ timeline }) => {
        if (cancelled) return;
        const first = timeline.edges.map((e) => e.node);
        setEvents(first);
        setMore(timeline.pageInfo);
        setLoading(false);
        setFreshFrom(first.length ? BigInt(first[0].seq) : 0n);
        stop = follow({
          document: LIVE,
          field: 'timeline',
          after: first[0]?.cursor ?? START,
          variables: (after) => ({ filter, after }),
          onEvent: (event) => setEvents((old) => [event, ...old]),
          onError: setError,
        });
      },
      (err: ApiError) => {
        if (cancelled) return;
        setError(err);
        setLoading(false);
      },
    );
    return () => {
      cancelled = true;
      stop?.();
    };
  }, []);

  const rows = useMemo(() => rowsOf(events), [events]);
  // New rows arrive at the top: when the reader has scrolled down, keep what they look at in place.
  const previousRows = useRef(0);
  useEffect(() => {
    const el = list.current;
    const added = rows.length - previousRows.current;
    if (el && el.scrollTop > 0 && added > 0 && previousRows.current > 0 && events.length && freshFrom !== undefined && BigInt(events[0].seq) > freshFrom) {
      el.scrollTop += added * ROW;
    }
    previousRows.current = rows.length;
  }, [rows]);

  useEffect(() => {
    const el = list.current;
    if (!el) return;
    const observer = new ResizeObserver(() => setHeight(el.clientHeight));
    observer.observe(el);
    return () => observer.disconnect();
  }, [loading]);

  const loadMore = async () => {
    if (loadingMore.current || !more.hasNextPage) return;
    loadingMore.current = true;
    try {
      const { timeline } = await gql(PAGE_QUERY, {
        first: PAGE,
        after: more.endCursor,
        filter,
      });
      setEvents((old) => [...old, ...timeline.edges.map((e) => e.node)]);
      setMore(timeline.pageInfo);
    } catch (err) {
      setError(err as ApiError);
    } finally {
      loadingMore.current = false;
    }
  };

  const overscan = 10;
  const start = Math.max(0, Math.floor(scrollTop / ROW) - overscan);
  const end = Math.min(rows.length, Math.ceil((scrollTop + height) / ROW) + overscan);
  useEffect(() => {
    if (end >= rows.length - 20) void loadMore();
  }, [end, rows.length, more]);

  if (loading) return <p role="status">Loading the timeline…</p>;
  return (
    <section aria-label="Events" class="timeline">
      {error && (
        <p class="error" role="alert">
          {error.code ? `${error.code}: ` : ''}
          {error.message}
        </p>
      )}
      <p class="count" aria-live="polite">
        {events.length} event{events.length === 1 ? '' : 's'} shown{more.hasNextPage ? ', older ones load as you scroll' : ''}
      </p>
      {events.length === 0 ? (
        <p class="empty">No events yet. They appear here as they happen.</p>
      ) : null}
      <div
        class="viewport"
        ref={list}
        tabIndex={0}
        aria-label="Timeline events, newest first (scroll with the arrow keys)"
        onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
      >
        {/* Preact 11 adds no unit to a number in `style`: the height is given in px. */}
        <div role="list" style={{ height: `${rows.length * ROW}px`, position: 'relative' }}>
          <div style={{ transform: `translateY(${start * ROW}px)` }}>
            {rows.slice(start, end).map((row) =>
              row.kind === 'group' ? (
                <GroupRow key={row.key} event={row.event} />
              ) : (
                <EventRow key={row.key} event={row.event} fresh={freshFrom !== undefined && BigInt(row.event.seq) > freshFrom} />
              ),
            )}
          </div>
        </div>
      </div>
    </section>
  );
}
