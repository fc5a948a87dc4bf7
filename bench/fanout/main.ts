// bench:fanout — live fan-out: 1,000 graphql-ws subscribers of Subscription.timeline on one makima
// instance, a writer at a steady rate through change() (the way every state change writes its
// history event); delivery latency from the commit to the receipt, and deliveries per second —
// against a bare graphql-ws server (no database) publishing the same payloads, as the floor.
// Two shapes of the same 1,000 deliveries/s: 1,000 users with one subscriber each and 1,000
// events/s written, and 100 users with ten subscribers each (one event, ten dashboards) and 100
// events/s written; then 10,000 subscribers: 10,000 users with one each and 1,000 events/s (every
// event matters to one subscriber in ten thousand), and 1,000 users with ten each and 100 events/s;
// the same 1,000 users × 10 at 1,000 events/s (10,000 deliveries/s); and one user with all 10,000
// subscribers and 1 event/s (each event a burst of 10,000 deliveries, 10,000 deliveries/s).
// BENCH_NO_FLOOR=1 runs makima alone (for profiling, with BENCH_PROFILE and BENCH_SHAPES below;
// BENCH_FANOUT_OUT names its results file, so that the full run's stays).
// BENCH_SECONDS (default 8) of writing per run; BENCH_MAX_SUBSCRIBERS (default 10,000) leaves out
// the shapes with more subscribers, for a quick run.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { change } from '../../src/db/change.js';
import { openDatabase } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { createUser } from '../../src/modules/auth/service.js';
import { mapWithConcurrency } from '../lib/concurrency.js';
import { cpuSeconds, NODE_HOST, spawnServer, type ChildServer } from '../lib/children.js';
import { profileBuckets } from '../lib/profile.js';
import { createBenchDatabase } from '../lib/postgres.js';
import { describeMachine, machine, ms, percentile, printTable, writeResults } from '../lib/report.js';
import { runBench } from '../lib/run.js';
import { nowMs, type PublishedEvent } from './payload.js';
import { subscribeAll, type SubscriberSet } from './subscribers.js';
import { runWriter, type WriterEvent } from './writer.js';

const MAX_SUBSCRIBERS = Number(process.env.BENCH_MAX_SUBSCRIBERS ?? 10_000);
/** BENCH_SHAPES: the shapes to run, by the start of their names, separated by `;` (all by default). */
const ONLY = process.env.BENCH_SHAPES?.split(';').map((s) => s.trim());
/** BENCH_PROFILE=<dir>: a CPU profile of the makima server (from ready to stop) is written there. */
const PROFILE_DIR = process.env.BENCH_PROFILE ? path.resolve(process.env.BENCH_PROFILE) : undefined;
const PROFILE_FILE = PROFILE_DIR && path.join(PROFILE_DIR, 'fanout-makima.cpuprofile');
/** BENCH_FANOUT_OUT: the results file's name (default `fanout`: bench/results/fanout.json). */
const OUT = process.env.BENCH_FANOUT_OUT || 'fanout';
const SCENARIOS: Scenario[] = [
  { name: '1,000 users × 1 subscriber', users: 1000, subscribers: 1000, rate: 1000 },
  { name: '100 users × 10 subscribers', users: 100, subscribers: 1000, rate: 100 },
  { name: '10,000 users × 1 subscriber', users: 10_000, subscribers: 10_000, rate: 1000 },
  { name: '1,000 users × 10 subscribers', users: 1000, subscribers: 10_000, rate: 100 },
  { name: '1,000 users × 10 subscribers, 1,000 events/s', users: 1000, subscribers: 10_000, rate: 1000 },
  { name: '1 user × 10,000 subscribers', users: 1, subscribers: 10_000, rate: 1 },
]
  .filter((s) => s.subscribers <= MAX_SUBSCRIBERS)
  .filter((s) => !ONLY || ONLY.some((only) => s.name.startsWith(only)));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const TARGET_P99_MS = 100;
const DRAIN_MS = 5_000;
/** Users created at once in the set-up: each takes the users' lock, so more only queue for a connection. */
const SETUP_CONCURRENCY = 16;
const WARMUP_SECONDS = 2;
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
  /** Users whose timelines are followed; subscribers / users subscribers each. */
  users: number;
  subscribers: number;
  /** Events written per second, round-robin over the users. */
  rate: number;
}

interface Outcome {
  scenario: string;
  subscribers?: number;
  /** Time to connect (and acknowledge) every subscriber, in waves (subscribers.ts). */
  connectSeconds?: number;
  label: string;
  node: string;
  measured: boolean;
  note?: string;
  written?: number;
  writeRate?: number;
  expected?: number;
  delivered?: number;
  deliveriesPerSecond?: number;
  /** Commit (the write acknowledged) → receipt, over every delivery. */
  delivery?: Latency;
  /** Write call → receipt: the commit's own time included. */
  endToEnd?: Latency;
  /** Write call → commit, over every batch. */
  commit?: Latency;
  serverCpuMsPerDelivery?: number | null;
  errors?: string[];
}

interface Latency {
  p50: number;
  p99: number;
  max: number;
}

function rounded(l: Latency): Latency {
  return { p50: Number(l.p50.toFixed(2)), p99: Number(l.p99.toFixed(2)), max: Number(l.max.toFixed(2)) };
}

function latency(samples: number[]): Latency {
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), max: samples.reduce((a, b) => Math.max(a, b), -Infinity) };
}

async function until(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = nowMs() + timeoutMs;
  while (!done() && nowMs() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
}

/** Writes probe events until every subscriber has received one: then all of them are live. */
async function waitUntilLive(side: Side, set: SubscriberSet, owners: string[], subscribers: number): Promise<void> {
  const deadline = nowMs() + 60_000;
  while (set.live() < subscribers) {
    if (nowMs() > deadline) throw new Error(`${side.label}: only ${set.live()} of ${subscribers} subscribers are receiving events after 60 s`);
    // Only the owners with a subscriber still waiting: ten probes per owner every 250 ms would be
    // 40,000 deliveries a second at 10,000 subscribers, a load of its own.
    const waiting = new Set<string>();
    for (let i = 0; i < subscribers; i++) if (!set.isLive(i)) waiting.add(owners[i % owners.length]);
    await side.publish([...waiting].map((ownerId) => ({ ownerId, data: { batch: -1, kind: 'probe', n: -1 } })));
    await until(() => set.live() >= subscribers, 1000);
  }
}

async function measure(side: Side, scenario: Scenario, allOwners: { id: string; token: string }[]): Promise<Outcome> {
  const owners = allOwners.slice(0, scenario.users);
  const perOwner = scenario.subscribers / owners.length;
  const subscribers = Array.from({ length: scenario.subscribers }, (_, i) => ({ token: side.tokenOf(owners[i % owners.length]) }));
  console.log(`${scenario.name}, ${side.label}: connecting ${scenario.subscribers} subscribers …`);
  const connectStart = nowMs();
  const set = await subscribeAll(side.wsUrl, subscribers);
  const connectSeconds = (nowMs() - connectStart) / 1000;
  console.log(`  connected in ${connectSeconds.toFixed(1)} s`);
  try {
    await waitUntilLive(
      side,
      set,
      owners.map((o) => o.id),
      scenario.subscribers,
    );
    // Warm up at the measured rate (JIT, pools, the first reads), then let the warm-up drain, so
    // the measurement starts from a server that is neither cold nor behind.
    const warmup = await runWriter({ owners: owners.map((o) => o.id), rate: scenario.rate, seconds: WARMUP_SECONDS, kind: 'warmup', publish: side.publish });
    await until(() => set.warmups() >= warmup.written * perOwner, DRAIN_MS);
    const behind = warmup.written * perOwner - set.warmups();
    console.log(
      `  all subscribers live; ${behind > 0 ? `${behind} warm-up deliveries still missing after ${DRAIN_MS / 1000} s` : 'warm-up drained'}; writing ${scenario.rate} events/s for ${SECONDS} s`,
    );
    const cpuBefore = cpuSeconds(side.server.pid);
    const start = nowMs();
    const writer = await runWriter({ owners: owners.map((o) => o.id), rate: scenario.rate, seconds: SECONDS, kind: 'measure', publish: side.publish });
    const expected = writer.written * perOwner;
    await until(() => set.received.length >= expected, DRAIN_MS);
    const cpuAfter = cpuSeconds(side.server.pid);
    const delivered = set.received.length;
    const batches = writer.batches;
    // From the first write to the last receipt: the rate at which the subscriber set was served.
    const spanSeconds = (Math.max(set.lastReceipt, start + writer.seconds * 1000) - start) / 1000;
    return {
      scenario: scenario.name,
      subscribers: scenario.subscribers,
      connectSeconds: Number(connectSeconds.toFixed(1)),
      label: side.label,
      node: side.server.node,
      measured: true,
      written: writer.written,
      writeRate: writer.written / writer.seconds,
      expected,
      delivered,
      deliveriesPerSecond: delivered / spanSeconds,
      // A receipt can be handled just before the writer sees its commit acknowledged: clamp at 0.
      delivery: latency(set.received.map((r) => Math.max(0, r.at - batches[r.batch].committedAt))),
      endToEnd: latency(set.received.map((r) => r.at - batches[r.batch].sentAt)),
      commit: latency(batches.map((b) => b.committedAt - b.sentAt)),
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
  const setupStart = nowMs();
  const owners = await mapWithConcurrency(
    Array.from({ length: users }, (_, i) => `fanout-user-${i + 1}`),
    SETUP_CONCURRENCY,
    (name) => createUser(db.prisma, name, 'bench'),
  );
  console.log(`  ${users} users and their tokens created in ${((nowMs() - setupStart) / 1000).toFixed(1)} s, ${SETUP_CONCURRENCY} at a time`);

  if (PROFILE_DIR) fs.mkdirSync(PROFILE_DIR, { recursive: true });
  const [bare, makima] = await Promise.all([
    spawnServer({ label: 'bare graphql-ws', node: NODE_HOST, args: [...TSX_LOADER, path.join('bench', 'fanout', 'bare-server.ts')] }),
    spawnServer({
      label: 'makima',
      node: NODE_HOST,
      args: [...TSX_LOADER, path.join('bench', 'servers', 'makima.ts')],
      env: { DATABASE_URL: bench.url, ...(PROFILE_FILE ? { BENCH_PROFILE_FILE: PROFILE_FILE } : {}) },
    }),
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
  // A shape that fails (a subscriber refused or closed) is reported as such; the others still run.
  const attempt = async (side: Side, scenario: Scenario): Promise<Outcome> => {
    try {
      return await measure(side, scenario, owners);
    } catch (err) {
      const note = `FAILED: ${(err as Error).message.split('\n')[0].slice(0, 200)}`;
      console.log(`  ${note}`);
      return { scenario: scenario.name, subscribers: scenario.subscribers, label: side.label, node: side.server.node, measured: false, note };
    }
  };
  for (const scenario of SCENARIOS) {
    if (!process.env.BENCH_NO_FLOOR) outcomes.push(await attempt(bareSide, scenario));
    if (makimaIsLive) outcomes.push(await attempt(makimaSide, scenario));
    else {
      const note = 'not measured: this build of makima has no Subscription.timeline yet';
      outcomes.push({ scenario: scenario.name, label: makimaSide.label, node: makima.node, measured: false, note });
    }
  }
  await Promise.all([bare.stop(), makima.stop()]);
  const profile = PROFILE_FILE ? profileBuckets(PROFILE_FILE) : undefined;
  if (profile) {
    console.log(`makima's CPU profile (${PROFILE_FILE}), self time by where the code comes from:`);
    for (const b of profile) console.log(`  ${b.percent.toFixed(1).padStart(5)} %  ${b.bucket}`);
  }
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
          ms(o.delivery!.p50),
          ms(o.delivery!.p99),
          ms(o.delivery!.max),
          ms(o.endToEnd!.p99),
          ms(o.commit!.p99),
          o.serverCpuMsPerDelivery == null ? '—' : ms(o.serverCpuMsPerDelivery, 3),
          o.delivery!.p99 < TARGET_P99_MS && o.delivered === o.expected && !o.errors?.length ? 'met' : 'MISSED',
        ]
      : [o.scenario, o.label, '—', '—', '—', '—', '—', '—', '—', '—', '—', o.note!];
  printTable({
    title:
      `Live fan-out — ${SCENARIOS.map((s) => s.subscribers.toLocaleString('en')).filter((v, i, a) => a.indexOf(v) === i).join(' and ')} graphql-ws subscribers of Subscription.timeline, a writer at a steady rate for ${SECONDS} s (after a ${WARMUP_SECONDS} s warm-up at that rate);\n` +
      `delivery = commit (write acknowledged) → receipt; end to end = write call → receipt; target: delivery p99 < ${TARGET_P99_MS} ms, nothing lost\n` +
      `${describeMachine(m)}; load average at start ${loadStart.map((l) => l.toFixed(1)).join(' ')}`,
    head: [
      'subscribers',
      'server',
      'written',
      'delivered / expected',
      'deliveries',
      'delivery p50',
      'delivery p99',
      'delivery max',
      'end-to-end p99',
      'commit p99',
      'server CPU/delivery',
      'target',
    ],
    rows: outcomes.map(row),
  });
  for (const o of outcomes) if (o.errors?.length) console.log(`${o.scenario}, ${o.label} errors: ${o.errors.join(' | ')}`);
  const file = writeResults(OUT, {
    benchmark: 'fanout',
    date: new Date().toISOString(),
    machine: m,
    loadAverage: { start: loadStart, end: os.loadavg() },
    settings: { scenarios: SCENARIOS, seconds: SECONDS, targetP99Ms: TARGET_P99_MS },
    ...(profile ? { profile } : {}),
    results: outcomes.map((o) => ({
      ...o,
      writeRate: o.writeRate && Math.round(o.writeRate),
      deliveriesPerSecond: o.deliveriesPerSecond && Math.round(o.deliveriesPerSecond),
      deliveryMs: o.delivery && rounded(o.delivery),
      endToEndMs: o.endToEnd && rounded(o.endToEnd),
      commitMs: o.commit && rounded(o.commit),
      delivery: undefined,
      endToEnd: undefined,
      commit: undefined,
      serverCpuMsPerDelivery: o.serverCpuMsPerDelivery == null ? o.serverCpuMsPerDelivery : Number(o.serverCpuMsPerDelivery.toFixed(3)),
    })),
  });
  console.log(`\nwritten to ${file}`);
});
