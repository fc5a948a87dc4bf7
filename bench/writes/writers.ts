// Closed-loop writers: each writer sends its next write as soon as the last one is acknowledged,
// on its own keep-alive connection, until the time is up; a run ends when every writer's last write
// has been answered (no write is abandoned mid-flight to weigh on the next run). Every write counts
// once, with its latency; a write that fails (an HTTP error, a GraphQL error, a thrown SQL error)
// is a failure, not a sample.
import http from 'node:http';

export interface WriterRun {
  /** Latency of every successful write, in ms. */
  latencies: number[];
  /** From the start to the last writer's last answer. */
  seconds: number;
  failures: number;
  /** The first few failure messages. */
  errors: string[];
}

/** `writers` loops, each calling `write(i)` back to back for `seconds`. */
export async function runWriters(writers: number, seconds: number, write: (writer: number) => Promise<void>): Promise<WriterRun> {
  const latencies: number[] = [];
  const errors: string[] = [];
  let failures = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: writers }, async (_, i) => {
      while (performance.now() < deadline) {
        const t = performance.now();
        try {
          await write(i);
          latencies.push(performance.now() - t);
        } catch (err) {
          failures++;
          if (errors.length < 5) errors.push(String((err as Error).message ?? err).slice(0, 300));
        }
      }
    }),
  );
  return { latencies, seconds: (performance.now() - started) / 1000, failures, errors };
}

/** A GraphQL endpoint reached over keep-alive HTTP/1.1 connections (one per concurrent request). */
export class GraphqlEndpoint {
  private agent = GraphqlEndpoint.newAgent();
  private readonly target: URL;

  private static newAgent(): http.Agent {
    return new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 1024 });
  }

  /**
   * Drops every connection: each run starts on fresh ones. A connection left idle between runs
   * would be closed by the server (its keep-alive timeout) and could be reused at that moment.
   */
  reset(): void {
    this.agent.destroy();
    this.agent = GraphqlEndpoint.newAgent();
  }

  constructor(url: string) {
    this.target = new URL(url);
  }

  /** POSTs `body` (a JSON GraphQL request); resolves with the answer, rejects on a non-200 or a GraphQL error. */
  post(body: string, token: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          agent: this.agent,
          host: this.target.hostname,
          port: this.target.port,
          path: this.target.pathname,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${token}` },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            // A successful answer has data and no "errors" key at its top level.
            if (res.statusCode !== 200 || !text.startsWith('{"data":') || text.includes('"errors":[')) {
              reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 300)}`));
            } else resolve(text);
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
