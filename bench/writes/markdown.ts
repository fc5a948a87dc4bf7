// Prints a bench:writes results file as the Markdown tables of docs/benchmarks.md:
// `npx tsx bench/writes/markdown.ts [bench/results/writes.json]`.
import fs from 'node:fs';
import { profileTable } from '../lib/markdown.js';

interface Row {
  operation: string;
  writers: number;
  label: string;
  writesPerSecond: number;
  ofFloor: number | null;
  p50Ms: number;
  p99Ms: number;
  serverCpuMsPerWrite: number | null;
  lockWaits: { active: number; advisory: number; otherLocks: number; idleInTransaction?: number } | null;
  failures: number;
}

const file = process.argv[2] ?? 'bench/results/writes.json';
const data = JSON.parse(fs.readFileSync(file, 'utf8')) as {
  provenance?: { commit: string; dirty: boolean; env: Record<string, string> };
  date: string;
  loadAverage: { start: number[] };
  settings: { seconds: number; rounds: number };
  results: Row[];
  goals: { goal: string; measured: string; met: boolean }[];
  serverErrors?: { server: string; message: string; count: number }[];
  /** With BENCH_PROFILE: the one-instance server's self time by origin. */
  profile?: { bucket: string; percent: number }[];
};
const msText = (v: number | null, digits = 0) => (v === null ? '—' : `${v.toFixed(digits)} ms`);
const p = data.provenance;
const settings = p ? Object.entries(p.env).map(([k, v]) => `\`${k}=${v}\``) : [];
console.log(
  `\`${file}\`${p ? `: commit ${p.commit.slice(0, 7)}${p.dirty ? ' (with uncommitted changes)' : ''}` : ''}, ${data.date.slice(0, 16).replace('T', ' ')} UTC, ` +
    `${data.settings.seconds} s per variant and cell in ${data.settings.rounds} rounds, load average at start ${data.loadAverage.start.map((l) => l.toFixed(1)).join(' ')}` +
    `${settings.length ? `; ${settings.join(' ')}` : ''}\n`,
);
// One row per operation and writer count, the variants side by side.
const cells = new Map<string, Map<string, Row>>();
for (const r of data.results) {
  const key = `${r.operation}|${r.writers}`;
  if (!cells.has(key)) cells.set(key, new Map());
  cells.get(key)!.set(r.label, r);
}
const before = data.results.some((r) => r.label === 'makima before, PostgreSQL');
const rate = (r: Row | undefined) => (r ? `${r.writesPerSecond.toLocaleString('en-US')}${r.failures ? ` (${r.failures} failed)` : ''}` : '—');
const waits = (r: Row | undefined) =>
  r?.lockWaits
    ? `${r.lockWaits.advisory.toFixed(1)}${r.lockWaits.otherLocks >= 0.05 ? ` (+ ${r.lockWaits.otherLocks.toFixed(1)} on another lock)` : ''} of ${r.lockWaits.active.toFixed(1)}` +
      (r.lockWaits.idleInTransaction === undefined ? '' : `, ${r.lockWaits.idleInTransaction.toFixed(1)} idle in tx`)
    : '—';
console.log(
  '| operation | writers | floor, no lock / one global lock | makima writes/s | of floor | p50 / p99 | server CPU/write | conns waiting on the lock of running, idle in a transaction | ×2 instances | one user per writer (waiting) | PGlite: writes/s, of its floor (CPU/write) |' +
    (before ? ' makima before: writes/s, of floor, p99, CPU/write |' : ''),
);
console.log('|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|' + (before ? '--:|' : ''));
for (const [key, row] of cells) {
  const [operation, writers] = key.split('|');
  const floor = row.get('SQL floor, no lock');
  const lock = row.get('SQL floor, one global lock');
  const m = row.get('makima, PostgreSQL');
  const two = row.get('makima ×2 instances, PostgreSQL');
  const users = row.get('makima, PostgreSQL, one user per writer');
  const lite = row.get('makima, PGlite');
  const liteFloor = row.get('SQL floor, PGlite (in process)');
  const b = row.get('makima before, PostgreSQL');
  const ub = row.get('makima before, PostgreSQL, one user per writer');
  const beforeCell = !before
    ? ''
    : b
      ? ` ${rate(b)}, ${b.ofFloor == null ? '—' : `${(b.ofFloor * 100).toFixed(1)} %`}, ${msText(b.p99Ms)}, ${msText(b.serverCpuMsPerWrite, 2)} |`
      : ' — |';
  console.log(
    `| ${operation} | ${writers} | ${rate(floor)} / ${rate(lock)} | ${rate(m)} | ${m?.ofFloor == null ? '—' : `${(m.ofFloor * 100).toFixed(1)} %`} | ` +
      `${m ? `${msText(m.p50Ms)} / ${msText(m.p99Ms)}` : '—'} | ${msText(m?.serverCpuMsPerWrite ?? null, 1)} | ${waits(m)} | ${rate(two)} | ` +
      `${users ? `${rate(users)} (${waits(users)})${ub ? `; before ${rate(ub)} (${waits(ub)})` : ''}` : '—'} | ${lite ? `${rate(lite)}${liteFloor && lite.ofFloor != null ? ` of ${rate(liteFloor)}, ${(lite.ofFloor * 100).toFixed(1)} %` : ''} (${msText(lite.serverCpuMsPerWrite, 1)})` : '—'} |${beforeCell}`,
  );
}
console.log(
  '\nThe floor is a floor, not a peer: it writes the same rows and the history event, but keeps no jump pointers, ' +
    'updates no task head or version, sends no notification and checks no token.',
);
// How the cost grows with the number of writers: makima on PostgreSQL, its fewest and most writers.
for (const operation of new Set(data.results.map((r) => r.operation))) {
  const series = data.results.filter((r) => r.operation === operation && r.label === 'makima, PostgreSQL').sort((a, b) => a.writers - b.writers);
  const [low, high] = [series.find((r) => r.writers > 1) ?? series[0], series[series.length - 1]];
  if (!low || !high || low === high) continue;
  const times = (a: number, b: number) => `×${(b / a).toFixed(2)}`;
  console.log(
    `\nGrowth, ${operation}, ${low.writers} → ${high.writers} writers (×${high.writers / low.writers}): writes/s ${times(low.writesPerSecond, high.writesPerSecond)}, ` +
      `p99 ${times(low.p99Ms, high.p99Ms)}, server CPU per write ${low.serverCpuMsPerWrite && high.serverCpuMsPerWrite ? times(low.serverCpuMsPerWrite, high.serverCpuMsPerWrite) : '—'}.`,
  );
}
const met = data.goals.filter((g) => g.met).length;
console.log(`\nGoals met: ${met} of ${data.goals.length}`);
for (const g of data.goals) console.log(`- ${g.met ? 'met' : '**not met**'}: ${g.goal} — ${g.measured}`);
if (data.serverErrors?.length) {
  console.log('\nErrors the servers logged:');
  for (const e of data.serverErrors) console.log(`- ${e.server}: ${e.count} × ${e.message}`);
}
if (data.profile?.length) {
  console.log("\nThe one-instance server's CPU profile (`BENCH_PROFILE`, from its ready line to its stop), self time by origin, % of busy time:\n");
  console.log(profileTable(data.profile));
}
