// The one way to change the database: a transaction whose history events are written inside it,
// last, under a per-owner transaction-scoped lock so that, for each owner, `seq` order is commit
// order (docs/design.md §6, §9), and announced to the live hubs after it committed. Writers of
// different users never wait on each other.
// Changes that also move git build on it: src/change/with-git.ts.
import type { HistoryEventType, PrismaClient } from '../generated/prisma/client.js';
import { takeActor, type Actor } from './actor.js';
import type { Database } from './database.js';
import { notifierOf, type Notifier } from './notifier.js';
import { transaction, type Tx } from './transaction.js';

export type { Tx } from './transaction.js';

/** One history event as a change records it; built through the typed catalogue (change/catalogue.ts). */
export interface HistoryEventDraft {
  ownerId: string;
  contractId?: string | null;
  taskId?: string | null;
  eventType: HistoryEventType;
  eventSubtype: string;
  data: Record<string, unknown>;
  /** Who caused it (db/actor.ts); change() sets it from the request. Null: the server itself. */
  actor?: Actor | null;
}

export type RecordEvent = (event: HistoryEventDraft) => void;

/** NOTIFY channel carrying `<owner id> <largest seq>` for each owner a commit wrote history for. */
export const HISTORY_CHANNEL = 'makima_history';
/** NOTIFY channel carrying the id of a task whose event stream grew. */
export const TASK_EVENTS_CHANNEL = 'makima_task_events';

// Any constant works; it only has to be the same for every writer. The lock of one owner's history
// is the pair (HISTORY_LOCK_KEY, hashtext(owner id)): two owners that share a hash merely share a lock.
export const HISTORY_LOCK_KEY = 0x6d6b6d61;

/**
 * SQL taking the history lock of every owner in `ownersSql` (an expression yielding a uuid[]), in
 * one fixed order (no deadlock between writers of several owners). It must run before the seqs are
 * taken and is held until commit: a seq of one owner can never commit after a larger one of the same
 * owner, so each owner's history is a gap-free prefix to every reader (docs/design.md §6).
 */
export function historyLockSql(ownersSql: string): string {
  return `SELECT count(pg_advisory_xact_lock(${HISTORY_LOCK_KEY}, k))
            FROM (SELECT DISTINCT hashtext(o::text) AS k FROM unnest(${ownersSql}) AS o ORDER BY 1) AS keys`;
}

/**
 * The CTEs that take the owners' history locks and insert the events (with each contract's phase at
 * that moment); `eventsSql` is a jsonb expression: the events as an array of {ord, owner_id,
 * contract_id, task_id, event_type, event_subtype, event_data, actor}. The locks are taken in a
 * fenced subquery that the INSERT's rows depend on, so they are held before any seq is drawn; only
 * the statement they end and COMMIT run under them. No NOTIFY is sent inside the transaction (it
 * would serialize every writer's COMMIT on PostgreSQL's notify lock): the statement returns HEADS_SQL,
 * each owner's largest new seq, and the change hands them to the notifier once it has committed.
 */
function historyCtes(eventsSql: string): string {
  return `e AS (
    SELECT * FROM jsonb_to_recordset(${eventsSql}) AS e(ord int, owner_id uuid, contract_id uuid, task_id uuid,
                                                        event_type text, event_subtype text, event_data jsonb, actor jsonb)
  ), locked AS (
    ${historyLockSql('(SELECT array_agg(owner_id) FROM e)')} OFFSET 0
  ), inserted AS (
    INSERT INTO history_events (id, owner_id, contract_id, task_id, event_type, event_subtype, phase, event_data, actor)
    SELECT gen_random_uuid(), e.owner_id, e.contract_id, e.task_id, e.event_type::history_event_type,
           e.event_subtype, c.phase, e.event_data, e.actor
      FROM locked CROSS JOIN e
      LEFT JOIN contracts c ON c.id = e.contract_id
     ORDER BY e.ord
    RETURNING seq, owner_id
  )`;
}

/** A select-list expression over `inserted`: {owner id: its largest new seq (text)}, what the notifier sends. */
const HEADS_SQL = `(SELECT coalesce(jsonb_object_agg(owner_id, last), '{}'::jsonb) FROM (SELECT owner_id, max(seq)::text AS last FROM inserted GROUP BY owner_id) AS h) AS heads`;

/** Each owner's largest new seq, as a committed change's statement returned it. */
export type Heads = Record<string, string>;

/**
 * The history event that records a batch of task events (the catalogue's TASK/output): a change
 * that records it has grown that task's event stream.
 */
const STREAM_GREW = { eventType: 'TASK', eventSubtype: 'output' } as const;

/** Whether `event` records a batch of task events (STREAM_GREW). */
function growsStream(event: { eventType: string; eventSubtype: string }): boolean {
  return event.eventType === STREAM_GREW.eventType && event.eventSubtype === STREAM_GREW.eventSubtype;
}

/**
 * Tells the live hubs, once a change has committed (db/notifier.ts): whose history grew, and which
 * tasks' event streams did.
 */
export function notifyCommitted(notifier: Notifier, heads: Heads, grownTasks: Iterable<string>): void {
  for (const [ownerId, seq] of Object.entries(heads)) notifier.notify(HISTORY_CHANNEL, ownerId, BigInt(seq));
  for (const taskId of grownTasks) notifier.notify(TASK_EVENTS_CHANNEL, taskId);
}

/**
 * One statement that inserts the events of `$1` (see historyCtes), returning the new seqs and the
 * heads to notify: the last statement of every change.
 */
export const INSERT_HISTORY_SQL = `
  WITH ${historyCtes('$1::jsonb')}
  SELECT array_agg(seq::text ORDER BY seq) AS seqs, ${HEADS_SQL} FROM inserted`;

/** A write by one SQL function call whose result `r` carries, when it wrote, `history`: the event's owner_id, contract_id, task_id and event_data. */
export interface OneStatementWrite {
  /** `SELECT fn($1, …) AS r`: a constant text (its parameters are renumbered when writes go together). */
  call: string;
  params: unknown[];
  /** More of the statement's select list, and what it joins to the CTE `written` (the call) to give it. */
  columns?: string;
  join?: string;
  /** The owner whose history lock the write takes, and the task it writes: see changeInOneStatement. */
  ownerId: string;
  taskId: string;
}

type OneStatementEvent = { eventType: HistoryEventType; eventSubtype: string; actor: Actor | null };
type OneStatementRow<R> = R & { r: Record<string, unknown> };

/**
 * A change made by one statement, in a transaction of its own (docs/design.md §9): on PostgreSQL one
 * round trip, its parameters bound. The write runs first, then the history event it returns is
 * inserted — type and subtype named here, its actor the request's (`actor`) — under the owner's
 * history lock, and notified once committed, as change() does. A write that returns no `history` wrote nothing.
 *
 * One owner's writes wait for each other on that lock until their COMMIT anyway; so this process
 * sends them in turn, one statement at a time per owner and kind of write, and the writes that
 * arrive while one is under way go together in the next: one transaction, one lock, one commit for
 * all of them (a group commit, §9). Each is still atomic with its own history event. A statement of
 * several writes that fails is sent again write by write, so each gets its own answer.
 */
export function changeInOneStatement<R>(db: Database, write: OneStatementWrite, event: OneStatementEvent): Promise<OneStatementRow<R>> {
  return new Promise<OneStatementRow<R>>((resolve, reject) => {
    let lanes = lanesOf.get(db);
    if (!lanes) lanesOf.set(db, (lanes = new Map()));
    const key = `${write.ownerId}\u0000${write.call}\u0000${write.columns ?? ''}\u0000${write.join ?? ''}`;
    let lane = lanes.get(key);
    if (!lane) lanes.set(key, (lane = { waiting: [], running: false }));
    lane.waiting.push({ write, event, resolve: resolve as Waiting['resolve'], reject });
    if (!lane.running) void runLane(db, lanes, key, lane);
  });
}

/** A write waiting in its owner's lane for the statement under way (`running`) to end. */
interface Waiting {
  write: OneStatementWrite;
  event: OneStatementEvent;
  resolve: (row: OneStatementRow<Record<string, unknown>>) => void;
  reject: (err: unknown) => void;
}

interface Lane {
  waiting: Waiting[];
  running: boolean;
}

const lanesOf = new WeakMap<Database, Map<string, Lane>>();

/** At most this many writes, and about this many bytes of parameters, go in one statement. */
const MAX_WRITES_TOGETHER = 32;
const MAX_BYTES_TOGETHER = 4 * 1024 * 1024;

async function runLane(db: Database, lanes: Map<string, Lane>, key: string, lane: Lane): Promise<void> {
  lane.running = true;
  while (lane.waiting.length > 0) await runTogether(db, takeBatch(lane.waiting));
  lanes.delete(key);
}

/**
 * The next writes of a lane to send together, taken out of it: in arrival order, at most one per
 * task (a second write of a task waits for the next statement, so each sees the last one's head),
 * sorted by task so that statements of several processes lock tasks in one order.
 */
function takeBatch(lane: Waiting[]): Waiting[] {
  const batch: Waiting[] = [];
  const tasks = new Set<string>();
  let bytes = 0;
  for (let i = 0; i < lane.length && batch.length < MAX_WRITES_TOGETHER; ) {
    const w = lane[i];
    const size = w.write.params.reduce<number>((n, p) => n + (typeof p === 'string' ? p.length : 16), 0);
    if (tasks.has(w.write.taskId) || (batch.length > 0 && bytes + size > MAX_BYTES_TOGETHER)) {
      i++;
      continue;
    }
    tasks.add(w.write.taskId);
    bytes += size;
    batch.push(w);
    lane.splice(i, 1);
  }
  return batch.sort((a, b) => (a.write.taskId < b.write.taskId ? -1 : a.write.taskId > b.write.taskId ? 1 : 0));
}

async function runTogether(db: Database, batch: Waiting[]): Promise<void> {
  let rows: OneStatementRow<Record<string, unknown>>[];
  try {
    rows = await oneStatement(db, batch);
  } catch (err) {
    // A statement PostgreSQL refused wrote nothing: each write is sent alone, to get its own answer.
    if (batch.length === 1 || !isStatementError(err)) {
      for (const w of batch) w.reject(err);
      return;
    }
    for (const w of batch) {
      try {
        w.resolve((await oneStatement(db, [w]))[0]);
      } catch (e) {
        w.reject(e);
      }
    }
    return;
  }
  batch.forEach((w, i) => w.resolve(rows[i]));
}

/** An error PostgreSQL answered a statement with (a SQLSTATE), not one of reaching it. */
function isStatementError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
}

/**
 * The statement of `batch`: each write's call (its parameters renumbered after the ones before),
 * in one CTE `written`, row `i` the batch's write `i`; then their history events, in that order,
 * inserted under the owners' locks. Returns the rows in the batch's order.
 */
async function oneStatement(db: Database, batch: Waiting[]): Promise<OneStatementRow<Record<string, unknown>>[]> {
  const params: unknown[] = [];
  const calls = batch.map(({ write }, i) => {
    const offset = params.length;
    params.push(...write.params);
    const call = offset === 0 ? write.call : write.call.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`);
    return `SELECT ${i} AS i, w.r FROM (${call}) AS w`;
  });
  const heads = `$${params.length + 1}::jsonb`;
  params.push(
    JSON.stringify(batch.map(({ event }, ord) => ({ ord, event_type: event.eventType.toLowerCase(), event_subtype: event.eventSubtype, actor: event.actor }))),
  );
  const events = `coalesce((SELECT jsonb_agg((${heads} -> w.i) || (w.r -> 'history') ORDER BY w.i) FROM written AS w WHERE w.r ? 'history'), '[]'::jsonb)`;
  const { columns, join } = batch[0].write;
  const rows = await db.atomic<OneStatementRow<Record<string, unknown>> & { i: number; history_events: number; heads: Heads }>(
    `WITH written AS MATERIALIZED (${calls.join(' UNION ALL ')}), ${historyCtes(events)}
     SELECT written.i, (SELECT count(*) FROM inserted) AS history_events, ${HEADS_SQL}, written.r${columns ? `, ${columns}` : ''}
       FROM written ${join ?? ''} ORDER BY written.i`,
    params,
  );
  written.historyEvents += Number(rows[0].history_events);
  const grownTasks: string[] = [];
  batch.forEach(({ event }, i) => {
    const history = rows[i].r.history as { task_id?: string | null } | undefined;
    if (growsStream(event) && history?.task_id) grownTasks.push(history.task_id);
  });
  notifyCommitted(db.notifier, rows[0].heads, grownTasks);
  return rows;
}

/** The rows of INSERT_HISTORY_SQL's `$1` ({ord, owner_id, contract_id, task_id, event_type, event_subtype, event_data, actor}). */
export function historyRowsJson(drafts: HistoryEventDraft[]): string {
  return JSON.stringify(
    drafts.map((d, ord) => ({
      ord,
      owner_id: d.ownerId,
      contract_id: d.contractId ?? null,
      task_id: d.taskId ?? null,
      event_type: d.eventType.toLowerCase(),
      event_subtype: d.eventSubtype,
      event_data: d.data,
      actor: d.actor ?? null,
    })),
  );
}

/** History events this process has committed (both helpers), for metrics. */
export const written = { historyEvents: 0 };

export class NoHistoryEventError extends Error {
  constructor() {
    super('a state change must record at least one history event');
  }
}

/**
 * Thrown inside a change to keep what it did so far (with its events) and still fail the call with
 * `error` once the transaction has committed — e.g. a worker's call that finds the worker's lease
 * lapsed records the interruption and is then refused.
 */
export class RefuseAfterCommit extends Error {
  constructor(readonly error: Error) {
    super(error.message);
  }
}

/**
 * Runs `fn` in a transaction; the events it records are inserted at the end of the same
 * transaction, with the contract's phase at that moment. Nothing is written if `fn` throws.
 * A change must record at least one event; one that records none and returns null found nothing
 * to do: it is rolled back and null returned.
 */
export async function change<T>(prisma: PrismaClient, fn: (tx: Tx, record: RecordEvent) => Promise<T>): Promise<T> {
  let refusal: Error | undefined;
  let committedEvents = 0;
  let heads: Heads = {};
  let grownTasks: string[] = [];
  try {
    const result = await transaction(prisma, async (tx) => {
      const drafts: HistoryEventDraft[] = [];
      let value: T | undefined;
      try {
        value = await fn(tx, (e) => drafts.push(e));
      } catch (err) {
        if (!(err instanceof RefuseAfterCommit)) throw err;
        refusal = err.error;
      }
      if (drafts.length === 0) {
        if (refusal) throw refusal;
        if (value === null) throw new NothingChanged();
        throw new NoHistoryEventError();
      }
      const actor = takeActor();
      heads = await insertHistoryEvents(
        tx,
        drafts.map((d) => ({ ...d, actor: d.actor ?? actor })),
      );
      committedEvents = drafts.length;
      grownTasks = drafts.filter((d) => d.taskId && growsStream(d)).map((d) => d.taskId!);
      return value as T;
    });
    written.historyEvents += committedEvents;
    notifyCommitted(notifierOf(prisma), heads, grownTasks);
    if (refusal) throw refusal;
    return result;
  } catch (err) {
    if (err instanceof NothingChanged) return null as T;
    throw err;
  }
}

class NothingChanged extends Error {}

async function insertHistoryEvents(tx: Tx, drafts: HistoryEventDraft[]): Promise<Heads> {
  const [row] = await tx.$queryRawUnsafe<{ heads: Heads }[]>(INSERT_HISTORY_SQL, historyRowsJson(drafts));
  return row.heads;
}
