// Prints a bench:install results file as the Markdown of docs/benchmarks.md's install section:
// its provenance, the table and the goal. `npx tsx bench/install/markdown.ts [bench/results/install.json]`.
import { markdownTable, provenanceLine, readResults, type ResultsFile } from '../lib/markdown.js';

interface Results extends ResultsFile {
  node: string;
  npm: string;
  before: string;
  goal: { productionUnder300MB: boolean; noEngineWarning: boolean };
  rows: { name: string; bytes: number; packages: number; seconds: number; engineWarnings: number; warnedPackages: string[] }[];
}

const file = process.argv[2] ?? 'bench/results/install.json';
const r = readResults<Results>(file);
const mb = (n: number) => `${(n / 1e6).toFixed(0)} MB`;
console.log(provenanceLine(file, r, `npm ${r.npm}`, 'times are the machine\'s (sizes and counts do not depend on load)') + '\n');
console.log(
  markdownTable(
    ['install', 'node_modules', 'packages', 'time', 'EBADENGINE lines', 'packages warned about'],
    r.rows.map((x, i) => [
      x.name,
      i === 0 ? `**${mb(x.bytes)}**` : mb(x.bytes),
      x.packages,
      `${x.seconds.toFixed(1)} s`,
      i === 0 ? `**${x.engineWarnings}**` : x.engineWarnings,
      x.warnedPackages.map((p) => `\`${p}\``).join(', ') || '—',
    ]),
    [false, true, true, true, true, false],
  ),
);
const now = r.rows[0];
console.log(
  `\n**Goal:** a production install under 300 MB — ${r.goal.productionUnder300MB ? 'met' : 'not met'} (${mb(now.bytes)}); ` +
    `no engine warning on this Node (${r.node}) — ${r.goal.noEngineWarning ? 'met' : 'not met'} (${now.engineWarnings}).`,
);
console.log('\n**Growth:** does not apply — an install weighs what the lockfile lists, whatever the data or the number of users.');
