// The history read path in SQL: one statement per page of Query.timeline, Contract.history and
// Task.history, sent through the raw `Database.query` (PGlite or pg) instead of Prisma. A page is the
// hottest read of the API; through Prisma it cost several times the CPU of the statement itself
// (result mapping, relation JSON for every row). The data model stays in schema.prisma: this file
// only reads the `history_events` table and the two names it joins, and returns rows in Prisma's
// shape (`HistoryEvent`), so every resolver reads them as it reads a Prisma row.
//
// Enums: the database labels are the Prisma names in lower case (`CHAT @map("chat")`), so values go
// in lower-cased and come back through upper(); test/history-sql.test.ts checks every label.
import type { Database } from '../../db/database.js';
import type { ContractPhase, HistoryEvent, HistoryEventType, TaskStatus } from '../../generated/prisma/client.js';
import { checkHistoryFilter, type HistoryFilter } from './service.js';

/** The columns of a joined task or contract a page can carry, by GraphQL field name. */
export const JOINABLE_TASK_FIELDS = ['id', 'name', 'status'] as const;
export const JOINABLE_CONTRACT_FIELDS = ['id', 'name', 'phase'] as const;
export type JoinedTask = { id: string; name: string; status: TaskStatus };
export type JoinedContract = { id: string; name: string; phase: ContractPhase };

/**
 * A history event as a page returns it: Prisma's row, plus its task and contract when the page
 * joined them (only the JOINABLE fields; `undefined` when not joined, null when the event has none).
 */
export type HistoryRow = HistoryEvent & { task?: JoinedTask | null; contract?: JoinedContract | null };

export interface HistoryPageQuery {
  ownerId: string;
  filter: HistoryFilter;
  /** The list the page is of (Contract.history, Task.history), on top of the filter's own conditions. */
  scope?: { contractId?: string; taskId?: string };
  /** Keyset position: events with seq below (`lt`) or above (`gt`) this one. */
  seq?: { lt: bigint } | { gt: bigint };
  /** The order the rows are read in; a backward page reads ascending and is reversed by the caller. */
  order: 'asc' | 'desc';
  limit: number;
  /** Join the task's / the contract's JOINABLE columns into each row. */
  joinTask?: boolean;
  joinContract?: boolean;
}

type Raw = {
  id: string;
  seq: string;
  owner_id: string;
  contract_id: string | null;
  task_id: string | null;
  event_type: HistoryEventType;
  event_subtype: string | null;
  phase: ContractPhase | null;
  event_data: HistoryEvent['eventData'];
  actor: HistoryEvent['actor'];
  created_at: Date;
  t_name?: string | null;
  t_status?: TaskStatus | null;
  c_name?: string | null;
  c_phase?: ContractPhase | null;
};

/**
 * One page of the owner's history events matching the filter, in `order` by seq. One value of a
 * list filter is compared with `=`: with `= ANY($n)` a prepared plan of PostgreSQL can pick the seq
 * index and walk it (measured: 49 ms instead of 0.3 ms for one contract's phase).
 */
export async function readHistoryPage(db: Database, q: HistoryPageQuery): Promise<HistoryRow[]> {
  checkHistoryFilter(q.filter);
  const f = q.filter;
  const params: unknown[] = [q.ownerId];
  const where = ['h.owner_id = $1::uuid'];
  const oneOrAny = (column: string, type: string, values: readonly string[]) => {
    const lower = values.map((v) => v.toLowerCase());
    if (lower.length === 1) where.push(`${column} = $${params.push(lower[0])}::${type}`);
    else where.push(`${column} = ANY($${params.push(lower)}::${type}[])`);
  };
  if (f.eventTypes?.length) oneOrAny('h.event_type', 'history_event_type', f.eventTypes);
  if (f.phases?.length) oneOrAny('h.phase', 'contract_phase', f.phases);
  if (f.contractId) where.push(`h.contract_id = $${params.push(f.contractId)}::uuid`);
  if (f.taskId) where.push(`h.task_id = $${params.push(f.taskId)}::uuid`);
  if (f.since) where.push(`h.created_at >= $${params.push(f.since.toISOString())}::timestamptz`);
  if (f.until) where.push(`h.created_at <= $${params.push(f.until.toISOString())}::timestamptz`);
  if (q.scope?.contractId) where.push(`h.contract_id = $${params.push(q.scope.contractId)}::uuid`);
  if (q.scope?.taskId) where.push(`h.task_id = $${params.push(q.scope.taskId)}::uuid`);
  if (q.seq) {
    const [op, value] = 'lt' in q.seq ? ['<', q.seq.lt] : ['>', q.seq.gt];
    where.push(`h.seq ${op} $${params.push(value.toString())}::bigint`);
  }
  const columns = [
    'h.id',
    'h.seq::text AS seq',
    'h.owner_id',
    'h.contract_id',
    'h.task_id',
    'upper(h.event_type::text) AS event_type',
    'h.event_subtype',
    'upper(h.phase::text) AS phase',
    'h.event_data',
    'h.actor',
    'h.created_at',
  ];
  const joins: string[] = [];
  if (q.joinTask) {
    columns.push('t.name AS t_name', 'upper(t.status::text) AS t_status');
    joins.push('LEFT JOIN tasks t ON t.id = h.task_id');
  }
  if (q.joinContract) {
    columns.push('c.name AS c_name', 'upper(c.phase::text) AS c_phase');
    joins.push('LEFT JOIN contracts c ON c.id = h.contract_id');
  }
  const sql = `SELECT ${columns.join(', ')} FROM history_events h ${joins.join(' ')}
    WHERE ${where.join(' AND ')} ORDER BY h.seq ${q.order === 'asc' ? 'ASC' : 'DESC'} LIMIT ${Math.max(0, Math.trunc(q.limit))}`;
  const raw = await db.query<Raw>(sql, params, { prepared: true });
  const rows = new Array<HistoryRow>(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const r = raw[i];
    const row: HistoryRow = {
      id: r.id,
      seq: BigInt(r.seq),
      ownerId: r.owner_id,
      contractId: r.contract_id,
      taskId: r.task_id,
      eventType: r.event_type,
      eventSubtype: r.event_subtype,
      phase: r.phase,
      eventData: r.event_data,
      actor: r.actor,
      createdAt: r.created_at,
    };
    if (q.joinTask) row.task = r.task_id === null ? null : { id: r.task_id, name: r.t_name!, status: r.t_status! };
    if (q.joinContract) row.contract = r.contract_id === null ? null : { id: r.contract_id, name: r.c_name!, phase: r.c_phase! };
    rows[i] = row;
  }
  return rows;
}
