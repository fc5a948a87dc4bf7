// The subscriber side of the fan-out benchmark: many graphql-ws clients (one WebSocket each) on
// Subscription.timeline, recording for every event received its write batch and when it arrived.
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { nowMs, TIMELINE_SUBSCRIPTION, type BenchEventData } from './payload.js';
import { mapWithConcurrency } from '../lib/concurrency.js';

export interface SubscriberSet {
  /** Every measured event received, by any subscriber: its write batch and when it arrived. */
  received: { batch: number; at: number }[];
  /** Time of the last measured receipt. */
  lastReceipt: number;
  /** Subscribers that have received at least one probe event (they are live). */
  live(): number;
  /** Whether subscriber `i` has received a probe event. */
  isLive(i: number): boolean;
  /** Warm-up events received, by all subscribers. */
  warmups(): number;
  errors: string[];
  close(): Promise<void>;
}

/**
 * Subscribers connecting at once (each next one as soon as one is acknowledged). makima spends several ms of CPU on each new socket (the token
 * check among it); a wave so large that its last connection_init waits more than graphql-ws's 3 s
 * init timeout is closed with 4408, which measures the connect storm rather than the fan-out.
 */
const CONNECT_WAVE = 50;

export interface Subscriber {
  token: string;
}

export async function subscribeAll(wsUrl: string, subscribers: Subscriber[]): Promise<SubscriberSet> {
  const received: SubscriberSet['received'] = [];
  const errors: string[] = [];
  const probed = new Set<number>();
  let warmups = 0;
  const clients: Client[] = [];
  let closing = false;
  let closedCount = 0;
  const set: SubscriberSet = {
    received,
    lastReceipt: 0,
    live: () => probed.size,
    isLive: (i) => probed.has(i),
    warmups: () => warmups,
    errors,
    async close() {
      closing = true;
      await Promise.all(clients.map((c) => c.dispose()));
      // Until every socket has closed (at most 30 s): ten thousand closing sockets would otherwise
      // hold up the next shape's handshakes in this process (graphql-ws's 4408 init timeout).
      const deadline = nowMs() + 30_000;
      while (closedCount < clients.length && nowMs() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    },
  };
  const connect = (s: Subscriber, i: number) =>
      new Promise<void>((resolve, reject) => {
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
              if (data.kind === 'probe') return void probed.add(i);
              if (data.kind === 'warmup') return void warmups++;
              const at = nowMs();
              received.push({ batch: data.batch, at });
              set.lastReceipt = at;
            },
            error: (err) => errors.push(String((err as Error).message ?? (err as { code?: number }).code ?? err)),
            complete: () => undefined,
          },
        );
      });
  // CONNECT_WAVE at a time: ten thousand sockets opened in the same instant overflow the server's
  // accept backlog (closed with 1006 before the handshake) and its init timeout (4408).
  await mapWithConcurrency(subscribers, CONNECT_WAVE, connect);
  return set;
}
