// Who causes a change: set for each GraphQL operation from its token (schema/actor.ts), refined to
// a worker by the calls a worker makes (change/access.ts), and written by change() onto every
// history event it records. A change outside any request (the lease sweep, the retention, a
// recovery at start) has no actor: its events' actor is null, "the server itself".
import { AsyncLocalStorage } from 'node:async_hooks';

export interface Actor {
  userId: string;
  userName: string;
  tokenId: string;
  tokenName: string;
  /** Set when the change was a worker's call (claim, renew, complete, fail, a report with workerId). */
  workerId?: string;
}

const storage = new AsyncLocalStorage<Actor>();

/** Runs `fn` (and everything it starts) on behalf of `actor`. */
export function actingAs<T>(actor: Actor, fn: () => T): T {
  return storage.run({ ...actor }, fn);
}

/** Marks the change under way as a worker's call. */
export function actingWorker(workerId: string): void {
  const actor = storage.getStore();
  if (actor) actor.workerId = workerId;
}

/**
 * The actor of a one-statement change (db/change.ts changeInOneStatement) made as `workerId`'s
 * call — a worker the statement itself checks holds the task — or as the request's own without one.
 * Reads the request's actor; marks nothing.
 */
export function actorOfWrite(workerId: string | null | undefined): Actor | null {
  const actor = storage.getStore();
  if (!actor) return null;
  const { workerId: _ignored, ...request } = actor;
  return workerId == null ? request : { ...request, workerId };
}

/** The actor of the change that is ending, as its events record it; the worker mark ends with the change. */
export function takeActor(): Actor | null {
  const actor = storage.getStore();
  if (!actor) return null;
  const taken = { ...actor };
  delete actor.workerId;
  return taken;
}
