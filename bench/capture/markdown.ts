// Prints a bench:capture results file as the Markdown of docs/benchmarks.md's hook section: its
// provenance, one table per repository size, the goal, and how Stop's costs grow ×10 in files.
// `npx tsx bench/capture/markdown.ts [bench/results/capture.json]`.
import { growth, markdownTable, msText, provenanceLine, readResults, type ResultsFile } from '../lib/markdown.js';

interface Size {
  files: number;
  loadAverage: number[];
  rows: { name: string; p50Ms: number; p95Ms: number; overFloorP50Ms: number; overFloorP95Ms: number }[];
  stopSnapshotDone: { p50Ms: number; p95Ms: number };
}

interface Results extends ResultsFile {
  settings: { rounds: number; files: number[]; goalMs: number };
  goal: { met: boolean; worstOverFloorP95Ms: number };
  sizes: Size[];
}

const file = process.argv[2] ?? 'bench/results/capture.json';
const r = readResults<Results>(file);
console.log(provenanceLine(file, r, `${r.settings.rounds} rounds per repository size`));
const signed = (v: number) => (v < 0 ? `−${msText(-v, 0)}` : msText(v, 0));
for (const size of r.sizes) {
  console.log(`\nA repository of ${size.files.toLocaleString('en-US')} files (load average ${size.loadAverage.map((l) => l.toFixed(1)).join(' → ')}):\n`);
  console.log(
    markdownTable(
      ['event', 'p50', 'p95', 'p50 over the floor', 'p95 over the floor'],
      [
        ...size.rows.map((x, i) => [x.name, msText(x.p50Ms, 0), msText(x.p95Ms, 0), i === 0 ? '—' : signed(x.overFloorP50Ms), i === 0 ? '—' : signed(x.overFloorP95Ms)]),
        ["*Stop's snapshot done, from the hook's start (background)*", `*${msText(size.stopSnapshotDone.p50Ms, 0)}*`, `*${msText(size.stopSnapshotDone.p95Ms, 0)}*`, '', ''],
      ],
    ),
  );
}
console.log(
  `\n**Goal:** every hook event ≤ ${r.settings.goalMs} ms over the floor at p95 — ${r.goal.met ? 'met' : 'not met'} (worst ${msText(r.goal.worstOverFloorP95Ms, 0)}, both sizes).`,
);
const [a, b] = r.sizes;
if (a && b) {
  const stop = (s: Size) => s.rows[s.rows.length - 1];
  console.log(
    `\n**Growth, ×${b.files / a.files} files** (${a.files.toLocaleString('en-US')} → ${b.files.toLocaleString('en-US')}, same run): ` +
      `the Stop hook's p50 ${growth(stop(a).p50Ms, stop(b).p50Ms)} (${signed(stop(a).overFloorP50Ms)} → ${signed(stop(b).overFloorP50Ms)} over the floor), ` +
      `its snapshot in the background ${growth(a.stopSnapshotDone.p50Ms, b.stopSnapshotDone.p50Ms)} at p50.`,
  );
}
