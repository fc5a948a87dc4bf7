// "Work is pending" signals for long-polling workers: every transition of a task to PENDING sends
// pg_notify('makima_work', ownerId) inside its transaction (so it is delivered on commit, to every
// server instance listening on the database), and each server wakes its waiting claimTask calls.
import { RESYNC, type Database } from '../db/database.js';
import type { Tx } from '../db/change.js';

export const WORK_CHANNEL = 'makima_work';

/**
 * Announces that a task of `ownerId` became PENDING. Called wherever that happens: provisionTask
 * (every new task: createTask, a contract's supervisor, forks, continuations) and makePending in
 * modules/resume/service.ts (every resume).
 */
export async function notifyWorkPending(tx: Tx, ownerId: string): Promise<void> {
  await tx.$executeRawUnsafe(`SELECT pg_notify('${WORK_CHANNEL}', $1)`, ownerId);
}

/** One waiting claimTask: wakes when work of its owner was announced since it last woke. */
export interface WorkWaiter {
  /** Resolves on a notification (also one that arrived before this call), after `ms`, on abort or on close. */
  next(ms: number, signal?: AbortSignal): Promise<void>;
  dispose(): void;
}

class Waiter implements WorkWaiter {
  private notified = false;
  private wake: (() => void) | undefined;

  constructor(private readonly onDispose: (w: Waiter) => void) {}

  notify(): void {
    this.notified = true;
    this.wake?.();
  }

  next(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.notified || signal?.aborted) {
      this.notified = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.wake = undefined;
        this.notified = false;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener('abort', done, { once: true });
      this.wake = done;
    });
  }

  dispose(): void {
    this.onDispose(this);
  }
}

/** The waiting claims of one database, by owner. Shared by the servers that use that database. */
export class WorkSignals {
  private readonly waiters = new Map<string, Set<Waiter>>();
  private unlisten: Promise<() => Promise<void>> | undefined;
  private users = 0;

  constructor(private readonly db: Database) {}

  get closed(): boolean {
    return this.users === 0;
  }

  /** A server starts using the signals; the first one starts listening. */
  async retain(): Promise<void> {
    this.unlisten ??= this.db.listen(WORK_CHANNEL, (ownerId) => {
      // RESYNC (the LISTEN connection was restored): work may have become pending meanwhile.
      const waiting = ownerId === RESYNC ? [...this.waiters.values()] : [this.waiters.get(ownerId) ?? new Set<Waiter>()];
      for (const set of waiting) for (const w of set) w.notify();
    });
    try {
      await this.unlisten;
    } catch (err) {
      this.unlisten = undefined; // the next server to start tries again
      throw err;
    }
    this.users++;
  }

  /** A server stops; the last one stops listening and releases every waiting claim. */
  async release(): Promise<void> {
    this.users = Math.max(0, this.users - 1);
    if (this.users > 0) return;
    for (const set of this.waiters.values()) for (const w of set) w.notify();
    const unlisten = this.unlisten;
    this.unlisten = undefined;
    if (unlisten) await (await unlisten)();
  }

  /** How many claims of `ownerId` are waiting on this server (observability, tests). */
  waiting(ownerId: string): number {
    return this.waiters.get(ownerId)?.size ?? 0;
  }

  waiter(ownerId: string): WorkWaiter {
    let set = this.waiters.get(ownerId);
    if (!set) this.waiters.set(ownerId, (set = new Set()));
    const waiter = new Waiter((w) => {
      set.delete(w);
      if (set.size === 0 && this.waiters.get(ownerId) === set) this.waiters.delete(ownerId);
    });
    set.add(waiter);
    return waiter;
  }
}

const byDatabase = new WeakMap<Database, WorkSignals>();

/** The signals of `db` (one per database object, so that servers sharing it share them). */
export function workSignals(db: Database): WorkSignals {
  let signals = byDatabase.get(db);
  if (!signals) byDatabase.set(db, (signals = new WorkSignals(db)));
  return signals;
}
