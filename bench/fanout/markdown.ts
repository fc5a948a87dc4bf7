// Prints a bench:fanout results file as the Markdown table of docs/benchmarks.md, with the goals
// and the growth from 1,000 to 10,000 subscribers:
// `npx tsx bench/fanout/markdown.ts [bench/results/fanout.json]`.
import fs from 'node:fs';
import { profileTable } from '../lib/markdown.js';

interface Latency {
  p50: number;
  p99: number;
  max: number;
}

interface Row {
  scenario: string;
  subscribers?: number;
  connectSeconds?: number;
  label: string;
  measured: boolean;
  note?: string;
  writeRate?: number;
  expected?: number;
  delivered?: number;
  deliveriesPerSecond?: number;
  deliveryMs?: Latency;
  endToEndMs?: Latency;
  commitMs?: Latency;
  serverCpuMsPerDelivery?: number | null;
  errors?: string[];
}

/** Server CPU per delivery allowed, as a multiple of the bare graphql-ws floor's in the same shape. */
const CPU_OF_FLOOR = 1.5;

const file = process.argv[2] ?? 'bench/results/fanout.json';
const data = JSON.parse(fs.readFileSync(file, 'utf8')) as {
  date: string;
  machine: { cpus?: number; cpuModel?: string };
  loadAverage: { start: number[]; end: number[] };
  settings: { seconds: number; targetP99Ms: number };
  provenance?: { commit?: string; dirty?: boolean };
  /** With BENCH_PROFILE: makima's self time by origin. */
  profile?: { bucket: string; percent: number }[];
  results: Row[];
};
const target = data.settings.targetP99Ms;
const ms = (v: number | undefined, digits = 1) => (v === undefined ? '—' : `${v.toFixed(digits)} ms`);
const isFloor = (r: Row) => r.label.startsWith('bare graphql-ws');
const shapes = [...new Set(data.results.map((r) => r.scenario))];
const floorOf = (shape: string) => data.results.find((r) => r.scenario === shape && isFloor(r) && r.measured);
const makimaOf = (shape: string) => data.results.find((r) => r.scenario === shape && !isFloor(r));
const lost = (r: Row) => (r.expected ?? 0) - (r.delivered ?? 0);
const cpuRatio = (shape: string): number | undefined => {
  const floor = floorOf(shape)?.serverCpuMsPerDelivery;
  const m = makimaOf(shape)?.serverCpuMsPerDelivery;
  return floor && m ? m / floor : undefined;
};

console.log(
  `\`${file}\`${data.provenance?.commit ? `: commit ${data.provenance.commit.slice(0, 7)}${data.provenance.dirty ? ' (with uncommitted changes)' : ''}` : ''}, ` +
    `${data.date.slice(0, 16).replace('T', ' ')} UTC, ${data.settings.seconds} s of writing per shape and server, load average ${data.loadAverage.start.map((l) => l.toFixed(1)).join(' ')} at the start, ` +
    `${data.loadAverage.end.map((l) => l.toFixed(1)).join(' ')} at the end\n`,
);
console.log(
  '| subscribers | server | connect | written | delivered / expected | deliveries/s | delivery p50 | delivery p99 | delivery max | write call → receipt p99 | commit p99 | server CPU/delivery | of floor |',
);
console.log('|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
for (const shape of shapes) {
  for (const r of data.results.filter((x) => x.scenario === shape)) {
    const name = isFloor(r) ? 'bare graphql-ws floor' : 'makima';
    if (!r.measured) {
      console.log(`| ${shape} | ${name} | — | — | — | — | — | — | — | — | — | — | ${r.note ?? 'not measured'} |`);
      continue;
    }
    const ratio = isFloor(r) ? undefined : cpuRatio(shape);
    console.log(
      `| ${shape} | ${name} | ${r.connectSeconds ?? '—'} s | ${r.writeRate}/s | ${r.delivered} / ${r.expected} | ${r.deliveriesPerSecond} | ` +
        `${ms(r.deliveryMs?.p50)} | ${ms(r.deliveryMs?.p99)} | ${ms(r.deliveryMs?.max)} | ${ms(r.endToEndMs?.p99)} | ${ms(r.commitMs?.p99)} | ` +
        `${ms(r.serverCpuMsPerDelivery ?? undefined, 3)} | ${ratio === undefined ? '—' : `${ratio.toFixed(2)}×`} |`,
    );
  }
}

console.log(`\nGoals (makima): delivery p99 under ${target} ms, nothing lost, no subscriber closed, server CPU per delivery within ${CPU_OF_FLOOR}× the floor's:`);
for (const shape of shapes) {
  const m = makimaOf(shape);
  if (!m?.measured) {
    console.log(`- ${shape}: not measured (${m?.note ?? 'no makima row'})`);
    continue;
  }
  const ratio = cpuRatio(shape);
  const floor = floorOf(shape);
  const parts = [
    `${m.deliveryMs!.p99 < target ? 'met' : '**missed**'}: p99 ${ms(m.deliveryMs!.p99)}${floor ? ` (floor ${ms(floor.deliveryMs!.p99)})` : ''}`,
    `${lost(m) === 0 && !m.errors?.length ? 'met' : '**missed**'}: ${lost(m)} lost${m.errors?.length ? `, ${m.errors.length} errors` : ''}`,
    ratio === undefined ? 'CPU: no floor' : `${ratio <= CPU_OF_FLOOR ? 'met' : '**missed**'}: CPU ${ratio.toFixed(2)}× the floor`,
  ];
  console.log(`- ${shape}: ${parts.join('; ')}`);
}

// Growth: the same deliveries per second to ten times the subscribers (shapes of one run).
const pairs: [string, string][] = [
  ['1,000 users × 1 subscriber', '10,000 users × 1 subscriber'],
  ['100 users × 10 subscribers', '1,000 users × 10 subscribers'],
];
const growth = pairs.filter(([a, b]) => makimaOf(a)?.measured && makimaOf(b)?.measured);
if (growth.length) {
  console.log('\nGrowth, ×10 subscribers at the same 1,000 deliveries/s (makima; the floor in brackets):');
  for (const [a, b] of growth) {
    const [ma, mb, fa, fb] = [makimaOf(a)!, makimaOf(b)!, floorOf(a), floorOf(b)];
    const cpu = (x?: Row) => x?.serverCpuMsPerDelivery ?? undefined;
    const floorText = fa && fb ? ` (${ms(cpu(fa), 3)} → ${ms(cpu(fb), 3)}; p99 ${ms(fa.deliveryMs!.p99)} → ${ms(fb.deliveryMs!.p99)})` : '';
    console.log(
      `- ${a} → ${b}: server CPU/delivery ${ms(cpu(ma), 3)} → ${ms(cpu(mb), 3)}, delivery p99 ${ms(ma.deliveryMs!.p99)} → ${ms(mb.deliveryMs!.p99)}${floorText}`,
    );
  }
}

if (data.profile?.length) {
  console.log("\nmakima's CPU profile (`BENCH_PROFILE`, from its ready line to its stop), self time by origin, % of busy time:\n");
  console.log(profileTable(data.profile));
}
