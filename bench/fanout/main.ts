// bench:fanout — live fan-out: 1,000 graphql-ws subscribers of Subscription.timeline on one makima
// instance, a writer at a steady rate through change() (the way every state change writes its
// history event); delivery latency from the write to the receipt, and deliveries per second —
// against a bare graphql-ws server (no database) publishing the same payloads, as the floor.
// Two shapes of the same 1,000 deliveries/s: 1,000 users with one subscriber each and 1,000
// events/s written, and 100 users with ten subscribers each (one event, ten dashboards) and 100
// events/s written. BENCH_SECONDS (default 8) of writing per run.
import crypto from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { change } from '../../src/db/change.js';
import { openDatabase } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { createUser } from '../../src/modules/auth/service.js';
import { cpuSeconds, NODE_HOST, spawnServer, type ChildServer } from '../lib/children.js';
import { createBenchDatabase } from '../lib/postgres.js';
import { describeMachine, machine, ms, percentile, printTable, writeResults } from '../lib/report.js';
import { runBench } from '../lib/run.js';
import { nowMs, type PublishedEvent } from './payload.js';
import { subscribeAll, type SubscriberSet } from './subscribers.js';
import { runWriter, type WriterEvent } from './writer.js';

const SUBSCRIBERS = 1000;
const SCENARIOS: Scenario[] = [
  { name: '1,000 users × 1 subscriber', users: 1000, rate: 1000 },
  { name: '100 users × 10 subscribers', users: 100, rate: 100 },
];
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const TARGET_P99_MS = 100;
const DRAIN_MS = 5_000;
const TSX_LOADER = ['--import', 'tsx'];

interface Side {
  label: string;
  server: ChildServer;
  wsUrl: string;
  /** The bearer token a subscriber of `owner` connects with. */
  tokenOf: (owner: { id: string; token: string }) => string;
  publish: (batch: WriterEvent[]) => Promise<void>;
}

interface Scenario {
  name: string;
  /** Users whose timelines are followed; SUBSCRIBERS / users subscribers each. */
  users: number;
  /** Events written per second, round-robin over the users. */
  rate: number;
}

interface Outcome {
  scenario: string;
  label: string;
  node: string;
  measured: boolean;
  note?: string;
  written?: number;
  writeRate?: number;
  expected?: number;
  delivered?: number;
  deliveriesPerSecond?: number;
  p50?: number;
  p99?: number;
  max?: number;
  serverCpuMsPerDelivery?: number | null;
  errors?: string[];
}

/** Writes probe events until every subscriber has received one: then all of them are live. */
async function waitUntilLive(side: Side, set: SubscriberSet, owners: string[]): Promise<void> {
  const deadline = nowMs() + 30_000;
  while (set.live() < SUBSCRIBERS) {
    if (nowMs() > deadline) throw new Error(`${side.label}: only ${set.live()} of ${SUBSCRIBERS} subscribers are receiving events after 30 s`);
    await side.publish(owners.map((ownerId) => ({ ownerId, data: { sentAt: nowMs(), kind: 'probe', n: -1 } })));
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function measure(side: Side, scenario: Scenario, allOwners: { id: string; token: string }[]): Promise<Outcome> {
  const owners = allOwners.slice(0, scenario.users);
  const perOwner = SUBSCRIBERS / owners.length;
  const subscribers = Array.from({ length: SUBSCRIBERS }, (_, i) => ({ token: side.tokenOf(owners[i % owners.length]) }));
  console.log(`${scenario.name}, ${side.label}: connecting ${SUBSCRIBERS} subscribers …`);
  const set = await subscribeAll(side.wsUrl, subscribers);
  try {
    await waitUntilLive(
      side,
      set,
      owners.map((o) => o.id),
    );
    console.log(`  all subscribers live; writing ${scenario.rate} events/s for ${SECONDS} s`);
    const cpuBefore = cpuSeconds(side.server.pid);
    const start = nowMs();
    const writer = await runWriter({ owners: owners.map((o) => o.id), rate: scenario.rate, seconds: SECONDS, kind: 'measure', publish: side.publish });
    const expected = writer.written * perOwner;
    const drainUntil = nowMs() + DRAIN_MS;
    while (set.latencies.length < expected && nowMs() < drainUntil) await new Promise((resolve) => setTimeout(resolve, 50));
    const cpuAfter = cpuSeconds(side.server.pid);
    const delivered = set.latencies.length;
    // From the first write to the last receipt: the rate at which the subscriber set was served.
    const spanSeconds = (Math.max(set.lastReceipt, start + writer.seconds * 1000) - start) / 1000;
    return {
      scenario: scenario.name,
      label: side.label,
      node: side.server.node,
      measured: true,
      written: writer.written,
      writeRate: writer.written / writer.seconds,
      expected,
      delivered,
      deliveriesPerSecond: delivered / spanSeconds,
      p50: percentile(set.latencies, 50),
      p99: percentile(set.latencies, 99),
      max: set.latencies.reduce((a, b) => Math.max(a, b), 0),
      serverCpuMsPerDelivery: cpuBefore === null || cpuAfter === null || delivered === 0 ? null : ((cpuAfter - cpuBefore) * 1000) / delivered,
      errors: [...writer.failures, ...set.errors].slice(0, 10),
    };
  } finally {
    await set.close();
  }
}

async function hasLiveTimeline(url: string, token: string): Promise<boolean> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: '{ __schema { subscriptionType { fields { name } } } }' }),
  });
  const json = (await res.json()) as { data?: { __schema: { subscriptionType: { fields: { name: string }[] } | null } } };
  return json.data?.__schema.subscriptionType?.fields.some((f) => f.name === 'timeline') ?? false;
}

runBench('fanout', async () => {
  const loadStart = os.loadavg();
  const bench = await createBenchDatabase('fanout');
  console.log(`bench:fanout — database ${bench.name} on PostgreSQL ${bench.serverVersion}`);
  const db = await openDatabase({ databaseUrl: bench.url, dataDir: '' });
  await migrate(db);
  const users = Math.max(...SCENARIOS.map((s) => s.users));
  const owners = await Promise.all(Array.from({ length: users }, (_, i) => createUser(db.prisma, `fanout-user-${i + 1}`, 'bench')));

  const [bare, makima] = await Promise.all([
    spawnServer({ label: 'bare graphql-ws', node: NODE_HOST, args: [...TSX_LOADER, path.join('bench', 'fanout', 'bare-server.ts')] }),
    spawnServer({ label: 'makima', node: NODE_HOST, args: [...TSX_LOADER, path.join('bench', 'servers', 'makima.ts')], env: { DATABASE_URL: bench.url } }),
  ]);
  let seq = 0;
  const bareSide: Side = {
    label: `bare graphql-ws floor (Node ${bare.node})`,
    server: bare,
    wsUrl: String(bare.info.wsUrl),
    // The floor does no authentication: the token names the owner.
    tokenOf: (owner) => owner.id,
    async publish(batch) {
      const events: PublishedEvent[] = batch.map((e) => ({
        ownerId: e.ownerId,
        event: {
          id: Buffer.from(`HistoryEvent:${crypto.randomUUID()}`).toString('base64'),
          seq: String(++seq),
          eventType: 'CHAT',
          eventSubtype: 'message',
          phase: null,
          createdAt: new Date().toISOString(),
          data: e.data,
        },
      }));
      const res = await fetch(bare.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events) });
      if (!res.ok) throw new Error(`publish answered ${res.status}`);
    },
  };
  const makimaSide: Side = {
    label: `makima (Node ${makima.node})`,
    server: makima,
    wsUrl: String(makima.info.wsUrl),
    tokenOf: (owner) => owner.token,
    // The writer commits through change(), in its own process, like any other makima writer would.
    publish: (batch) =>
      change(db.prisma, async (_tx, record) => {
        for (const e of batch) record({ ownerId: e.ownerId, eventType: 'CHAT', eventSubtype: 'message', data: { ...e.data } });
      }),
  };

  const makimaIsLive = await hasLiveTimeline(makima.url, owners[0].token);
  const outcomes: Outcome[] = [];
  for (const scenario of SCENARIOS) {
    outcomes.push(await measure(bareSide, scenario, owners));
    if (makimaIsLive) outcomes.push(await measure(makimaSide, scenario, owners));
    else {
      const note = 'not measured: this build of makima has no Subscription.timeline yet';
      outcomes.push({ scenario: scenario.name, label: makimaSide.label, node: makima.node, measured: false, note });
    }
  }
  await Promise.all([bare.stop(), makima.stop()]);
  await db.close();
  await bench.drop();

  const m = machine(bench.serverVersion);
  const row = (o: Outcome) =>
    o.measured
      ? [
          o.scenario,
          o.label,
          `${o.writeRate!.toFixed(0)}/s`,
          `${o.delivered} / ${o.expected}`,
          `${o.deliveriesPerSecond!.toFixed(0)}/s`,
          ms(o.p50!),
          ms(o.p99!),
          ms(o.max!),
          o.serverCpuMsPerDelivery == null ? '—' : ms(o.serverCpuMsPerDelivery, 3),
          o.p99! < TARGET_P99_MS && o.delivered === o.expected ? 'met' : 'MISSED',
        ]
      : [o.scenario, o.label, '—', '—', '—', '—', '—', '—', '—', o.note!];
  printTable({
    title:
      `Live fan-out — ${SUBSCRIBERS} graphql-ws subscribers of Subscription.timeline, a writer at a steady rate for ${SECONDS} s;\n` +
      `latency = receipt − write call (includes the write's own commit); target p99 < ${TARGET_P99_MS} ms with nothing lost\n` +
      `${describeMachine(m)}; load average at start ${loadStart.map((l) => l.toFixed(1)).join(' ')}`,
    head: ['subscribers', 'server', 'written', 'delivered / expected', 'deliveries', 'p50', 'p99', 'max', 'server CPU/delivery', 'target'],
    rows: outcomes.map(row),
  });
  for (const o of outcomes) if (o.errors?.length) console.log(`${o.scenario}, ${o.label} errors: ${o.errors.join(' | ')}`);
  const file = writeResults('fanout', {
    benchmark: 'fanout',
    date: new Date().toISOString(),
    machine: m,
    loadAverage: { start: loadStart, end: os.loadavg() },
    settings: { subscribers: SUBSCRIBERS, scenarios: SCENARIOS, seconds: SECONDS, targetP99Ms: TARGET_P99_MS },
    results: outcomes.map((o) => ({
      ...o,
      writeRate: o.writeRate && Math.round(o.writeRate),
      deliveriesPerSecond: o.deliveriesPerSecond && Math.round(o.deliveriesPerSecond),
      p50Ms: o.p50 && Number(o.p50.toFixed(2)),
      p99Ms: o.p99 && Number(o.p99.toFixed(2)),
      maxMs: o.max && Number(o.max.toFixed(2)),
      p50: undefined,
      p99: undefined,
      max: undefined,
    })),
  });
  console.log(`\nwritten to ${file}`);
});
