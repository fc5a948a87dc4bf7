// How commands speak: one-line errors, JSON for scripts, colour only on a terminal.
import pc from 'picocolors';

/**
 * The exit status of every command (README "Exit codes"): scripts branch on it, so each kind of
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
