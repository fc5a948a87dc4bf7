// Prints a bench:snapshots results file as the Markdown of docs/benchmarks.md's snapshots section:
// its provenance, the storage table, the fork/rewind table, the goal and how the costs grow ×10
// in messages. `npx tsx bench/snapshots/markdown.ts [bench/results/snapshots.json]`.
import { growth, markdownTable, msText, provenanceLine, readResults, type ResultsFile } from '../lib/markdown.js';
import { STORAGE_HEAD, storageRow, TIMING_HEAD, timingRow, type StorageFigures, type TimingFigures } from './tables.js';

interface Results extends ResultsFile {
  server: { node: string };
  settings: { messages: number; snapshotEvery: number; appendBatch: number; sizes: number[]; runs: number };
  storage: { makima: StorageFigures; origin: StorageFigures };
  timingsMs: TimingFigures[];
}

const file = process.argv[2] ?? 'bench/results/snapshots.json';
const r = readResults<Results>(file);
const s = r.settings;
console.log(provenanceLine(file, r, `makima on Node ${r.server.node}`, `median of ${s.runs} runs after a warm-up`) + '\n');

const { makima, origin } = r.storage;
console.log(
  markdownTable(STORAGE_HEAD, [makima, origin].map(storageRow)),
);
const total = (x: StorageFigures) => x.messagesOnDisk + x.snapshotsOnDisk;
console.log(
  `\nOne ${s.messages.toLocaleString('en-US')}-message conversation, a snapshot every ${s.snapshotEvery} messages (${makima.snapshots} snapshots). ` +
    `The origin's snapshots take ${(origin.snapshotsRowBytes / makima.snapshotsRowBytes).toFixed(0)}× makima's row bytes ` +
    `(${(origin.snapshotsOnDisk / makima.snapshotsOnDisk).toFixed(0)}× on disk); messages and snapshots together ${(total(origin) / total(makima)).toFixed(1)}× on disk.\n`,
);

const t = r.timingsMs;
console.log(
  markdownTable(TIMING_HEAD, t.map((x) => timingRow(x, msText))),
);
// Growth ×10 in messages: the two largest sizes of the run.
const [a, b] = t.slice(-2);
const columns = [
  ['rewindConversation', 'rewindConversation'],
  ['forkAtMessage', 'forkTask (messageId)'],
  ['forkAtCheckpoint', 'forkTask (checkpointId)'],
  ['firstPage', 'first page'],
  ['originCopy', "the origin's copy"],
] as const;
console.log(
  `\n**Growth, ×${b.messages / a.messages} messages** (${a.messages.toLocaleString('en-US')} → ${b.messages.toLocaleString('en-US')}, same run): ` +
    columns.map(([key, name]) => `${name} ${growth(a[key].median, b[key].median)}`).join(', ') +
    '. **Goal:** fork and rewind flat in the conversation\'s length (×1 within this machine\'s noise).',
);
