// Times on the command line (`--since`, `--until`): ISO 8601 as the API takes it, or how long ago —
// `90s`, `30m`, `2h`, `3d`, `1w` — as `gh` and `git log --since` users type them.
import { InvalidArgumentError } from 'commander';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };
const AGO = /^(\d+)\s*([smhdw])$/i;
/** What the API's DateTime takes: a date, or a date and time with a zone (Z or ±hh:mm). */
const ISO = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))?$/i;

/** The ISO 8601 time that `value` names, `now` being the present; throws for anything else. */
export function parseTime(value: string, now = Date.now()): string {
  const text = value.trim();
  const ago = AGO.exec(text);
  if (ago) return new Date(now - Number(ago[1]) * UNIT_MS[ago[2].toLowerCase()]).toISOString();
  if (ISO.test(text) && !Number.isNaN(Date.parse(text))) return new Date(text).toISOString();
  throw new InvalidArgumentError('expected an ISO 8601 time (2026-03-01, 2026-03-01T12:00:00Z) or how long ago: 90s, 30m, 2h, 3d, 1w');
}

/** The commander parser of a time option. */
export function timeOption(value: string): string {
  return parseTime(value);
}
