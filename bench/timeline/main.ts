// bench:timeline — timeline reads, makima against PostGraphile 5 on the same data and the same Node
// (22), makima on Node 20 as extra information, and the same reads as raw SQL as the floor.
// BENCH_SECONDS (default 3) of load per client and read, in BENCH_ROUNDS (default 2) interleaved rounds, BENCH_CONNECTIONS (default 20).
// BENCH_EVENTS (default 1,000,000) history events, for trying the benchmark out at a smaller size.
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

runBench('timeline', async () => {
  const loadStart = os.loadavg();
  const db = await createBenchDatabase('timeline');
  console.log(`bench:timeline — database ${db.name} on PostgreSQL ${db.serverVersion}`);
  const shape = { ...DEFAULT_SHAPE, historyEvents: EVENTS, taskEvents: Math.round((DEFAULT_SHAPE.taskEvents * EVENTS) / DEFAULT_SHAPE.historyEvents) };
  console.log(`generating ${shape.historyEvents.toLocaleString('en')} history events, ${shape.taskEvents.toLocaleString('en')} task events, checkpoints …`);
  const history = await generateHistory(db.url, shape);
  console.log(`generated in ${history.seconds.toFixed(1)} s`);
  const viewer = history.users[0];

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
  const [postgraphile22, makima22, makima20, before22, before20] = await Promise.all([
    profiled('PostGraphile 5', NODE22, ['bench/peer/postgraphile.mjs'], env),
    makima('makima', NODE22, MAKIMA_ENTRY),
    makima('makima', NODE_HOST, MAKIMA_ENTRY),
    baselineEntry ? makima('makima before', NODE22, baselineEntry) : undefined,
    baselineEntry ? makima('makima before', NODE_HOST, baselineEntry) : undefined,
  ]);
  const auth = { authorization: `Bearer ${viewer.token}` };
  const targets: Target[] = [
    { label: `PostGraphile 5 (Node ${postgraphile22.node})`, server: postgraphile22, kind: 'postgraphile', headers: {} },
    { label: `makima (Node ${makima22.node})`, server: makima22, kind: 'makima', headers: auth },
    { label: `makima (Node ${makima20.node})`, server: makima20, kind: 'makima', headers: auth },
  ];
  if (before22) targets.push({ label: `makima before (Node ${before22.node})`, server: before22, kind: 'makima', headers: auth });
  if (before20) targets.push({ label: `makima before (Node ${before20.node})`, server: before20, kind: 'makima', headers: auth });

  const pool = new pg.Pool({ connectionString: db.url, max: CONNECTIONS });
  // The viewer's contract that is now in REVIEW (generate.ts: contract 5), read for its EXECUTE phase.
  const contract = (await pool.query<{ id: string }>(`SELECT id FROM contracts WHERE name = 'contract-5' AND owner_id = $1`, [viewer.id])).rows[0];
  if (!contract) throw new Error('generated data has no contract-5 for the first user');
  const reads: ReadSpec[] = [
    { name: 'newest 50', ownerId: viewer.id },
    { name: 'newest 50 of one contract in one phase', ownerId: viewer.id, contractId: contract.id, phase: 'EXECUTE' },
    { name: 'second page by cursor', ownerId: viewer.id, secondPage: true },
  ];

  type Client = { label: string; node: string; peer: boolean; responseBytes: number | null; run: (seconds: number) => Promise<Run> };
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
    const clients: Client[] = [
      {
        label: 'raw SQL (pg, floor)',
        node: process.version,
        peer: false,
        responseBytes: null,
        run: (seconds) => sqlLoad({ pool, query, connections: CONNECTIONS, seconds, verify: (r) => r.length === sqlRows.length }),
      },
    ];
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
  console.log(`every client returns the same ${PAGE} events as SQL on every read; warming up (${WARMUP_SECONDS} s per client and read) …`);
  // Every server sees every read before anything is measured: no read is measured on a cold JIT.
  for (const plan of plans) for (const c of plan.clients) await c.run(WARMUP_SECONDS);

  const rows: { read: string; client: string; node: string; result: LoadResult; ratio: number | null; responseBytes: number | null }[] = [];
  for (const { read, clients } of plans) {
    console.log(`\n${read.name}: ${ROUNDS} interleaved rounds of ${SECONDS / ROUNDS} s per client`);
    const runs = clients.map(() => [] as Run[]);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, c] of clients.entries()) runs[i].push(await c.run(SECONDS / ROUNDS));
    }
    const results = runs.map(merge);
    const peerRps = results[clients.findIndex((c) => c.peer)].rps;
    for (const [i, c] of clients.entries()) {
      const result = results[i];
      rows.push({ read: read.name, client: c.label, node: c.node, result, ratio: i === 0 ? null : result.rps / peerRps, responseBytes: c.responseBytes });
      console.log(`  ${c.label}: ${result.rps.toFixed(0)} req/s${result.failures ? `, ${result.failures} FAILED` : ''}`);
    }
  }
  await pool.end();
  await Promise.all(targets.map((t) => t.server.stop()));
  await db.drop();
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
    data: { ...history.shape, generationSeconds: Number(history.seconds.toFixed(1)), steps: history.timings },
    servers: targets.map((t) => ({ label: t.label, node: t.server.node })),
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
  console.log(`\nwritten to ${file}`);
});
