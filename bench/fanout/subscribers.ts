// The subscriber side of the fan-out benchmark: many graphql-ws clients (one WebSocket each) on
// Subscription.timeline, recording for every event received how long after its write it arrived.
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { nowMs, TIMELINE_SUBSCRIPTION, type BenchEventData } from './payload.js';

export interface SubscriberSet {
  /** Latency (ms) of every measured event received, by any subscriber. */
  latencies: number[];
  /** Time of the last measured receipt. */
  lastReceipt: number;
  /** Subscribers that have received at least one probe event (they are live). */
  live(): number;
  errors: string[];
  close(): Promise<void>;
}

export interface Subscriber {
  token: string;
}

export async function subscribeAll(wsUrl: string, subscribers: Subscriber[]): Promise<SubscriberSet> {
  const latencies: number[] = [];
  const errors: string[] = [];
  const probed = new Set<number>();
  const clients: Client[] = [];
  const set: SubscriberSet = {
    latencies,
    lastReceipt: 0,
    live: () => probed.size,
    errors,
    async close() {
      await Promise.all(clients.map((c) => c.dispose()));
    },
  };
  const connected = subscribers.map(
    (s, i) =>
      new Promise<void>((resolve, reject) => {
        const client = createClient({
          url: wsUrl,
          webSocketImpl: WebSocket,
          connectionParams: { authorization: `Bearer ${s.token}` },
          lazy: false,
          retryAttempts: 0,
          on: { connected: () => resolve(), closed: (e) => reject(new Error(`subscriber ${i} closed: ${(e as { code?: number }).code}`)) },
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
              const t = nowMs();
              latencies.push(t - data.sentAt);
              set.lastReceipt = t;
            },
            error: (err) => errors.push(String((err as Error).message ?? (err as { code?: number }).code ?? err)),
            complete: () => undefined,
          },
        );
      }),
  );
  await Promise.all(connected);
  return set;
}
