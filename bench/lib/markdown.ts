// What the markdown.ts scripts of bench:snapshots, bench:cli, bench:capture and bench:install share:
// the line that says where a results file's figures come from (its provenance, provenance.ts), a
// Markdown table, and the growth ratio of a cost between two sizes of one run.
import fs from 'node:fs';
import type { Provenance } from './provenance.js';

export interface ResultsFile {
  /** Absent in files written before provenance.ts. */
  provenance?: Provenance;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; os: string; postgres?: string };
}

export function readResults<T extends ResultsFile>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

const load = (l: number[]) => l.map((x) => x.toFixed(1)).join(' ');
/** The load average an older file recorded by itself (its first and last one-minute figures), if any. */
const loadOf = (r: ResultsFile) => {
  const l = (r as { loadAverage?: unknown }).loadAverage;
  return Array.isArray(l) && l.every((x) => typeof x === 'number') ? `; load average ${l.map((x: number) => x.toFixed(1)).join(' → ')}` : '';
};

/** "`file`: commit abc1234, 2026-12-05 19:33 UTC, the machine; load average a → b" and what the caller adds. */
export function provenanceLine(file: string, r: ResultsFile, ...details: string[]): string {
  const p = r.provenance;
  const m = r.machine;
  if (!p) return `\`${file}\`: an earlier run, from before results files recorded their provenance; ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.os}${details.map((d) => `; ${d}`).join('')}${loadOf(r)}.`;
  return (
    `\`${file}\`: commit ${p.commit?.slice(0, 7) ?? '?'}${p.dirty ? ` (with uncommitted changes to ${p.changedFiles.join(', ')})` : ''}, ` +
    `${p.startedAt.slice(0, 16).replace('T', ' ')} UTC, ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.os}` +
    (m.postgres ? `, PostgreSQL ${m.postgres.split(' ')[0]}` : '') +
    `, Node ${p.node}` +
    [...details, ...Object.entries(p.env).map(([k, v]) => `\`${k}=${v}\``)].map((d) => `; ${d}`).join('') +
    `; load average ${load(p.loadAverage.start)} → ${load(p.loadAverage.end)}.`
  );
}

/** A Markdown table; `right` marks the columns aligned right (figures). */
export function markdownTable(head: string[], rows: (string | number)[][], right: boolean[] = head.map((_, i) => i > 0)): string {
  return [`| ${head.join(' | ')} |`, `|${right.map((r) => (r ? '--:|' : '---|')).join('')}`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

/** A server's CPU profile as bench/lib/profile.ts buckets it: its largest buckets, % of busy time. */
export function profileTable(profile: { bucket: string; percent: number }[]): string {
  return markdownTable(['origin', '%'], profile.slice(0, 12).map((b) => [b.bucket, b.percent.toFixed(1)]));
}

/** "×2.3" — how many times `small` the cost at the larger size is. */
export function growth(small: number, large: number): string {
  return `×${(large / small).toFixed(large / small < 10 ? 1 : 0)}`;
}

export const msText = (v: number, digits = 1) => `${v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })} ms`;
