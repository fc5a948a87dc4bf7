// Prints bench:mesh results files as the Markdown table of docs/benchmarks.md, the files side by
// side (e.g. this code and the code before, measured back to back):
// `npx tsx bench/mesh/markdown.ts bench/results/mesh.json [bench/results/mesh-before.json]`.
import fs from 'node:fs';

interface Timing {
  medianMs: number;
  p90Ms: number;
}

interface Results {
  provenance: { commit: string; startedAt: string };
  machine: { cpus: number; cpuModel: string; memoryGiB: number; os: string };
  node: string;
  git: string;
  rounds: number;
  /** The makima the server ran (BENCH_MESH_BIN). */
  bin: string;
  loadAverage: number[];
  goals: { remoteCheckpointUnder2xLocal: { met: boolean; remoteOverLocal: number }; secondClaimUnder1s: { met: boolean; medianMs: number } };
  rows: (Timing & { name: string; steps: Record<string, Timing> })[];
}

const files = process.argv.slice(2);
if (files.length === 0) files.push('bench/results/mesh.json');
const runs = files.map((file) => ({ file, data: JSON.parse(fs.readFileSync(file, 'utf8')) as Results }));
const ms = (t: Timing | undefined) => (t ? `${Math.round(t.medianMs)} ms (${Math.round(t.p90Ms)})` : '—');
const head = (r: (typeof runs)[number]) => `\`${r.file.replace(/^bench\/results\//, '')}\` (${r.data.provenance.commit.slice(0, 7)})`;

for (const { file, data } of runs) {
  console.log(
    `- \`${file}\`: bench at commit ${data.provenance.commit.slice(0, 7)}, server \`${data.bin}\`, ${data.provenance.startedAt.slice(0, 16).replace('T', ' ')} UTC, ` +
      `${data.machine.cpus} × ${data.machine.cpuModel}, ${data.machine.memoryGiB} GiB, ${data.machine.os}, Node ${data.node}, ${data.git}, ` +
      `${data.rounds} rounds, load average ${data.loadAverage.map((l) => l.toFixed(1)).join(' → ')}`,
  );
}
console.log(`\n| row | ${runs.map(head).join(' | ')} |`);
console.log(`|---|${runs.map(() => '---|').join('')}`);
for (const row of runs[0].data.rows) {
  const cells = runs.map((r) => r.data.rows.find((x) => x.name === row.name));
  console.log(`| ${row.name} | ${cells.map(ms).join(' | ')} |`);
  for (const step of Object.keys(row.steps)) {
    if (Object.keys(row.steps).length < 2) continue;
    console.log(`| &nbsp;&nbsp;step: ${step} | ${cells.map((c) => ms(c?.steps[step])).join(' | ')} |`);
  }
}
console.log('\nmedian (p90) of each row; a step is a part of the row above it.\n');
for (const r of runs) {
  const g = r.data.goals;
  console.log(
    `- ${head(r)}: remote checkpoint under 2× local — ${g.remoteCheckpointUnder2xLocal.met ? 'met' : 'not met'} (${g.remoteCheckpointUnder2xLocal.remoteOverLocal}×); ` +
      `second claim under 1 s — ${g.secondClaimUnder1s.met ? 'met' : 'not met'} (${Math.round(g.secondClaimUnder1s.medianMs)} ms)`,
  );
}
