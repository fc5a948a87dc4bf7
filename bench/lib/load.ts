// Load generators: autocannon over HTTP (latency samples taken from its per-response events, so
// percentiles keep sub-millisecond precision), and the same loop shape for raw SQL on a pg pool.
// A measurement may be split into rounds interleaved with the other clients' (a shared machine's
// background load then weighs on every client alike); `merge` adds the rounds up.
import autocannon from 'autocannon';
import pg from 'pg';
import { percentile } from './report.js';

export interface Run {
  /** Latency of every request served correctly, in ms. */
  latencies: number[];
  seconds: number;
  /** Transport errors, timeouts, non-2xx answers and answers that differ from the expected one. */
  failures: number;
  /** CPU seconds the server process used during the run (null when not measured). */
  serverCpuSeconds: number | null;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  failures: number;
  /** Server CPU time per request served, in ms (null when not measured). */
  cpuMsPerRequest: number | null;
}

export function merge(runs: Run[]): LoadResult {
  const latencies = runs.flatMap((r) => r.latencies);
  const seconds = runs.reduce((s, r) => s + r.seconds, 0);
  const cpu = runs.every((r) => r.serverCpuSeconds !== null) ? runs.reduce((s, r) => s + r.serverCpuSeconds!, 0) : null;
  return {
    requests: latencies.length,
    seconds,
    rps: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    failures: runs.reduce((s, r) => s + r.failures, 0),
    cpuMsPerRequest: cpu === null || latencies.length === 0 ? null : (cpu * 1000) / latencies.length,
  };
}

export interface HttpLoad {
  url: string;
  body: string;
  headers?: Record<string, string>;
  /** Every response must be exactly this body; any other answer counts as a failure. */
  expectBody: string;
  connections: number;
  seconds: number;
  /** Reads the server's CPU seconds so far (to report CPU per request). */
  serverCpu?: () => number | null;
}

export async function httpLoad(load: HttpLoad): Promise<Run> {
  const latencies: number[] = [];
  const cpuBefore = load.serverCpu?.() ?? null;
  const instance = autocannon({
    url: load.url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...load.headers },
    body: load.body,
    connections: load.connections,
    duration: load.seconds,
    expectBody: load.expectBody,
    timeout: 10,
  });
  instance.on('response', (_client: unknown, status: number, _bytes: number, responseTime: number) => {
    if (status >= 200 && status < 300) latencies.push(responseTime);
  });
  const result = await instance;
  const cpuAfter = load.serverCpu?.() ?? null;
  // A body that differs from the expected one was still a 200: a failure, not a served request
  // (autocannon does not say which, so drop as many samples; any failure is reported anyway).
  latencies.length -= Math.min(latencies.length, result.mismatches);
  return {
    latencies,
    seconds: result.duration,
    failures: result.errors + result.timeouts + result.non2xx + result.mismatches,
    serverCpuSeconds: cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore,
  };
}

export interface SqlLoad {
  pool: pg.Pool;
  query: pg.QueryConfig;
  connections: number;
  seconds: number;
  /** A check of each result (the same rows the servers return). */
  verify?: (rows: unknown[]) => boolean;
}

/** `connections` loops, each running the query back to back on its own pooled connection. */
export async function sqlLoad(load: SqlLoad): Promise<Run> {
  const latencies: number[] = [];
  let failures = 0;
  const started = performance.now();
  const deadline = started + load.seconds * 1000;
  await Promise.all(
    Array.from({ length: load.connections }, async () => {
      const client = await load.pool.connect();
      try {
        while (performance.now() < deadline) {
          const t = performance.now();
          const res = await client.query(load.query);
          const elapsed = performance.now() - t;
          if (load.verify && !load.verify(res.rows)) failures++;
          else latencies.push(elapsed);
        }
      } finally {
        client.release();
      }
    }),
  );
  return { latencies, seconds: (performance.now() - started) / 1000, failures, serverCpuSeconds: null };
}
