// How commands speak: one-line errors, JSON for scripts, colour only on a terminal.
import pc from 'picocolors';

export class CliError extends Error {}

export const color = pc.createColors(Boolean(process.stdout.isTTY) && !process.env.NO_COLOR);

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function println(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** "12s ago", "5m ago", "3h ago", "2d ago", or the date for anything older than a month. */
export function relativeTime(iso: string, now = Date.now()): string {
  const then = new Date(iso).getTime();
  const s = Math.round((now - then) / 1000);
  if (s < 0) return 'just now';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  if (s < 30 * 86_400) return `${Math.floor(s / 86_400)}d ago`;
  return new Date(iso).toISOString().slice(0, 10);
}

/** A time for people: relative on a terminal, ISO 8601 otherwise (stable for logs and diffs). */
export function when(iso: string): string {
  return process.stdout.isTTY ? relativeTime(iso) : iso;
}

/** Prints rows as an aligned table (borderless, so it copies cleanly). */
export async function printTable(head: string[], rows: (string | number | null | undefined)[][]): Promise<void> {
  const { default: Table } = await import('cli-table3');
  const table = new Table({
    head: head.map((h) => color.bold(h)),
    chars: { top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ' },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
  for (const row of rows) table.push(row.map((c) => (c === null || c === undefined ? '' : String(c))));
  println(table.toString());
}

/** One line of at most `max` characters from any JSON value. */
export function summarize(value: unknown, max = 80): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  const line = (text ?? '').replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
