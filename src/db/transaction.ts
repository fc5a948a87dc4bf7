// Every Prisma transaction of makima starts here (change.ts builds on it): one bound on how long a
// transaction may wait for a connection (MAKIMA_TRANSACTION_MAX_WAIT_MS, set on the client in
// database.ts), and one answer when a burst outlasts it: SERVER_BUSY, retryable, since nothing ran
// (docs/api.md, "Errors"; docs/operations.md, "Bursts of requests").
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import { ServerBusyError } from '../errors.js';

export type Tx = Prisma.TransactionClient;

/** How long a transaction may run once started; past it Prisma rolls it back (a fault, logged). */
export const TRANSACTION_TIMEOUT_MS = 60_000;

/** Prisma's code for its transaction API's errors; before `fn` ran, it can only mean "not started in time". */
const TRANSACTION_API_ERROR = 'P2028';

/**
 * Runs `fn` in a Prisma transaction. One that could not start in time (every connection taken for
 * longer than the client's maxWait) is a ServerBusyError: `fn` never ran, so nothing was done.
 */
export async function transaction<T>(prisma: PrismaClient, fn: (tx: Tx) => Promise<T>): Promise<T> {
  let started = false;
  try {
    return await prisma.$transaction((tx) => {
      started = true;
      return fn(tx);
    });
  } catch (err) {
    if (!started && (err as { code?: unknown }).code === TRANSACTION_API_ERROR) throw new ServerBusyError();
    throw err;
  }
}
