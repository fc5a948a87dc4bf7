// The embedded database runs on the server's own thread; a burst of queries must not keep the event
// loop from reading its sockets until the whole burst is done (src/db/database.ts, takingTurns):
// a keep-alive connection could otherwise reach its timeout with its next request unread, and be
// reset under the client.
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/db/database.js';
import { tempDir } from '../harness.js';

let db: Database;
beforeAll(async () => {
  db = await openDatabase({ dataDir: path.join(tempDir(), 'data') });
  await db.query('SELECT 1');
});
afterAll(async () => db?.close());

/** Starts `count` queries at once with `run`, and says how many had finished when a timer of 0 ms fired. */
async function finishedWhenTimerFired(count: number, run: () => Promise<unknown>): Promise<{ atTimer: number; total: number }> {
  let done = 0;
  let atTimer = -1;
  setTimeout(() => (atTimer = done), 0);
  await Promise.all(Array.from({ length: count }, () => run().then(() => done++)));
  return { atTimer, total: done };
}

it('lets the event loop turn during a burst of raw queries', async () => {
  const { atTimer, total } = await finishedWhenTimerFired(400, () => db.query("SELECT repeat('x', 2000) AS x, pg_sleep(0)"));
  expect(total).toBe(400);
  expect(atTimer).toBeGreaterThanOrEqual(0);
  expect(atTimer).toBeLessThan(400);
});

it('lets the event loop turn during a burst of one-statement writes and raw transactions (the hot writes)', async () => {
  let n = 0;
  const { atTimer, total } = await finishedWhenTimerFired(300, () =>
    n++ % 2 ? db.atomic("SELECT repeat('y', 2000) AS y", []) : db.rawTransaction(async (tx) => tx.query('SELECT $1::int AS one', [1])),
  );
  expect(total).toBe(300);
  expect(atTimer).toBeGreaterThanOrEqual(0);
  expect(atTimer).toBeLessThan(300);
});
