// One child process of the fan-out benchmark's subscribers (subscribers.ts): connects its share of
// the graphql-ws clients, CONNECT_WAVE / processes at a time, and reports every receipt (timed
// here) to the parent in batches.
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { mapWithConcurrency } from '../lib/concurrency.js';
import { nowMs, TIMELINE_SUBSCRIPTION, type BenchEventData } from './payload.js';
import type { FromChild, ToChild } from './subscribers.js';

const REPORT_MS = 20;

const clients: Client[] = [];
let closing = false;
let closedCount = 0;
let received: number[] = [];
let probed: number[] = [];
let warmups = 0;
let errors: string[] = [];

function send(message: FromChild): void {
  process.send!(message);
}

function report(): void {
  if (received.length === 0 && probed.length === 0 && warmups === 0 && errors.length === 0) return;
  send({ type: 'report', received, probed, warmups, errors });
  received = [];
  probed = [];
  warmups = 0;
  errors = [];
}

const timer = setInterval(report, REPORT_MS);

function connect(wsUrl: string, s: { i: number; token: string }): Promise<void> {
  const { i } = s;
  return new Promise<void>((resolve, reject) => {
    const client = createClient({
      url: wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${s.token}` },
      lazy: false,
      retryAttempts: 0,
      on: {
        connected: () => resolve(),
        closed: (e) => {
          closedCount++;
          const reason = `subscriber ${i} closed: ${(e as { code?: number; reason?: string }).code} ${(e as { reason?: string }).reason ?? ''}`;
          if (!closing) errors.push(reason); // e.g. closed as too slow (4413) in the middle of the run
          reject(new Error(reason));
        },
      },
      onNonLazyError: (e) => reject(e instanceof Error ? e : new Error(`subscriber ${i} failed to connect`)),
    });
    clients.push(client);
    client.subscribe<{ timeline: { data: BenchEventData } }>(
      { query: TIMELINE_SUBSCRIPTION },
      {
        next: (msg) => {
          const data = msg.data?.timeline.data;
          if (!data) return void errors.push(JSON.stringify(msg.errors ?? msg).slice(0, 300));
          if (data.kind === 'probe') return void probed.push(i);
          if (data.kind === 'warmup') return void warmups++;
          received.push(data.batch, nowMs());
        },
        error: (err) => errors.push(String((err as Error).message ?? (err as { code?: number }).code ?? err)),
        complete: () => undefined,
      },
    );
  });
}

process.on('message', (m: ToChild) => {
  if (m.type === 'connect') {
    // A bounded number at a time: ten thousand sockets opened in the same instant overflow the
    // server's accept backlog (closed with 1006 before the handshake) and its init timeout (4408).
    mapWithConcurrency(m.subscribers, m.wave, (s) => connect(m.wsUrl, s)).then(
      () => send({ type: 'connected' }),
      (err: unknown) => send({ type: 'failed', message: (err as Error).message }),
    );
  } else {
    void close();
  }
});

async function close(): Promise<void> {
  closing = true;
  await Promise.all(clients.map((c) => c.dispose()));
  // Until every socket has closed (at most 30 s): then the process leaves nothing half-open.
  const deadline = nowMs() + 30_000;
  while (closedCount < clients.length && nowMs() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  report();
  clearInterval(timer);
  send({ type: 'closed' });
}
