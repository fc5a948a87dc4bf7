// Printing a benchmark's table and writing its figures to bench/results/<name>.json, together with
// the machine they came from and what they measured (provenance.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Table from 'cli-table3';
import { REPO_ROOT } from './children.js';
import { provenance } from './provenance.js';

export const RESULTS_DIR = path.join(REPO_ROOT, 'bench/results');

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  os: string;
  benchNode: string;
  postgres?: string;
}

export function machine(postgres?: string): Machine {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    benchNode: process.version,
    postgres,
  };
}

export function describeMachine(m: Machine): string {
  return `${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.os}; bench driver on Node ${m.benchNode}` + (m.postgres ? `; PostgreSQL ${m.postgres}` : '');
}

export type Cell = string | number;

export interface TableSpec {
  title: string;
  head: string[];
  rows: Cell[][];
}

export function printTable(spec: TableSpec): void {
  const table = new Table({
    head: spec.head,
    style: { head: [], border: [] },
    // No rule between body rows: the tables stay as tall as their data.
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  for (const row of spec.rows) table.push(row.map(String));
  console.log(`\n${spec.title}`);
  console.log(table.toString());
}

/** Writes the figures, with their provenance, atomically (a partial file never replaces the last good one). */
export function writeResults(name: string, results: Record<string, unknown>): string {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${name}.json`);
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ provenance: provenance(), ...results }, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n');
  fs.renameSync(tmp, file);
  return path.relative(process.cwd(), file);
}

export function ms(value: number, digits = 1): string {
  return `${value.toFixed(digits)} ms`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** The p-th percentile (0–100) of unsorted samples, nearest-rank. */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export function median(samples: number[]): number {
  return percentile(samples, 50);
}
