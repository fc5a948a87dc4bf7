// Who waits on whom: samples pg_stat_activity of the benchmark's database every SAMPLE_MS during a
// run, counting the backends running a statement and those waiting on a heavyweight lock — an
// advisory lock (the global history lock) or another (a row, a transaction id). The means over a
// run say how many of the connections were working and how many were queued behind a lock.
import pg from 'pg';

const SAMPLE_MS = 50;

export interface LockWaits {
  samples: number;
  /** Mean backends with a statement in progress (waiting or not). */
  active: number;
  /** Mean backends waiting on an advisory lock. */
  advisory: number;
  /** Mean backends waiting on any other heavyweight lock. */
  otherLocks: number;
  /** Mean backends inside a transaction with no statement running (waiting on their client). */
  idleInTransaction: number;
}

export class LockSampler {
  private constructor(
    private readonly client: pg.Client,
    private readonly database: string,
  ) {}

  static async open(url: string, database: string): Promise<LockSampler> {
    const client = new pg.Client({ connectionString: url, application_name: 'bench-writes-sampler' });
    client.on('error', () => undefined); // ended when the database is dropped (Ctrl-C); a sample then fails the run
    await client.connect();
    return new LockSampler(client, database);
  }

  /** Samples until the returned function is called; it resolves with the means. */
  start(): () => Promise<LockWaits> {
    let stopped = false;
    const sums = { samples: 0, active: 0, advisory: 0, otherLocks: 0, idleInTransaction: 0 };
    const loop = (async () => {
      while (!stopped) {
        const { rows } = await this.client.query<{ active: number; advisory: number; other: number; idle_tx: number }>(
          `SELECT count(*) FILTER (WHERE state = 'active')::int AS active,
                  count(*) FILTER (WHERE state = 'idle in transaction')::int AS idle_tx,
                  count(*) FILTER (WHERE wait_event_type = 'Lock' AND wait_event = 'advisory')::int AS advisory,
                  count(*) FILTER (WHERE wait_event_type = 'Lock' AND wait_event <> 'advisory')::int AS other
             FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
          [this.database],
        );
        sums.samples++;
        sums.active += rows[0].active;
        sums.advisory += rows[0].advisory;
        sums.otherLocks += rows[0].other;
        sums.idleInTransaction += rows[0].idle_tx;
        await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
      }
    })();
    return async () => {
      stopped = true;
      await loop;
      return sums;
    };
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}

/** Means over several runs' sums (as returned by a sampler's stop function). */
export function meanWaits(runs: LockWaits[]): LockWaits {
  const samples = runs.reduce((a, r) => a + r.samples, 0);
  const mean = (k: 'active' | 'advisory' | 'otherLocks' | 'idleInTransaction') => runs.reduce((a, r) => a + r[k], 0) / Math.max(1, samples);
  return { samples, active: mean('active'), advisory: mean('advisory'), otherLocks: mean('otherLocks'), idleInTransaction: mean('idleInTransaction') };
}
