// bench:timeline — timeline reads, makima against PostGraphile 5 on the same data and the same Node
// (22), makima on Node 20 as extra information, and the same reads as raw SQL as the floor.
// BENCH_SECONDS (default 3) of load per client and read, in BENCH_ROUNDS (default 2) interleaved rounds, BENCH_CONNECTIONS (default 20).
// BENCH_EVENTS (default 1,000,000) history events, for trying the benchmark out at a smaller size; every
// run also reads a database of a tenth of that with PostGraphile and makima on Node 22, in the same rounds,
// and prints and stores how req/s and CPU/req change from the small size to the big one ("growth").
// BENCH_BASELINE=<a checkout of makima, with node_modules> adds that version of makima beside this
// one ("makima before"), to show a change's effect side by side in one run.
// BENCH_PROFILE=<dir> writes a CPU profile of every server, makima and PostGraphile (from ready to stop), there and
// prints its top self-time buckets (also kept in the results file).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { cpuSeconds, NODE22, NODE_HOST, spawnServer, type ChildServer } from '../lib/children.js';
import { httpLoad, merge, sqlLoad, type LoadResult, type Run } from '../lib/load.js';
import { createBenchDatabase } from '../lib/postgres.js';
import { describeMachine, machine, ms, printTable, writeResults } from '../lib/report.js';
import { runBench } from '../lib/run.js';
import { profileBuckets, type Bucket } from '../lib/profile.js';
import { DEFAULT_SHAPE, generateHistory } from './generate.js';
import {
  MAKIMA_TIMELINE,
  makimaPage,
  makimaVariables,
  PAGE,
  POSTGRAPHILE_TIMELINE,
  postgraphilePage,
  postgraphileVariables,
  sqlKeys,
  sqlQuery,
  type EventKey,
  type ReadSpec,
} from './reads.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const WARMUP_SECONDS = 0.75;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const TSX_LOADER = ['--import', 'tsx'];
const MAKIMA_ENTRY = path.join('bench', 'servers', 'makima.ts');
const EVENTS = Number(process.env.BENCH_EVENTS ?? DEFAULT_SHAPE.historyEvents);
/** The second, ten times smaller database every run also reads, for the growth line. */
const SMALL_EVENTS = Math.round(EVENTS / 10);
const BASELINE = process.env.BENCH_BASELINE ? path.resolve(process.env.BENCH_BASELINE) : undefined;
const PROFILE_DIR = process.env.BENCH_PROFILE ? path.resolve(process.env.BENCH_PROFILE) : undefined;

/**
 * makima's settings here are those docs/operations.md recommends for production: request logs at the
 * default level (one `info` line per request, on stderr), /metrics, and rate limiting per token — on,
 * with a limit no run reaches, so that every operation is counted and none refused.
 */
const PRODUCTION = { MAKIMA_LOG_LEVEL: 'info', MAKIMA_METRICS: 'true', MAKIMA_RATE_LIMIT: '100000000', MAKIMA_RATE_LIMIT_WINDOW_SECONDS: '60' };

interface Target {
  label: string;
  server: ChildServer;
  kind: 'makima' | 'postgraphile';
  headers: Record<string, string>;
}

async function post(url: string, body: string, headers: Record<string, string>): Promise<string> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await res.text();
  if (!res.ok) throw new Error(`${url} answered ${res.status}: ${text.slice(0, 500)}`);
  return text;
}

/** The request body of `read` for `target`, and the exact answer expected during the load. */
async function prepare(target: Target, read: ReadSpec): Promise<{ body: string; expected: string; keys: EventKey[] }> {
  const make = (after?: string) =>
    target.kind === 'makima'
      ? JSON.stringify({ query: MAKIMA_TIMELINE, variables: makimaVariables(read, after) })
      : JSON.stringify({ query: POSTGRAPHILE_TIMELINE, variables: postgraphileVariables(read, after) });
  const parse = target.kind === 'makima' ? makimaPage : postgraphilePage;
  let body = make();
  if (read.secondPage) {
    const first = parse(await post(target.server.url, body, target.headers));
    if (!first.endCursor) throw new Error(`${target.label}: no second page for ${read.name}`);
    body = make(first.endCursor);
  }
  const expected = await post(target.server.url, body, target.headers);
  return { body, expected, keys: parse(expected).keys };
}

function sameKeys(a: EventKey[], b: EventKey[]): boolean {
  return a.length === b.length && a.every((k, i) => k === b[i]);
}

/** A database filled with `events` history events, and the first user's id and token. */
async function generated(events: number) {
  const db = await createBenchDatabase('timeline');
  const shape = { ...DEFAULT_SHAPE, historyEvents: events, taskEvents: Math.round((DEFAULT_SHAPE.taskEvents * events) / DEFAULT_SHAPE.historyEvents) };
  console.log(`generating ${shape.historyEvents.toLocaleString('en')} history events, ${shape.taskEvents.toLocaleString('en')} task events, checkpoints …`);
  const history = await generateHistory(db.url, shape);
  console.log(`generated in ${history.seconds.toFixed(1)} s`);
  return { db, history, viewer: history.users[0] };
}

type Client = { label: string; node: string; peer: boolean; responseBytes: number | null; run: (seconds: number) => Promise<Run> };

/**
 * The three reads on one database, each with its clients: the SQL floor (when `floor`), then every
 * target; each client's answer is checked against SQL's before anything is measured.
 */
async function planReads(pool: pg.Pool, viewer: { id: string }, targets: Target[], floor: boolean): Promise<{ read: ReadSpec; clients: Client[] }[]> {
  // The viewer's contract that is now in REVIEW (generate.ts: contract 5), read for its EXECUTE phase.
  const contract = (await pool.query<{ id: string }>(`SELECT id FROM contracts WHERE name = 'contract-5' AND owner_id = $1`, [viewer.id])).rows[0];
  if (!contract) throw new Error('generated data has no contract-5 for the first user');
  const reads: ReadSpec[] = [
    { name: 'newest 50', ownerId: viewer.id },
    { name: 'newest 50 of one contract in one phase', ownerId: viewer.id, contractId: contract.id, phase: 'EXECUTE' },
    { name: 'second page by cursor', ownerId: viewer.id, secondPage: true },
  ];
  const plans: { read: ReadSpec; clients: Client[] }[] = [];
  for (const read of reads) {
    // The SQL floor: first page, then the page after its last seq.
    let query = sqlQuery(read);
    let sqlRows = (await pool.query(query)).rows;
    if (read.secondPage) {
      query = sqlQuery(read, String((sqlRows[PAGE - 1] as { seq: string }).seq));
      sqlRows = (await pool.query(query)).rows;
    }
    const expectedKeys = sqlKeys(sqlRows);
    if (expectedKeys.length !== PAGE) throw new Error(`${read.name}: the data has only ${expectedKeys.length} matching events`);
    const clients: Client[] = [];
    if (floor) {
      clients.push({
        label: 'raw SQL (pg, floor)',
        node: process.version,
        peer: false,
        responseBytes: null,
        run: (seconds) => sqlLoad({ pool, query, connections: CONNECTIONS, seconds, verify: (r) => r.length === sqlRows.length }),
      });
    }
    for (const target of targets) {
      const p = await prepare(target, read);
      if (!sameKeys(p.keys, expectedKeys)) {
        throw new Error(
          `${target.label} does not return the same events as SQL for "${read.name}":\n${p.keys.slice(0, 3).join('\n')}\nvs\n${expectedKeys.slice(0, 3).join('\n')}`,
        );
      }
      const load = { url: target.server.url, body: p.body, headers: target.headers, expectBody: p.expected, connections: CONNECTIONS };
      clients.push({
        label: target.label,
        node: target.server.node,
        peer: target.kind === 'postgraphile',
        responseBytes: Buffer.byteLength(p.expected),
        run: (seconds) => httpLoad({ ...load, seconds, serverCpu: () => cpuSeconds(target.server.pid) }),
      });
    }
    plans.push({ read, clients });
  }
  return plans;
}

/** The ratio of `b` to `a` per read, as one geometric mean over the reads. */
function geomeanRatio(pairs: [number, number][]): number {
  return Math.exp(pairs.reduce((sum, [a, b]) => sum + Math.log(b / a), 0) / pairs.length);
}

runBench('timeline', async () => {
  const loadStart = os.loadavg();
  // Two sizes in one run, for how a read's cost grows with ×10 data: the small one first (quick).
  const small = await generated(SMALL_EVENTS);
  const big = await generated(EVENTS);
  const db = big.db;
  const history = big.history;
  const viewer = big.viewer;
  console.log(`bench:timeline — databases ${small.db.name} and ${db.name} on PostgreSQL ${db.serverVersion}`);

  const env = { DATABASE_URL: db.url };
  const production = { ...env, ...PRODUCTION };
  if (PROFILE_DIR) fs.mkdirSync(PROFILE_DIR, { recursive: true });
  const profiles = new Map<ChildServer, string>();
  const profiled = async (name: string, node: string, args: string[], serverEnv: Record<string, string>) => {
    const file = PROFILE_DIR && path.join(PROFILE_DIR, `${name.replace(/[^a-z0-9]+/gi, '-')}-node${node === NODE22 ? 22 : 'host'}.cpuprofile`);
    const server = await spawnServer({ label: name, node, args, env: { ...serverEnv, ...(file ? { BENCH_PROFILE_FILE: file } : {}) } });
    if (file) profiles.set(server, file);
    return server;
  };
  const makima = (name: string, node: string, entry: string) => profiled(name, node, [...TSX_LOADER, entry], production);
  const baselineEntry = BASELINE && path.join(BASELINE, MAKIMA_ENTRY);
  const smallEnv = { DATABASE_URL: small.db.url };
  const [postgraphile22, makima22, makima20, before22, before20, smallPostgraphile, smallMakima] = await Promise.all([
    profiled('PostGraphile 5', NODE22, ['bench/peer/postgraphile.mjs'], env),
    makima('makima', NODE22, MAKIMA_ENTRY),
    makima('makima', NODE_HOST, MAKIMA_ENTRY),
    baselineEntry ? makima('makima before', NODE22, baselineEntry) : undefined,
    baselineEntry ? makima('makima before', NODE_HOST, baselineEntry) : undefined,
    spawnServer({ label: 'PostGraphile 5, small', node: NODE22, args: ['bench/peer/postgraphile.mjs'], env: smallEnv }),
    spawnServer({ label: 'makima, small', node: NODE22, args: [...TSX_LOADER, MAKIMA_ENTRY], env: { ...smallEnv, ...PRODUCTION } }),
  ]);
  const auth = { authorization: `Bearer ${viewer.token}` };
  const targets: Target[] = [
    { label: `PostGraphile 5 (Node ${postgraphile22.node})`, server: postgraphile22, kind: 'postgraphile', headers: {} },
    { label: `makima (Node ${makima22.node})`, server: makima22, kind: 'makima', headers: auth },
    { label: `makima (Node ${makima20.node})`, server: makima20, kind: 'makima', headers: auth },
  ];
  if (before22) targets.push({ label: `makima before (Node ${before22.node})`, server: before22, kind: 'makima', headers: auth });
  if (before20) targets.push({ label: `makima before (Node ${before20.node})`, server: before20, kind: 'makima', headers: auth });
  // The same two servers on the small database: measured in the same rounds, kept out of the table.
  const smallTargets: Target[] = [
    { label: `PostGraphile 5 (Node ${smallPostgraphile.node})`, server: smallPostgraphile, kind: 'postgraphile', headers: {} },
    { label: `makima (Node ${smallMakima.node})`, server: smallMakima, kind: 'makima', headers: { authorization: `Bearer ${small.viewer.token}` } },
  ];

  const pool = new pg.Pool({ connectionString: db.url, max: CONNECTIONS });
  const smallPool = new pg.Pool({ connectionString: small.db.url, max: CONNECTIONS });
  const plans = await planReads(pool, viewer, targets, true);
  const smallPlans = await planReads(smallPool, small.viewer, smallTargets, false);
  console.log(`every client returns the same ${PAGE} events as SQL on every read; warming up (${WARMUP_SECONDS} s per client and read) …`);
  // Every server sees every read before anything is measured: no read is measured on a cold JIT.
  for (const plan of [...plans, ...smallPlans]) for (const c of plan.clients) await c.run(WARMUP_SECONDS);

  const rows: { read: string; client: string; node: string; result: LoadResult; ratio: number | null; responseBytes: number | null }[] = [];
  // Per client measured on both sizes, per read: [small database's result, big one's].
  const growthPairs = new Map<string, { rps: [number, number][]; cpu: [number, number][] }>();
  for (const [r, { read, clients: bigClients }] of plans.entries()) {
    // One read: every client on the big database, then the two on the small one, in each round.
    console.log(`\n${read.name}: ${ROUNDS} interleaved rounds of ${SECONDS / ROUNDS} s per client`);
    const smallClients = smallPlans[r].clients;
    const clients = [...bigClients, ...smallClients];
    const runs = clients.map(() => [] as Run[]);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, c] of clients.entries()) runs[i].push(await c.run(SECONDS / ROUNDS));
    }
    const smallResults = runs.splice(bigClients.length).map(merge);
    for (const [i, c] of smallClients.entries()) {
      const big = merge(runs[bigClients.findIndex((b) => b.label === c.label)]);
      const pairs = growthPairs.get(c.label) ?? { rps: [], cpu: [] };
      pairs.rps.push([smallResults[i].rps, big.rps]);
      if (smallResults[i].cpuMsPerRequest !== null && big.cpuMsPerRequest !== null) pairs.cpu.push([smallResults[i].cpuMsPerRequest, big.cpuMsPerRequest]);
      growthPairs.set(c.label, pairs);
    }
    const results = runs.map(merge);
    const peerRps = results[bigClients.findIndex((c) => c.peer)].rps;
    for (const [i, c] of bigClients.entries()) {
      const result = results[i];
      rows.push({ read: read.name, client: c.label, node: c.node, result, ratio: i === 0 ? null : result.rps / peerRps, responseBytes: c.responseBytes });
      console.log(`  ${c.label}: ${result.rps.toFixed(0)} req/s${result.failures ? `, ${result.failures} FAILED` : ''}`);
    }
  }
  await pool.end();
  await smallPool.end();
  await Promise.all([...targets, ...smallTargets].map((t) => t.server.stop()));
  await Promise.all([db.drop(), small.db.drop()]);
  const size = (n: number) => (n >= 1e6 && n % 1e6 === 0 ? `${n / 1e6}M` : n >= 1e3 && n % 1e3 === 0 ? `${n / 1e3}k` : String(n));
  const growth = {
    from: SMALL_EVENTS,
    to: EVENTS,
    clients: [...growthPairs].map(([client, p]) => ({
      client,
      rps: Number(geomeanRatio(p.rps).toFixed(2)),
      cpuMsPerRequest: p.cpu.length ? Number(geomeanRatio(p.cpu).toFixed(2)) : null,
    })),
  };
  const growthLine =
    `growth: req/s and CPU/req ${size(SMALL_EVENTS)} -> ${size(EVENTS)} events (×, geometric mean of the reads): ` +
    growth.clients.map((g) => `${g.client} req/s ×${g.rps.toFixed(2)}, CPU/req ×${g.cpuMsPerRequest?.toFixed(2) ?? '—'}`).join('; ');
  const buckets: Record<string, Bucket[]> = {};
  for (const target of targets) {
    const file = profiles.get(target.server);
    if (file && !fs.existsSync(file)) console.log(`\nno CPU profile of ${target.label}: ${file} was not written`);
    if (!file || !fs.existsSync(file)) continue;
    buckets[target.label] = profileBuckets(file, 1.5);
    console.log(`\nCPU profile of ${target.label} (self time, share of busy time; ${path.relative(process.cwd(), file)}):`);
    for (const b of buckets[target.label]) console.log(`  ${b.percent.toFixed(1).padStart(5)} %  ${b.bucket}`);
  }

  const m = machine(db.serverVersion);
  printTable({
    title: `Timeline reads — ${CONNECTIONS} connections, ${SECONDS} s per client and read (${ROUNDS} interleaved rounds, after a ${WARMUP_SECONDS} s warm-up of every client on every read);\nratio = req/s ÷ PostGraphile's on the same read; server CPU/req = CPU time of the server process ÷ requests served\n${describeMachine(m)}; load average at start ${loadStart.map((l) => l.toFixed(1)).join(' ')}`,
    head: ['read', 'client', 'req/s', 'p50', 'p99', 'vs PostGraphile', 'server CPU/req', 'failed'],
    rows: rows.map((r) => [
      r.read,
      r.client,
      r.result.rps.toFixed(0),
      ms(r.result.p50, 2),
      ms(r.result.p99, 2),
      r.ratio === null ? '—' : `${r.ratio.toFixed(2)}×`,
      r.result.cpuMsPerRequest === null ? '—' : ms(r.result.cpuMsPerRequest, 2),
      r.result.failures,
    ]),
  });
  const file = writeResults('timeline', {
    benchmark: 'timeline',
    date: new Date().toISOString(),
    machine: m,
    settings: { seconds: SECONDS, rounds: ROUNDS, warmupSeconds: WARMUP_SECONDS, connections: CONNECTIONS, pageSize: PAGE, baseline: BASELINE ? 'makima before' : null, makima: PRODUCTION },
    loadAverage: { start: loadStart, end: os.loadavg() },
    data: { ...history.shape, generationSeconds: Number(history.seconds.toFixed(1)), steps: history.timings, growthHistoryEvents: small.history.shape.historyEvents },
    servers: targets.map((t) => ({ label: t.label, node: t.server.node })),
    growth,
    ...(Object.keys(buckets).length ? { profiles: buckets } : {}),
    results: rows.map((r) => ({
      read: r.read,
      client: r.client,
      node: r.node,
      rps: Math.round(r.result.rps),
      p50Ms: Number(r.result.p50.toFixed(2)),
      p99Ms: Number(r.result.p99.toFixed(2)),
      requests: r.result.requests,
      failures: r.result.failures,
      ratioToPostGraphile: r.ratio === null ? null : Number(r.ratio.toFixed(2)),
      serverCpuMsPerRequest: r.result.cpuMsPerRequest === null ? null : Number(r.result.cpuMsPerRequest.toFixed(2)),
      responseBytes: r.responseBytes,
    })),
  });
  console.log(`\n${growthLine}`);
  console.log(`\nwritten to ${file}`);
});
