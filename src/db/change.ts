// The one way to change state: a transaction whose history events are written inside it, last,
// under a transaction-scoped lock so that `seq` order is commit order (DESIGN §3, §6).
import type { HistoryEventType, Prisma, PrismaClient } from '../generated/prisma/client.js';

export type Tx = Prisma.TransactionClient;

export interface HistoryEventDraft {
  ownerId: string;
  contractId?: string | null;
  taskId?: string | null;
  eventType: HistoryEventType;
  eventSubtype: string;
  data?: Record<string, unknown>;
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
 * Runs `fn` in a transaction; the events it records are inserted at the end of the same
 * transaction, with the contract's phase at that moment. Nothing is written if `fn` throws.
 */
export async function change<T>(
  prisma: PrismaClient,
  fn: (tx: Tx, record: RecordEvent) => Promise<T>,
  options: { timeoutMs?: number } = {},
): Promise<T> {
  return prisma.$transaction(
    async (tx) => {
      const drafts: HistoryEventDraft[] = [];
      const result = await fn(tx, (e) => drafts.push(e));
      if (drafts.length === 0) throw new NoHistoryEventError();
      await insertHistoryEvents(tx, drafts);
      return result;
    },
    { timeout: options.timeoutMs ?? 60_000, maxWait: 30_000 },
  );
}

async function insertHistoryEvents(tx: Tx, drafts: HistoryEventDraft[]): Promise<void> {
  const rows = drafts.map((d, ord) => ({
    ord,
    owner_id: d.ownerId,
    contract_id: d.contractId ?? null,
    task_id: d.taskId ?? null,
    event_type: d.eventType.toLowerCase(),
    event_subtype: d.eventSubtype,
    event_data: d.data ?? {},
  }));
  // The lock is held until commit: a seq can never commit after a larger one (no gap for readers).
  await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${HISTORY_LOCK_KEY})`);
  const inserted = await tx.$queryRawUnsafe<{ seq: bigint }[]>(
    `INSERT INTO history_events (id, owner_id, contract_id, task_id, event_type, event_subtype, phase, event_data)
     SELECT gen_random_uuid(), e.owner_id, e.contract_id, e.task_id, e.event_type::history_event_type,
            e.event_subtype, c.phase, e.event_data
       FROM jsonb_to_recordset($1::jsonb) AS e(ord int, owner_id uuid, contract_id uuid, task_id uuid,
                                               event_type text, event_subtype text, event_data jsonb)
       LEFT JOIN contracts c ON c.id = e.contract_id
      ORDER BY e.ord
     RETURNING seq`,
    JSON.stringify(rows),
  );
  const maxSeq = inserted.reduce((m, r) => (BigInt(r.seq) > m ? BigInt(r.seq) : m), 0n);
  await tx.$executeRawUnsafe(`SELECT pg_notify('${HISTORY_CHANNEL}', $1)`, maxSeq.toString());
}
