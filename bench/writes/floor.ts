// The plain-SQL floor of a write, through pg directly on a pool of the same size as makima's: BEGIN,
// one `unnest` INSERT of the rows into the real table (conversation_messages or task_events), one
// history_events INSERT (with the contract's phase, as makima writes it), COMMIT — with no lock, or
// with one global advisory lock taken just before the history insert (held until COMMIT, as
// makima's history lock is). Each floor writer has a task of its own, separate from makima's tasks.
// On PGlite the same transaction runs in the benchmark's process on a PGlite database of its own
// (PGlite is one process's database): the floor of makima on PGlite.
import crypto from 'node:crypto';
import pg from 'pg';
import type { Database } from '../../src/db/database.js';
import type { SeededTask } from './setup.js';
import type { Operation } from './operations.js';

/** Not makima's history lock key: the floor never contends with a server that happens to run. */
const FLOOR_LOCK_KEY = 0x666c6f72;

export type FloorLock = 'none' | 'global';

interface WriterState {
  task: SeededTask;
  /** The last message this writer inserted (the next one's parent) and its depth. */
  headId: string | null;
  depth: number;
  /** The last task event seq this writer inserted. */
  seq: number;
}

type Query = (sql: string, params: unknown[]) => Promise<unknown>;
/** Runs `fn` in one transaction: on a pg pool's connection, or in PGlite's. */
type InTransaction = (fn: (query: Query) => Promise<void>) => Promise<void>;

/** A transaction on a connection of `pool`: BEGIN, `fn`, COMMIT (ROLLBACK if it throws). */
export function onPool(pool: pg.Pool): InTransaction {
  return async (fn) => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await fn((sql, params) => client.query(sql, params));
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  };
}

/** A transaction of an embedded database (PGlite: one at a time, as makima's own are). */
export function onDatabase(db: Database): InTransaction {
  return (fn) => db.rawTransaction((tx) => fn((sql, params) => tx.query(sql, params)));
}

export class Floor {
  private readonly states: WriterState[];

  constructor(
    private readonly inTransaction: InTransaction,
    tasks: SeededTask[],
  ) {
    this.states = tasks.map((task) => ({ task, headId: null, depth: -1, seq: 0 }));
  }

  /** One write of `op` by writer `i` (on its own task). */
  async write(op: Operation, i: number, lock: FloorLock): Promise<void> {
    const s = this.states[i];
    await this.inTransaction(async (query) => {
      let eventData: Record<string, unknown>;
      let eventType: string;
      let eventSubtype: string;
      if (op.kind === 'messages') {
        const ids = Array.from({ length: op.count }, () => crypto.randomUUID());
        const parents = ids.map((_, k) => (k === 0 ? s.headId : ids[k - 1]));
        const depths = ids.map((_, k) => s.depth + 1 + k);
        await query(
          `INSERT INTO conversation_messages (id, task_id, parent_id, role, content, depth)
           SELECT u.id, $1, u.parent_id, u.role::message_role, u.content, u.depth
             FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::jsonb[], $6::int[]) AS u(id, parent_id, role, content, depth)`,
          [s.task.id, ids, parents, ids.map(() => 'assistant'), ids.map(() => op.payload), depths],
        );
        s.headId = ids[ids.length - 1];
        s.depth += op.count;
        eventType = 'chat';
        eventSubtype = 'message';
        eventData = { count: op.count, headId: s.headId, messageCount: s.depth + 1, roles: ids.map(() => 'ASSISTANT') };
      } else {
        const seqs = Array.from({ length: op.count }, (_, k) => s.seq + 1 + k);
        await query(
          `INSERT INTO task_events (id, task_id, seq, type, data)
           SELECT gen_random_uuid(), $1, u.seq, u.type::task_event_type, u.data
             FROM unnest($2::int[], $3::text[], $4::jsonb[]) AS u(seq, type, data)`,
          [s.task.id, seqs, seqs.map(() => 'output'), seqs.map(() => op.payload)],
        );
        s.seq += op.count;
        eventType = 'task';
        eventSubtype = 'output';
        eventData = { count: op.count, types: ['OUTPUT'], firstSeq: seqs[0], lastSeq: s.seq };
      }
      if (lock === 'global') await query(`SELECT pg_advisory_xact_lock(${FLOOR_LOCK_KEY})`, []);
      await query(
        `INSERT INTO history_events (id, owner_id, contract_id, task_id, event_type, event_subtype, phase, event_data)
         SELECT gen_random_uuid(), $1, c.id, $2, $3::history_event_type, $4, c.phase, $5 FROM contracts c WHERE c.id = $6`,
        [s.task.ownerId, s.task.id, eventType, eventSubtype, eventData, s.task.contractId],
      );
    });
  }
}
