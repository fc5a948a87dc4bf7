// bench:writes — the write path under a fleet of agents: appendMessages (1 and 10 messages) and
// recordTaskEvents (10 events) through the real GraphQL API over keep-alive HTTP, each writer on a
// task of its own as the task's owner, at 1/8/32/128 concurrent writers; makima on PostgreSQL
// (pool 10), two makima instances on the same database (writers split between them), writers of
// different users (one user each), and makima on embedded PGlite — next to the plain-SQL floor
// through pg (pool 10) with no lock and with one global advisory lock, in the same run. Every cell's
// variants run in interleaved rounds, so background load weighs on them alike.
//
// BENCH_SECONDS (default 6) of writing per variant and cell, in BENCH_ROUNDS (default 3) rounds;
// BENCH_WRITERS (default 1,8,32,128); BENCH_USERS_AT (default 32,128: where the one-user-per-writer
// variant runs); BENCH_WRITES_QUICK=1 for development (writers 1,8; 1 s; 1 round);
// BENCH_OPERATIONS (default append1,append10,events10); BENCH_VARIANTS (default all: makima,
// makima-2, makima-users, makima-pglite, floor-lock — the no-lock floor always runs, it is the
// reference); BENCH_WRITES_OUT (default writes, writes-quick in quick mode) names
// bench/results/<name>.json. BENCH_BASELINE=<a checkout of makima, with node_modules, built> adds that
// version of makima on PostgreSQL ("makima before", one instance) to every cell's rounds, to show a
// change's effect side by side in one run. BENCH_PROFILE=<dir> profiles the CPU of the one-instance
// PostgreSQL server (makima A) over the whole run and keeps its top self-time buckets in the results.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { cpuSeconds, NODE_HOST, spawnServer, type ChildServer } from '../lib/children.js';
import { createBenchDatabase } from '../lib/postgres.js';
import { describeMachine, machine, ms, percentile, printTable, writeResults } from '../lib/report.js';
import { runBench } from '../lib/run.js';
import { profileBuckets } from '../lib/profile.js';
import { Floor, onDatabase, onPool, type FloorLock } from './floor.js';
import { LockSampler, meanWaits, type LockWaits } from './locks.js';
import { OPERATIONS, type Operation } from './operations.js';
import { seed, type SeededTask, type SeededUser } from './setup.js';
import { GraphqlEndpoint, runWriters, type WriterRun } from './writers.js';

const QUICK = process.env.BENCH_WRITES_QUICK === '1';
const list = (value: string | undefined, fallback: string) =>
  (value || fallback)
    .split(',')
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
const WRITERS = list(process.env.BENCH_WRITERS, QUICK ? '1,8' : '1,8,32,128');
const USERS_AT = list(process.env.BENCH_USERS_AT, QUICK ? '8' : '32,128').filter((w) => WRITERS.includes(w));
const SECONDS = Number(process.env.BENCH_SECONDS ?? (QUICK ? 1 : 6));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 3));
const WARMUP_SECONDS = QUICK ? 0.5 : 1.5;
const WARMUP_WRITERS = 8;
// A quick run's figures are not the benchmark's: they go to a file of their own (not committed).
const OUT = process.env.BENCH_WRITES_OUT || (QUICK ? 'writes-quick' : 'writes');
/** makima's pool on PostgreSQL (src/db/database.ts); the floor gets the same. */
const POOL = 10;
const TSX_LOADER = ['--import', 'tsx'];
const SERVER_ENTRY = path.join('bench', 'writes', 'server.ts');
const MAX_WRITERS = Math.max(...WRITERS);
const OPS = process.env.BENCH_OPERATIONS ? OPERATIONS.filter((o) => process.env.BENCH_OPERATIONS!.split(',').includes(o.key)) : OPERATIONS;
const SELECTED = new Set((process.env.BENCH_VARIANTS || 'makima,makima-2,makima-users,makima-pglite,floor-lock').split(',').map((s) => s.trim()));
SELECTED.add('floor');
// makima on PGlite is measured against PGlite's own floor.
if (SELECTED.has('makima-pglite')) SELECTED.add('floor-pglite');
const PROFILE_DIR = process.env.BENCH_PROFILE ? path.resolve(process.env.BENCH_PROFILE) : undefined;
const BASELINE = process.env.BENCH_BASELINE ? path.resolve(process.env.BENCH_BASELINE) : undefined;
if (BASELINE && SELECTED.has('makima')) SELECTED.add('makima-before');
if (BASELINE && SELECTED.has('makima-users')) SELECTED.add('makima-users-before');

/** The goals of the write benchmark, checked on makima on PostgreSQL, one instance (docs/benchmarks.md). */
const GOAL_FLOOR_FRACTION = 1 / 2;
const GOAL_FLOOR_AT = [1, 8, 32, 128];
/** PGlite is one process's embedded database: its writers are measured against its own floor at these counts. */
const GOAL_PGLITE_FLOOR_AT = [1, 8];
const GOAL_CPU_MS = 1;
const GOAL_P99_MS = 50;
const GOAL_P99_AT = 32;
/** Noise allowed before throughput counts as falling (with more writers, or with a second instance). */
const NOISE = 0.9;
/** Mean backends waiting on a heavyweight lock, at most, when every writer is a different user. */
const GOAL_CROSS_USER_WAITERS = 0.5;

type VariantKey = 'makima' | 'makima-before' | 'makima-2' | 'makima-users' | 'makima-users-before' | 'makima-pglite' | 'floor' | 'floor-lock' | 'floor-pglite';

const VARIANT_LABELS: Record<VariantKey, string> = {
  makima: 'makima, PostgreSQL',
  'makima-before': 'makima before, PostgreSQL',
  'makima-2': 'makima ×2 instances, PostgreSQL',
  'makima-users': 'makima, PostgreSQL, one user per writer',
  'makima-users-before': 'makima before, PostgreSQL, one user per writer',
  'makima-pglite': 'makima, PGlite',
  floor: 'SQL floor, no lock',
  'floor-lock': 'SQL floor, one global lock',
  'floor-pglite': 'SQL floor, PGlite (in process)',
};

interface Variant {
  key: VariantKey;
  /** Server processes whose CPU time is charged to the writes (none for the floor). */
  pids: number[];
  /** Samples PostgreSQL's lock waits during the run (not on PGlite). */
  sampled: boolean;
  write: (writer: number) => Promise<void>;
}

interface Measured {
  run: WriterRun;
  serverCpuSeconds: number | null;
  driverCpuSeconds: number;
  waits: LockWaits | null;
}

interface CellResult {
  operation: string;
  writers: number;
  variant: VariantKey;
  label: string;
  writes: number;
  seconds: number;
  writesPerSecond: number;
  rowsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  serverCpuMsPerWrite: number | null;
  driverCpuMsPerWrite: number;
  /** writes/s ÷ the no-lock floor's in the same cell (PostgreSQL variants); makima on PGlite ÷ PGlite's floor. */
  ofFloor: number | null;
  lockWaits: { active: number; advisory: number; otherLocks: number; idleInTransaction: number } | null;
  failures: number;
  errors: string[];
}

/** Writes sent to makima on PostgreSQL: each acknowledged one must have left exactly one history event. */
interface Tally {
  acknowledged: number;
  failed: number;
}

function makimaWriter(op: Operation, tasks: SeededTask[], tokens: Map<string, string>, endpoints: GraphqlEndpoint[], tally: Tally) {
  // Bodies are built once: a writer sends the same request (to its own task) again and again.
  const bodies = tasks.map((t) => op.body(t.id));
  return (i: number) =>
    endpoints[i % endpoints.length].post(bodies[i], tokens.get(tasks[i].ownerId)!).then(
      () => void tally.acknowledged++,
      (err: unknown) => {
        tally.failed++;
        throw err;
      },
    );
}

async function measure(variant: Variant, writers: number, seconds: number, sampler: LockSampler | null, endpoints: GraphqlEndpoint[]): Promise<Measured> {
  const cpu = () => {
    const each = variant.pids.map(cpuSeconds);
    return each.some((c) => c === null) ? null : (each as number[]).reduce((a, b) => a + b, 0);
  };
  const cpuBefore = variant.pids.length ? cpu() : null;
  const driverBefore = process.cpuUsage();
  const stop = variant.sampled && sampler ? sampler.start() : null;
  for (const e of endpoints) e.reset();
  const run = await runWriters(writers, seconds, variant.write);
  const waits = stop ? await stop() : null;
  const cpuAfter = variant.pids.length ? cpu() : null;
  const driver = process.cpuUsage(driverBefore);
  return {
    run,
    serverCpuSeconds: cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore,
    driverCpuSeconds: (driver.user + driver.system) / 1e6,
    waits,
  };
}

function summarize(op: Operation, writers: number, key: VariantKey, runs: Measured[]): Omit<CellResult, 'ofFloor'> {
  const latencies = runs.flatMap((r) => r.run.latencies);
  const seconds = runs.reduce((s, r) => s + r.run.seconds, 0);
  const cpu = runs.every((r) => r.serverCpuSeconds !== null) ? runs.reduce((s, r) => s + r.serverCpuSeconds!, 0) : null;
  const driver = runs.reduce((s, r) => s + r.driverCpuSeconds, 0);
  const waits = runs.every((r) => r.waits) ? meanWaits(runs.map((r) => r.waits!)) : null;
  const writes = latencies.length;
  return {
    operation: op.name,
    writers,
    variant: key,
    label: VARIANT_LABELS[key],
    writes,
    seconds: Number(seconds.toFixed(2)),
    writesPerSecond: writes / seconds,
    rowsPerSecond: (writes * op.count) / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    serverCpuMsPerWrite: cpu === null || writes === 0 ? null : (cpu * 1000) / writes,
    driverCpuMsPerWrite: writes === 0 ? NaN : (driver * 1000) / writes,
    lockWaits: waits && { active: waits.active, advisory: waits.advisory, otherLocks: waits.otherLocks, idleInTransaction: waits.idleInTransaction },
    failures: runs.reduce((s, r) => s + r.run.failures, 0),
    errors: [...new Set(runs.flatMap((r) => r.run.errors))].slice(0, 3),
  };
}

async function prepareDatabase(db: Database, plan: number[], label: string): Promise<SeededUser[]> {
  try {
    await migrate(db);
    return await seed(db, plan, label);
  } finally {
    await db.close();
  }
}

/** The errors a server logged, grouped by message (its log file: JSON lines from pino). */
function loggedErrors(file: string, server: string): { server: string; message: string; count: number }[] {
  if (!fs.existsSync(file)) return [];
  const counts = new Map<string, number>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    let entry: { msg?: string; err?: { message?: string } };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue;
    }
    const message = `${entry.msg ?? ''}${entry.err?.message ? `: ${entry.err.message.replace(/\s+/g, ' ').slice(0, 300)}` : ''}`;
    counts.set(message, (counts.get(message) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]).map(([message, count]) => ({ server, message, count }));
}

interface Goal {
  goal: string;
  measured: string;
  met: boolean;
}

const writersText = (n: number) => `${n} writer${n === 1 ? '' : 's'}`;

function goals(results: CellResult[]): Goal[] {
  const out: Goal[] = [];
  const pg1 = results.filter((r) => r.variant === 'makima');
  const cell = (op: string, w: number, v: VariantKey) => results.find((r) => r.operation === op && r.writers === w && r.variant === v);
  for (const r of pg1.filter((r) => GOAL_FLOOR_AT.includes(r.writers) && r.ofFloor !== null)) {
    out.push({ goal: `${r.operation}, ${writersText(r.writers)}: ≥ ${GOAL_FLOOR_FRACTION * 100} % of the no-lock floor`, measured: `${(r.ofFloor! * 100).toFixed(1)} %`, met: r.ofFloor! >= GOAL_FLOOR_FRACTION });
  }
  for (const r of results.filter((r) => r.variant === 'makima-pglite' && GOAL_PGLITE_FLOOR_AT.includes(r.writers) && r.ofFloor !== null)) {
    out.push({ goal: `PGlite, ${r.operation}, ${writersText(r.writers)}: ≥ ${GOAL_FLOOR_FRACTION * 100} % of PGlite's floor`, measured: `${(r.ofFloor! * 100).toFixed(1)} %`, met: r.ofFloor! >= GOAL_FLOOR_FRACTION });
  }
  for (const r of pg1) {
    if (r.serverCpuMsPerWrite === null) continue;
    out.push({ goal: `${r.operation}, ${writersText(r.writers)}: server CPU per write < ${GOAL_CPU_MS} ms`, measured: ms(r.serverCpuMsPerWrite, 2), met: r.serverCpuMsPerWrite < GOAL_CPU_MS });
  }
  for (const r of pg1.filter((r) => r.writers === GOAL_P99_AT)) {
    out.push({ goal: `${r.operation}, ${writersText(r.writers)}: p99 < ${GOAL_P99_MS} ms`, measured: ms(r.p99Ms), met: r.p99Ms < GOAL_P99_MS });
  }
  for (const op of OPS) {
    const series = WRITERS.map((w) => cell(op.name, w, 'makima')).filter((r): r is CellResult => !!r);
    for (let i = 1; i < series.length; i++) {
      const best = Math.max(...series.slice(0, i).map((r) => r.writesPerSecond));
      const r = series[i];
      out.push({
        goal: `${op.name}: writes/s at ${writersText(r.writers)} not below the best at fewer writers (±${Math.round((1 - NOISE) * 100)} % noise)`,
        measured: `${r.writesPerSecond.toFixed(0)} vs ${best.toFixed(0)}`,
        met: r.writesPerSecond >= NOISE * best,
      });
    }
    for (const w of WRITERS) {
      const one = cell(op.name, w, 'makima');
      const two = cell(op.name, w, 'makima-2');
      if (one && two) {
        out.push({
          goal: `${op.name}, ${writersText(w)}: a second instance does not lower writes/s (±${Math.round((1 - NOISE) * 100)} %)`,
          measured: `${two.writesPerSecond.toFixed(0)} vs ${one.writesPerSecond.toFixed(0)}`,
          met: two.writesPerSecond >= NOISE * one.writesPerSecond,
        });
      }
      const users = cell(op.name, w, 'makima-users');
      if (users?.lockWaits) {
        const waiting = users.lockWaits.advisory + users.lockWaits.otherLocks;
        out.push({
          goal: `${op.name}, ${writersText(w)} of ${w} users: writers of different users do not wait on each other (mean lock waiters < ${GOAL_CROSS_USER_WAITERS})`,
          measured: `${waiting.toFixed(2)} of ${users.lockWaits.active.toFixed(1)} active`,
          met: waiting < GOAL_CROSS_USER_WAITERS,
        });
      }
    }
  }
  return out;
}

runBench('writes', async () => {
  const loadStart = os.loadavg();
  const bench = await createBenchDatabase('writes');
  console.log(`bench:writes — database ${bench.name} on PostgreSQL ${bench.serverVersion}`);
  console.log(`writers ${WRITERS.join('/')}, ${SECONDS} s per variant and cell in ${ROUNDS} interleaved round(s)${QUICK ? ' (quick mode)' : ''}`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'makima-bench-writes-'));
  // Also on Ctrl-C (runBench exits the process): the PGlite directory and the servers' data dirs go.
  const removeTmp = () => fs.rmSync(tmp, { recursive: true, force: true });
  process.once('exit', removeTmp);
  try {
    // PostgreSQL: user 0 owns the makima writers' tasks and the floor writers' tasks; users 1… (one
    // task each) are the writers of the one-user-per-writer variant.
    const usersMax = USERS_AT.length ? Math.max(...USERS_AT) : 0;
    const pgUsers = await prepareDatabase(
      await openDatabase({ databaseUrl: bench.url, dataDir: '' }),
      [2 * MAX_WRITERS, ...Array.from({ length: usersMax }, () => 1)],
      'writes',
    );
    const makimaTasks = pgUsers[0].tasks.slice(0, MAX_WRITERS);
    const floorTasks = pgUsers[0].tasks.slice(MAX_WRITERS);
    const userTasks = pgUsers.slice(1).map((u) => u.tasks[0]);
    const pgTokens = new Map(pgUsers.map((u) => [u.id, u.token]));
    // PGlite: a seeded data directory the server then opens (PGlite is one process's database).
    const liteDir = path.join(tmp, 'pglite');
    const liteUsers = await prepareDatabase(await openDatabase({ dataDir: liteDir }), [MAX_WRITERS], 'writes-pglite');
    const liteTokens = new Map(liteUsers.map((u) => [u.id, u.token]));

    const logOf = (name: string) => path.join(tmp, `${name}.log`);
    const serverEnv = (name: string, extra: Record<string, string>) => ({
      MAKIMA_DATA_DIR: path.join(tmp, name),
      MAKIMA_REPOS_ROOT: tmp,
      BENCH_SERVER_LOG: logOf(name),
      ...extra,
    });
    const [pgA, pgB, lite] = await Promise.all([
      spawnServer({ label: 'makima A', node: NODE_HOST, args: [...TSX_LOADER, SERVER_ENTRY], env: serverEnv('a', { DATABASE_URL: bench.url, ...(PROFILE_DIR ? { BENCH_PROFILE_FILE: path.join(PROFILE_DIR, 'writes-makima.cpuprofile') } : {}) }) }),
      spawnServer({ label: 'makima B', node: NODE_HOST, args: [...TSX_LOADER, SERVER_ENTRY], env: serverEnv('b', { DATABASE_URL: bench.url }) }),
      spawnServer({ label: 'makima PGlite', node: NODE_HOST, args: [...TSX_LOADER, SERVER_ENTRY], env: { MAKIMA_DATA_DIR: liteDir, MAKIMA_REPOS_ROOT: tmp, BENCH_SERVER_LOG: logOf('pglite'), DATABASE_URL: '' } }),
    ]);
    const before = BASELINE
      ? await spawnServer({ label: 'makima before', node: NODE_HOST, args: [...TSX_LOADER, path.join(BASELINE, SERVER_ENTRY)], env: serverEnv('before', { DATABASE_URL: bench.url }) })
      : undefined;
    const servers: ChildServer[] = [pgA, pgB, lite, ...(before ? [before] : [])];
    const [endA, endB, endLite, endBefore] = servers.map((s) => new GraphqlEndpoint(s.url));
    // The floor's connections are opened once and kept (like a server's pool under steady load): on a
    // PostgreSQL shared with other work, reconnecting mid-run could find max_connections reached.
    const pool = new pg.Pool({ connectionString: bench.url, max: POOL, idleTimeoutMillis: 0 });
    const opened = await Promise.all(Array.from({ length: POOL }, () => pool.connect()));
    for (const c of opened) c.release();
    // Dropping the database on Ctrl-C ends idle connections: not an error of the benchmark's.
    pool.on('error', () => undefined);
    const floor = new Floor(onPool(pool), floorTasks);
    // PGlite's floor: the same transactions on a PGlite database of its own, in this process.
    const liteFloorDb = await openDatabase({ dataDir: path.join(tmp, 'pglite-floor') });
    await migrate(liteFloorDb);
    const liteFloor = new Floor(onDatabase(liteFloorDb), (await seed(liteFloorDb, [MAX_WRITERS], 'writes-pglite-floor'))[0].tasks);
    const pgTally: Tally = { acknowledged: 0, failed: 0 };
    const liteTally: Tally = { acknowledged: 0, failed: 0 };
    const sampler = await LockSampler.open(bench.url, bench.name);

    const variantsOf = (op: Operation, writers: number): Variant[] => {
      const floorWrite = (lock: FloorLock) => (i: number) => floor.write(op, i, lock);
      const vs: Variant[] = [
        { key: 'floor', pids: [], sampled: true, write: floorWrite('none') },
        { key: 'floor-lock', pids: [], sampled: true, write: floorWrite('global') },
        { key: 'makima', pids: [pgA.pid], sampled: true, write: makimaWriter(op, makimaTasks, pgTokens, [endA], pgTally) },
      ];
      if (before) vs.push({ key: 'makima-before', pids: [before.pid], sampled: true, write: makimaWriter(op, makimaTasks, pgTokens, [endBefore], pgTally) });
      if (writers >= 2) vs.push({ key: 'makima-2', pids: [pgA.pid, pgB.pid], sampled: true, write: makimaWriter(op, makimaTasks, pgTokens, [endA, endB], pgTally) });
      if (USERS_AT.includes(writers)) vs.push({ key: 'makima-users', pids: [pgA.pid], sampled: true, write: makimaWriter(op, userTasks, pgTokens, [endA], pgTally) });
      if (before && USERS_AT.includes(writers)) vs.push({ key: 'makima-users-before', pids: [before.pid], sampled: true, write: makimaWriter(op, userTasks, pgTokens, [endBefore], pgTally) });
      vs.push({ key: 'makima-pglite', pids: [lite.pid], sampled: false, write: makimaWriter(op, liteUsers[0].tasks, liteTokens, [endLite], liteTally) });
      vs.push({ key: 'floor-pglite', pids: [], sampled: false, write: (i) => liteFloor.write(op, i, 'none') });
      return vs.filter((v) => SELECTED.has(v.key));
    };

    // Every variant sees every operation before anything is measured: nothing runs on a cold JIT.
    console.log(`warming up (${WARMUP_SECONDS} s per variant and operation, ${WARMUP_WRITERS} writers) …`);
    for (const op of OPS) {
      for (const v of variantsOf(op, Math.max(...USERS_AT, WARMUP_WRITERS))) {
        for (const e of [endA, endB, endLite]) e.reset();
        const warm = await runWriters(Math.min(WARMUP_WRITERS, MAX_WRITERS), WARMUP_SECONDS, v.write);
        if (warm.failures) throw new Error(`${VARIANT_LABELS[v.key]}, ${op.name}: ${warm.failures} writes failed while warming up:\n${warm.errors.join('\n')}`);
      }
    }

    const results: CellResult[] = [];
    for (const op of OPS) {
      for (const writers of WRITERS) {
        const variants = variantsOf(op, writers);
        const runs = variants.map(() => [] as Measured[]);
        for (let round = 0; round < ROUNDS; round++) {
          for (const [i, v] of variants.entries()) runs[i].push(await measure(v, writers, SECONDS / ROUNDS, sampler, [endA, endB, endLite]));
        }
        const cells = variants.map((v, i) => summarize(op, writers, v.key, runs[i]));
        const floorRate = cells.find((c) => c.variant === 'floor')!.writesPerSecond;
        const liteFloorRate = cells.find((c) => c.variant === 'floor-pglite')?.writesPerSecond;
        const line: string[] = [];
        for (const c of cells) {
          const ofFloor =
            c.variant === 'makima-pglite'
              ? liteFloorRate
                ? c.writesPerSecond / liteFloorRate
                : null
              : c.variant === 'floor' || c.variant === 'floor-pglite'
                ? null
                : c.writesPerSecond / floorRate;
          results.push({ ...c, ofFloor });
          line.push(`${c.label} ${c.writesPerSecond.toFixed(0)}/s${c.failures ? ` (${c.failures} FAILED: ${c.errors[0]})` : ''}`);
        }
        console.log(`${op.name}, ${writersText(writers)}: ${line.join('; ')}`);
      }
    }
    // Every acknowledged write is in the database, once: one history event each (a failed write
    // may or may not have committed).
    const [{ count }] = (
      await pool.query<{ count: number }>('SELECT count(*)::int AS count FROM history_events WHERE task_id = ANY($1::uuid[])', [
        [...makimaTasks, ...userTasks].map((t) => t.id),
      ])
    ).rows;
    if (count < pgTally.acknowledged || count > pgTally.acknowledged + pgTally.failed) {
      throw new Error(`makima on PostgreSQL acknowledged ${pgTally.acknowledged} writes (${pgTally.failed} failed) but the database holds ${count} history events for them`);
    }
    console.log(`checked: ${count} history events in PostgreSQL for ${pgTally.acknowledged} acknowledged makima writes (${pgTally.failed} failed)`);
    await sampler.close();
    await pool.end();
    await liteFloorDb.close();
    for (const e of [endA, endB, endLite, endBefore]) e?.close();
    await Promise.all(servers.map((s) => s.stop()));
    await bench.drop();
    const serverErrors = (['a', 'b', 'pglite', 'before'] as const).slice(0, servers.length).flatMap((name, i) => loggedErrors(logOf(name), servers[i].label));
    if (serverErrors.length) {
      console.log('\nerrors the servers logged (why writes failed):');
      for (const e of serverErrors) console.log(`  ${e.server}: ${e.count} × ${e.message}`);
    }

    const m = machine(bench.serverVersion);
    const waits = (r: CellResult) =>
      r.lockWaits
        ? `${r.lockWaits.active.toFixed(1)} / ${r.lockWaits.advisory.toFixed(1)} / ${r.lockWaits.otherLocks.toFixed(1)} / ${r.lockWaits.idleInTransaction.toFixed(1)}`
        : '—';
    printTable({
      title:
        `Writes — each writer on its own task, closed loop; ${SECONDS} s per variant and cell in ${ROUNDS} interleaved round(s), after a warm-up; ` +
        `PostgreSQL pool ${POOL} per makima instance and for the floor\n` +
        `of floor = writes/s ÷ the no-lock SQL floor's in the same cell; server CPU/write = CPU time of the server process(es) ÷ writes; ` +
        `conns = means of pg_stat_activity samples: running a statement / waiting on the advisory lock / on another lock / idle in a transaction\n` +
        `${describeMachine(m)}; makima on Node ${pgA.node}; load average at start ${loadStart.map((l) => l.toFixed(1)).join(' ')}`,
      head: ['operation', 'writers', 'variant', 'writes/s', 'of floor', 'p50', 'p99', 'server CPU/write', 'conns active / adv. wait / other wait / idle in tx', 'failed'],
      rows: results.map((r) => [
        r.operation,
        r.writers,
        r.label,
        r.writesPerSecond.toFixed(0),
        r.ofFloor === null ? '—' : `${(r.ofFloor * 100).toFixed(1)} %`,
        ms(r.p50Ms),
        ms(r.p99Ms),
        r.serverCpuMsPerWrite === null ? '—' : ms(r.serverCpuMsPerWrite, 2),
        waits(r),
        r.failures,
      ]),
    });
    const checked = goals(results);
    printTable({
      title: 'Goals (makima on PostgreSQL, one instance unless said otherwise)',
      head: ['goal', 'measured', 'met'],
      rows: checked.map((g) => [g.goal, g.measured, g.met ? 'yes' : 'NO']),
    });
    const round2 = (n: number | null) => (n === null || Number.isNaN(n) ? null : Number(n.toFixed(2)));
    const file = writeResults(OUT, {
      benchmark: 'writes',
      date: new Date().toISOString(),
      machine: m,
      makimaNode: pgA.node,
      settings: { writers: WRITERS, usersAt: USERS_AT, seconds: SECONDS, rounds: ROUNDS, warmupSeconds: WARMUP_SECONDS, pool: POOL, quick: QUICK },
      loadAverage: { start: loadStart, end: os.loadavg() },
      results: results.map((r) => ({
        ...r,
        writesPerSecond: Math.round(r.writesPerSecond),
        rowsPerSecond: Math.round(r.rowsPerSecond),
        p50Ms: round2(r.p50Ms),
        p99Ms: round2(r.p99Ms),
        serverCpuMsPerWrite: round2(r.serverCpuMsPerWrite),
        driverCpuMsPerWrite: round2(r.driverCpuMsPerWrite),
        ofFloor: r.ofFloor === null ? null : Number(r.ofFloor.toFixed(3)),
        lockWaits: r.lockWaits && {
          active: round2(r.lockWaits.active),
          advisory: round2(r.lockWaits.advisory),
          otherLocks: round2(r.lockWaits.otherLocks),
          idleInTransaction: round2(r.lockWaits.idleInTransaction),
        },
      })),
      goals: checked,
      serverErrors,
      ...(PROFILE_DIR ? { profile: profileBuckets(path.join(PROFILE_DIR, 'writes-makima.cpuprofile')) } : {}),
    });
    console.log(`\nwritten to ${file}`);
  } finally {
    removeTmp();
  }
});
