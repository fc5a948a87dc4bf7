// A writer at a steady rate: every tick it writes as many events as the rate says are due by now
// (so a late timer catches up instead of lowering the rate), round-robin over the owners, as one
// batch (one transaction). It records when each batch was handed over and when it was committed
// (acknowledged); events carry their batch number. Batches may overlap up to `maxInFlight`; beyond
// that the writer falls behind, and the rate it achieved is reported.
import { nowMs, type BenchEventData } from './payload.js';

export interface WriterEvent {
  ownerId: string;
  data: BenchEventData;
}

export interface WriterOptions {
  owners: string[];
  rate: number;
  seconds: number;
  kind: BenchEventData['kind'];
  publish: (batch: WriterEvent[]) => Promise<void>;
  maxInFlight?: number;
  tickMs?: number;
}

export interface BatchTimes {
  sentAt: number;
  /** When the write was acknowledged (committed); NaN if it failed. */
  committedAt: number;
}

export interface WriterResult {
  written: number;
  seconds: number;
  /** Indexed by batch number. */
  batches: BatchTimes[];
  failures: string[];
}

export async function runWriter(options: WriterOptions): Promise<WriterResult> {
  const tickMs = options.tickMs ?? 10;
  const maxInFlight = options.maxInFlight ?? 8;
  const failures: string[] = [];
  const inFlight = new Set<Promise<void>>();
  const batches: BatchTimes[] = [];
  let written = 0;
  let next = 0;
  const started = nowMs();
  const deadline = started + options.seconds * 1000;
  while (nowMs() < deadline) {
    const due = Math.floor(((nowMs() - started) / 1000) * options.rate) - written;
    if (due > 0 && inFlight.size < maxInFlight) {
      const times: BatchTimes = { sentAt: nowMs(), committedAt: NaN };
      const batchNumber = batches.push(times) - 1;
      const batch = Array.from({ length: due }, (_, i) => ({
        ownerId: options.owners[next++ % options.owners.length],
        data: { batch: batchNumber, kind: options.kind, n: written + i },
      }));
      written += due;
      const p = options.publish(batch).then(
        () => void (times.committedAt = nowMs()),
        (err: unknown) => void failures.push(String((err as Error).message ?? err)),
      );
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    }
    await new Promise((resolve) => setTimeout(resolve, tickMs));
  }
  await Promise.all(inFlight);
  return { written, seconds: (nowMs() - started) / 1000, batches, failures };
}
