// The one way to change the database: a transaction whose history events are written inside it,
// last, under a transaction-scoped lock so that `seq` order is commit order (docs/design.md §6, §9).
// Changes that also move git build on it: src/modules/tasks/change-with-git.ts.
import type { HistoryEventType, Prisma, PrismaClient } from '../generated/prisma/client.js';
import { takeActor, type Actor } from './actor.js';

export type Tx = Prisma.TransactionClient;

/** One history event as a change records it; built through the typed catalogue (modules/history/catalogue.ts). */
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

/** NOTIFY channel carrying the largest committed history seq. */
export const HISTORY_CHANNEL = 'makima_history';
/** NOTIFY channel carrying the id of a task whose event stream grew. */
export const TASK_EVENTS_CHANNEL = 'makima_task_events';

// Any constant works; it only has to be the same for every writer.
export const HISTORY_LOCK_KEY = 0x6d6b6d61;

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
  try {
    const result = await prisma.$transaction(
      async (tx) => {
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
        await insertHistoryEvents(
          tx,
          drafts.map((d) => ({ ...d, actor: d.actor ?? actor })),
        );
        return value as T;
      },
      { timeout: 60_000, maxWait: 30_000 },
    );
    if (refusal) throw refusal;
    return result;
  } catch (err) {
    if (err instanceof NothingChanged) return null as T;
    throw err;
  }
}

class NothingChanged extends Error {}

async function insertHistoryEvents(tx: Tx, drafts: HistoryEventDraft[]): Promise<void> {
  const rows = drafts.map((d, ord) => ({
    ord,
    owner_id: d.ownerId,
    contract_id: d.contractId ?? null,
    task_id: d.taskId ?? null,
    event_type: d.eventType.toLowerCase(),
    event_subtype: d.eventSubtype,
    event_data: d.data,
    actor: d.actor ?? null,
  }));
  // The lock is held until commit: a seq can never commit after a larger one (no gap for readers).
  await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${HISTORY_LOCK_KEY})`);
  const inserted = await tx.$queryRawUnsafe<{ seq: bigint }[]>(
    `INSERT INTO history_events (id, owner_id, contract_id, task_id, event_type, event_subtype, phase, event_data, actor)
     SELECT gen_random_uuid(), e.owner_id, e.contract_id, e.task_id, e.event_type::history_event_type,
            e.event_subtype, c.phase, e.event_data, e.actor
       FROM jsonb_to_recordset($1::jsonb) AS e(ord int, owner_id uuid, contract_id uuid, task_id uuid,
                                               event_type text, event_subtype text, event_data jsonb, actor jsonb)
       LEFT JOIN contracts c ON c.id = e.contract_id
      ORDER BY e.ord
     RETURNING seq`,
    JSON.stringify(rows),
  );
  const maxSeq = inserted.reduce((m, r) => (BigInt(r.seq) > m ? BigInt(r.seq) : m), 0n);
  await tx.$executeRawUnsafe(`SELECT pg_notify('${HISTORY_CHANNEL}', $1)`, maxSeq.toString());
}
