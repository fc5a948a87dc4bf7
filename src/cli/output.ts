// How commands speak: one-line errors, JSON for scripts, colour only on a terminal.
import pc from 'picocolors';

/**
 * The exit status of every command (docs/cli.md, "Errors and exit codes"): scripts branch on it, so each kind of
 * failure has its own and the numbers never change.
 */
export const ExitCode = {
  OK: 0,
  /** Anything else that went wrong: a git error, a failed task under `worker --once`, a port in use. */
  ERROR: 1,
  /** The command line is wrong: an unknown command or option, a bad value (also BAD_USER_INPUT). */
  USAGE: 2,
  /** What was named does not exist or is not the viewer's (NOT_FOUND). */
  NOT_FOUND: 3,
  /** The object is not in a state that allows it (CONFLICT): running, already pending, finished. */
  CONFLICT: 4,
  /** No server answered at the URL, or it did not answer as a GraphQL API. */
  UNREACHABLE: 5,
  /** No token, or a token the server refuses (UNAUTHENTICATED, FORBIDDEN). */
  UNAUTHORIZED: 6,
  /** A bug in makima: an unexpected exception (its stack is printed). */
  INTERNAL: 70,
} as const;

export type ExitKind = keyof typeof ExitCode;

/** An expected failure: one line for people (or a JSON object under --json) and its exit status. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly kind: ExitKind = 'ERROR',
  ) {
    super(message);
  }
}

/** The command line itself is wrong (exit 2). */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 'USAGE');
  }
}

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

/**
 * The width tables fit: `COLUMNS` when it is set, else the terminal's; output that is not a terminal
 * (a pipe, a file) is never cut, so `grep` and scripts see whole values, as with gh.
 */
export function outputWidth(): number {
  const columns = Number(process.env.COLUMNS);
  if (Number.isInteger(columns) && columns > 0) return columns;
  return process.stdout.isTTY && process.stdout.columns ? process.stdout.columns : Number.POSITIVE_INFINITY;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
const visible = (text: string) => text.replace(ANSI, '').length;
const GAP = 2;
/** No column is cut narrower than this (or than its heading). */
const MIN_COLUMN = 6;

/**
 * The widths of a table's columns so that its lines fit `width`: each column as wide as its widest
 * cell, then the widest column cut down, one character at a time, until the table fits or every
 * column is at its minimum.
 */
export function columnWidths(cells: string[][], width: number, keep: number[] = []): number[] {
  const widths = cells[0].map((_, i) => Math.max(...cells.map((row) => visible(row[i] ?? ''))));
  const floor = cells[0].map((h, i) => (keep.includes(i) ? widths[i] : Math.max(Math.min(MIN_COLUMN, visible(h)), 1)));
  const total = () => widths.reduce((a, b) => a + b, 0) + GAP * (widths.length - 1);
  while (total() > width) {
    let widest = -1;
    widths.forEach((w, i) => {
      if (w > floor[i] && (widest === -1 || w > widths[widest])) widest = i;
    });
    if (widest === -1) break;
    widths[widest] -= 1;
  }
  return widths;
}

/** `text` in at most `width` visible characters: cut with "…" (and its colour dropped) when longer. */
function fit(text: string, width: number): string {
  if (visible(text) <= width) return text;
  const plain = text.replace(ANSI, '');
  return `${plain.slice(0, Math.max(width - 1, 0))}…`;
}

/**
 * Prints rows as an aligned table (borderless, so it copies cleanly) that fits the output's width
 * (outputWidth): the widest columns are cut first, each cut cell ending in "…" — except the
 * columns in `keep` (IDs that a command's hint asks to copy), which are never cut.
 */
export async function printTable(head: string[], rows: (string | number | null | undefined)[][], options: { keep?: number[]; width?: number } = {}): Promise<void> {
  const cells = [head, ...rows.map((row) => row.map((c) => (c === null || c === undefined ? '' : String(c).replace(/\s*\n\s*/g, ' '))))];
  const widths = columnWidths(cells, options.width ?? outputWidth(), options.keep);
  cells.forEach((row, r) => {
    const line = row.map((cell, i) => {
      const shown = fit(cell, widths[i]);
      const text = r === 0 ? color.bold(shown) : shown;
      return i === row.length - 1 ? text : text + ' '.repeat(widths[i] - visible(shown) + GAP);
    });
    println(line.join('').trimEnd());
  });
}

/** One line of at most `max` characters from any JSON value. */
export function summarize(value: unknown, max = 80): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  const line = (text ?? '').replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
