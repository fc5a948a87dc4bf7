// The subscriber side of the fan-out benchmark: many graphql-ws clients (one WebSocket each) on
// Subscription.timeline, recording for every event received its write batch and when it arrived.
// The clients run in CLIENT_PROCESSES child processes (subscriber-child.ts), not in the benchmark's
// own: ten thousand sockets receiving 10,000 messages a second saturate one event loop, which then
// measures the client — for the floor and makima alike — and delays the writer's commits, which
// share that loop. Receipts are timed in the child (nowMs is comparable across processes).
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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
 * Subscribers connecting at once, over all the child processes (each next one as soon as one is
 * acknowledged). makima spends several ms of CPU on each new socket (the token check among it); a
 * wave so large that its last connection_init waits more than graphql-ws's 3 s init timeout is
 * closed with 4408, which measures the connect storm rather than the fan-out.
 */
export const CONNECT_WAVE = 50;
/** BENCH_CLIENT_PROCESSES: the child processes the subscribers are spread over (4 by default). */
const CLIENT_PROCESSES = Math.max(1, Number(process.env.BENCH_CLIENT_PROCESSES ?? 4));

export interface Subscriber {
  token: string;
}

/** Parent → child. */
export type ToChild = { type: 'connect'; wsUrl: string; subscribers: { i: number; token: string }[]; wave: number } | { type: 'close' };
/** Child → parent: receipts and the rest, flushed every few tens of ms. */
export type FromChild =
  | { type: 'connected' }
  | { type: 'failed'; message: string }
  | { type: 'report'; received: number[]; probed: number[]; warmups: number; errors: string[] }
  | { type: 'closed' };

const CHILD = fileURLToPath(new URL('./subscriber-child.ts', import.meta.url));

function send(child: ChildProcess, message: ToChild): void {
  child.send(message);
}

export async function subscribeAll(wsUrl: string, subscribers: Subscriber[]): Promise<SubscriberSet> {
  const received: SubscriberSet['received'] = [];
  const errors: string[] = [];
  const probed = new Set<number>();
  let warmups = 0;
  const processes = Math.min(CLIENT_PROCESSES, subscribers.length);
  const children: ChildProcess[] = [];
  const closed: Promise<void>[] = [];
  const set: SubscriberSet = {
    received,
    lastReceipt: 0,
    live: () => probed.size,
    isLive: (i) => probed.has(i),
    warmups: () => warmups,
    errors,
    async close() {
      for (const child of children) if (child.connected) send(child, { type: 'close' });
      // A child closes its sockets within 30 s (subscriber-child.ts); one that does not is killed.
      const killer = setTimeout(() => children.forEach((c) => c.kill()), 40_000);
      await Promise.all(closed);
      clearTimeout(killer);
    },
  };
  const ready: Promise<void>[] = [];
  for (let p = 0; p < processes; p++) {
    const child = fork(CHILD, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.push(child);
    closed.push(new Promise((resolve) => child.once('exit', () => resolve())));
    ready.push(
      new Promise<void>((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`subscriber process exited (${code}) before it connected`)));
        child.on('message', (m: FromChild) => {
          if (m.type === 'connected') resolve();
          else if (m.type === 'failed') reject(new Error(m.message));
          else if (m.type === 'closed') child.disconnect();
          else if (m.type === 'report') {
            for (let k = 0; k < m.received.length; k += 2) received.push({ batch: m.received[k], at: m.received[k + 1] });
            if (m.received.length > 0) set.lastReceipt = Math.max(set.lastReceipt, m.received[m.received.length - 1]);
            for (const i of m.probed) probed.add(i);
            warmups += m.warmups;
            errors.push(...m.errors);
          }
        });
      }),
    );
    const mine = subscribers.flatMap((s, i) => (i % processes === p ? [{ i, token: s.token }] : []));
    send(child, { type: 'connect', wsUrl, subscribers: mine, wave: Math.max(1, Math.round(CONNECT_WAVE / processes)) });
  }
  try {
    await Promise.all(ready);
  } catch (err) {
    await set.close();
    throw err;
  }
  return set;
}
