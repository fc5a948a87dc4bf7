// Prints a bench:search results file as the tables of docs/benchmarks.md ("Search speed"):
// `npx tsx bench/search/markdown.ts [bench/results/search.json]`.
import fs from 'node:fs';

interface Stat {
  p50: number;
  p99: number;
}
interface Result {
  name: string;
  query: string;
  matchingRows: number;
  makima: Stat;
  ilike: Stat;
  grep: Stat;
  /** With BENCH_SEARCH_TRY_CREATED_AT=1: the same query with a b-tree index on created_at. */
  withCreatedAtIndex?: Stat & { samePage: boolean };
}
interface Run {
  rows: { messages: number; taskEvents: number };
  inserts: {
    rows: number;
    withSearchIndexes: { messagesMsPerRow: number; eventsMsPerRow: number };
    withoutSearchIndexes: { messagesMsPerRow: number; eventsMsPerRow: number };
  };
  results: Result[];
}

const file = process.argv[2] ?? 'bench/results/search.json';
const data = JSON.parse(fs.readFileSync(file, 'utf8')) as {
  date: string;
  goal: { p99Ms: number };
  loadAverage: { start: number[]; end: number[] };
  provenance?: { commit: string | null; dirty: boolean };
  settings: { runs: number; baselineRuns: number };
  growth: { from: number; to: number; queries: { name: string; p50: number; p99: number }[] }[];
  runs: Run[];
};
const ms = (v: number) => (v < 10 ? `${v.toFixed(1)} ms` : `${Math.round(v).toLocaleString('en-US')} ms`);
const n = (v: number) => v.toLocaleString('en-US');
const load = (l: number[]) => l.map((x) => x.toFixed(1)).join(' ');
console.log(
  `${file}: ${data.date}, commit ${data.provenance?.commit?.slice(0, 10) ?? '?'}${data.provenance?.dirty ? ' (with changes)' : ''}, ` +
    `${data.settings.runs} runs a query (baselines ${data.settings.baselineRuns}), load average ${load(data.loadAverage.start)} at start, ${load(data.loadAverage.end)} at end\n`,
);
const sizes = data.runs.map((r) => r.rows.messages);
console.log(`| query | ${sizes.map((s) => `${n(s)} + ${n(s)}: matching rows | makima p50 / p99 | ILIKE p50 | grep p50`).join(' | ')} | p99 < ${data.goal.p99Ms} ms |`);
console.log(`|---|${sizes.map(() => '--:|--:|--:|--:|').join('')}:-:|`);
data.runs[0].results.forEach((first, i) => {
  const cells = data.runs.map((run) => {
    const r = run.results[i];
    return `${n(r.matchingRows)} | ${ms(r.makima.p50)} / ${ms(r.makima.p99)} | ${ms(r.ilike.p50)} | ${ms(r.grep.p50)}`;
  });
  const met = data.runs.every((run) => run.results[i].makima.p99 < data.goal.p99Ms);
  console.log(`| ${first.name}: \`${first.query}\` | ${cells.join(' | ')} | ${met ? 'yes' : 'no'} |`);
});
for (const g of data.growth) {
  console.log(`\nGrowth ×${g.to / g.from} data (${n(g.from)} → ${n(g.to)} each): ${g.queries.map((q) => `${q.name} p50 ×${q.p50.toFixed(1)}, p99 ×${q.p99.toFixed(1)}`).join('; ')}.`);
}
const us = (v: number) => `${Math.round(v * 1000)} µs`;
console.log('\n| size | rows a batch | message insert per row: with search indexes / without | event insert per row: with / without |');
console.log('|--:|--:|--:|--:|');
for (const run of data.runs) {
  const { rows, withSearchIndexes: w, withoutSearchIndexes: wo } = run.inserts;
  console.log(`| ${n(run.rows.messages)} + ${n(run.rows.taskEvents)} | ${n(rows)} | ${us(w.messagesMsPerRow)} / ${us(wo.messagesMsPerRow)} | ${us(w.eventsMsPerRow)} / ${us(wo.eventsMsPerRow)} |`);
}
if (data.runs.some((run) => run.results.some((r) => r.withCreatedAtIndex))) {
  console.log('\nThe experiment (`BENCH_SEARCH_TRY_CREATED_AT=1`): the same queries, in the same database, with a b-tree index on `created_at` of both tables:\n');
  console.log('| size | query | makima p50 / p99 | with the `created_at` index p50 / p99 | same first page |');
  console.log('|--:|---|--:|--:|:-:|');
  for (const run of data.runs) {
    for (const r of run.results) {
      const w = r.withCreatedAtIndex;
      if (w) console.log(`| ${n(run.rows.messages)} + ${n(run.rows.taskEvents)} | ${r.name}: \`${r.query}\` | ${ms(r.makima.p50)} / ${ms(r.makima.p99)} | ${ms(w.p50)} / ${ms(w.p99)} | ${w.samePage ? 'yes' : 'no'} |`);
    }
  }
}
