// The three timeline reads, written once per client: makima's GraphQL, PostGraphile's GraphQL over
// the same tables, and the raw SQL floor. Each returns the same 50 events (checked before loading).
import crypto from 'node:crypto';
import type pg from 'pg';

export interface ReadSpec {
  name: string;
  /** Events of this owner only (makima scopes every read to the token's user). */
  ownerId: string;
  contractId?: string;
  phase?: 'RESEARCH' | 'SPECIFY' | 'PLAN' | 'EXECUTE' | 'REVIEW' | 'DONE';
  /** Start after the first page (the client's own endCursor; for SQL, the last seq). */
  secondPage?: boolean;
}

export const PAGE = 50;

/** One event as every client reports it, for checking that all of them answer the same. */
export type EventKey = string;
const key = (seq: string | number, type: string, task: string | null | undefined, contract: string | null | undefined) =>
  `${seq}|${type.toUpperCase()}|${task ?? ''}|${contract ?? ''}`;

export const MAKIMA_TIMELINE = `query Timeline($first: Int!, $after: String, $filter: HistoryFilter) {
  timeline(first: $first, after: $after, filter: $filter) {
    edges { cursor node { id seq eventType eventSubtype phase createdAt data task { name } contract { name } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

export const POSTGRAPHILE_TIMELINE = `query Timeline($first: Int!, $after: Cursor, $condition: HistoryEventCondition!) {
  allHistoryEvents(first: $first, after: $after, orderBy: [SEQ_DESC], condition: $condition) {
    edges { cursor node { nodeId seq eventType eventSubtype phase createdAt eventData taskByTaskId { name } contractByContractId { name } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

interface Page<N> {
  edges: { cursor: string; node: N }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}
type MakimaNode = { seq: string; eventType: string; task: { name: string } | null; contract: { name: string } | null };
type PgNode = { seq: string; eventType: string; taskByTaskId: { name: string } | null; contractByContractId: { name: string } | null };

export function makimaVariables(read: ReadSpec, after?: string): Record<string, unknown> {
  const filter = read.contractId ? { contractId: read.contractId, phases: read.phase ? [read.phase] : undefined } : undefined;
  return { first: PAGE, after, filter };
}

export function postgraphileVariables(read: ReadSpec, after?: string): Record<string, unknown> {
  const condition: Record<string, unknown> = { ownerId: read.ownerId };
  if (read.contractId) condition.contractId = read.contractId;
  if (read.phase) condition.phase = read.phase;
  return { first: PAGE, after, condition };
}

export function makimaPage(body: string): { keys: EventKey[]; endCursor: string | null } {
  const json = JSON.parse(body) as { data?: { timeline: Page<MakimaNode> }; errors?: unknown };
  if (!json.data) throw new Error(`makima answered with errors: ${JSON.stringify(json.errors)}`);
  const page = json.data.timeline;
  return { keys: page.edges.map((e) => key(e.node.seq, e.node.eventType, e.node.task?.name, e.node.contract?.name)), endCursor: page.pageInfo.endCursor };
}

export function postgraphilePage(body: string): { keys: EventKey[]; endCursor: string | null } {
  const json = JSON.parse(body) as { data?: { allHistoryEvents: Page<PgNode> }; errors?: unknown };
  if (!json.data) throw new Error(`PostGraphile answered with errors: ${JSON.stringify(json.errors)}`);
  const page = json.data.allHistoryEvents;
  return {
    keys: page.edges.map((e) => key(e.node.seq, e.node.eventType, e.node.taskByTaskId?.name, e.node.contractByContractId?.name)),
    endCursor: page.pageInfo.endCursor,
  };
}

/** The SQL a hand-written server would send: one statement, joins for the names, one row more than a page for hasNextPage. */
export function sqlQuery(read: ReadSpec, beforeSeq?: string): pg.QueryConfig {
  const values: unknown[] = [read.ownerId];
  const where = ['h.owner_id = $1'];
  if (read.contractId) where.push(`h.contract_id = $${values.push(read.contractId)}`);
  if (read.phase) where.push(`h.phase = $${values.push(read.phase.toLowerCase())}`);
  if (beforeSeq) where.push(`h.seq < $${values.push(beforeSeq)}`);
  const text = `SELECT h.id, h.seq, h.event_type, h.event_subtype, h.phase, h.created_at, h.event_data, t.name AS task_name, c.name AS contract_name
             FROM history_events h LEFT JOIN tasks t ON t.id = h.task_id LEFT JOIN contracts c ON c.id = h.contract_id
            WHERE ${where.join(' AND ')} ORDER BY h.seq DESC LIMIT ${PAGE + 1}`;
  // A named (prepared) statement, as a driver in a real server would use; one name per text.
  return { name: `timeline-${crypto.createHash('sha1').update(text).digest('hex').slice(0, 12)}`, text, values };
}

export function sqlKeys(rows: unknown[]): EventKey[] {
  return (rows as { seq: string; event_type: string; task_name: string | null; contract_name: string | null }[])
    .slice(0, PAGE)
    .map((r) => key(r.seq, r.event_type, r.task_name, r.contract_name));
}
