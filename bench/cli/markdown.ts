// Prints bench:cli results files as the Markdown of docs/benchmarks.md's CLI section: each file's
// provenance and table, and the goal. `npx tsx bench/cli/markdown.ts [bench/results/cli.json …]`.
import { markdownTable, msText, provenanceLine, readResults, type ResultsFile } from '../lib/markdown.js';

interface Results extends ResultsFile {
  bin: string;
  rounds: number;
  loadAverage: number[];
  rows: { name: string; medianMs: number; p90Ms: number; timesFloor: number }[];
}

const GOAL = 3;
const files = process.argv.length > 2 ? process.argv.slice(2) : ['bench/results/cli.json'];
for (const file of files) {
  const r = readResults<Results>(file);
  console.log(provenanceLine(file, r, `\`makima\` = \`${r.bin}\``, `${r.rounds} rounds, medians and p90s`) + '\n');
  console.log(
    markdownTable(
      ['command', 'median', 'p90', '× floor'],
      r.rows.map((x) => [x.name, msText(x.medianMs, 0), msText(x.p90Ms, 0), x.name === 'makima task list' ? `**${x.timesFloor.toFixed(2)}**` : x.timesFloor.toFixed(2)]),
    ),
  );
  const goal = r.rows.find((x) => x.name === 'makima task list')!;
  console.log(`\n**Goal:** \`makima task list\` ≤ ${GOAL}× the floor — ${goal.timesFloor <= GOAL ? 'met' : 'not met'} (${goal.timesFloor.toFixed(2)}×).\n`);
}
console.log('**Growth:** does not apply — a command prints one page of results, whatever the data; what it costs is starting a process.');
