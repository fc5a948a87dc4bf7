// Prints a bench:timeline results file as the Markdown of docs/benchmarks.md's timeline section:
// where and how it ran (its provenance), the table, and the CPU profiles' largest buckets side by
// side. `npx tsx bench/timeline/markdown.ts [bench/results/timeline.json]`.
import fs from 'node:fs';

interface Results {
  provenance: { commit: string | null; dirty: boolean; startedAt: string; loadAverage: { start: number[]; end: number[] } };
  machine: { cpus: number; cpuModel: string; memoryGiB: number; os: string; postgres?: string };
  settings: { seconds: number; rounds: number; warmupSeconds: number; connections: number; pageSize: number; makima?: Record<string, string> };
  data: { historyEvents: number; growthHistoryEvents?: number };
  growth?: { from: number; to: number; clients: { client: string; rps: number; cpuMsPerRequest: number | null }[] };
  profiles?: Record<string, { bucket: string; percent: number }[]>;
  results: {
    read: string;
    client: string;
    rps: number;
    p50Ms: number;
    p99Ms: number;
    failures: number;
    ratioToPostGraphile: number | null;
    serverCpuMsPerRequest: number | null;
    responseBytes?: number | null;
  }[];
}

const file = process.argv[2] ?? 'bench/results/timeline.json';
const r = JSON.parse(fs.readFileSync(file, 'utf8')) as Results;
const p = r.provenance;
const load = (l: number[]) => l.map((x) => x.toFixed(1)).join(' ');
const client = (label: string) => label.replace(/\(Node v/, '(Node ');

console.log(
  `\`${file}\`: commit ${p.commit?.slice(0, 7) ?? '?'}${p.dirty ? ' (with uncommitted changes)' : ''}, ${p.startedAt.slice(0, 16).replace('T', ' ')} UTC, ` +
    `${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memoryGiB} GiB, ${r.machine.os}; ${r.data.historyEvents.toLocaleString('en')} history events; ` +
    `${r.settings.connections} connections, ${r.settings.seconds} s per client and read in ${r.settings.rounds} interleaved rounds after a ${r.settings.warmupSeconds} s warm-up; ` +
    `load average ${load(p.loadAverage.start)} → ${load(p.loadAverage.end)}` +
    (r.settings.makima ? `; makima with ${Object.entries(r.settings.makima).map(([k, v]) => `\`${k}=${v}\``).join(', ')}` : '') +
    '.\n',
);
console.log('| read | client | req/s | p50 | p99 | vs PostGraphile | server CPU/req | response |');
console.log('|---|---|--:|--:|--:|--:|--:|--:|');
for (const x of r.results) {
  const cells = [
    x.read,
    client(x.client),
    String(x.rps),
    `${x.p50Ms.toFixed(1)} ms`,
    `${x.p99Ms.toFixed(1)} ms`,
    x.ratioToPostGraphile === null ? '—' : `${x.ratioToPostGraphile.toFixed(2)}×`,
    x.serverCpuMsPerRequest === null ? '—' : `${x.serverCpuMsPerRequest.toFixed(2)} ms`,
    x.responseBytes == null ? '—' : `${x.responseBytes.toLocaleString('en')} B`,
  ];
  console.log(`| ${cells.join(' | ')} |${x.failures ? ` ${x.failures} failed` : ''}`);
}

if (r.growth) {
  const g = r.growth;
  console.log(
    `\nGrowth with ×10 data (${g.from.toLocaleString('en')} → ${g.to.toLocaleString('en')} history events, both read in the same rounds; geometric mean of the three reads): ` +
      g.clients.map((c) => `${client(c.client)} req/s ×${c.rps.toFixed(2)}, CPU/req ×${c.cpuMsPerRequest?.toFixed(2) ?? '—'}`).join('; ') +
      '.',
  );
}

if (r.profiles) {
  const servers = Object.keys(r.profiles);
  const depth = 12;
  console.log(`\nSelf time by origin, % of busy time (from ready to stop, all reads):\n`);
  console.log(`| ${servers.map((s) => `${client(s)} | `).join('| ')}|`);
  console.log(`|${servers.map(() => '---|--:|').join('')}`);
  for (let i = 0; i < depth; i++) {
    const cells = servers.flatMap((s) => {
      const b = r.profiles![s][i];
      return b ? [b.bucket, b.percent.toFixed(1)] : ['', ''];
    });
    if (cells.every((c) => c === '')) break;
    console.log(`| ${cells.join(' | ')} |`);
  }
}
