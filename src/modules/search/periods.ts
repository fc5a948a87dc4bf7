// The period lexemes of the search vectors (migration 20261207010000_search_periods): block n of
// 8^level hours since 1970 is the lexeme '~<level>.<n>', and every message and task event holds
// the six blocks (levels 0–5) its created_at falls in. A window of hours is then a short OR of
// blocks, which the GIN index intersects with a query's words (service.ts, newestMatches).

export const LEVELS = 6;
const HOUR_MS = 3_600_000;

/** The hour `at` falls in, counted from 1970 (floor, also before it). */
export function hourOf(at: Date): number {
  return Math.floor(at.getTime() / HOUR_MS);
}

export function hourStart(hour: number): Date {
  return new Date(hour * HOUR_MS);
}

const mod8 = (n: number) => ((n % 8) + 8) % 8;

/**
 * The fewest blocks whose union is exactly the hours [from, to): at each level the ragged ends,
 * the aligned middle left to the level above (at most 14 blocks a level).
 */
export function blocks(from: number, to: number): string[] {
  const out: string[] = [];
  let a = from;
  let b = to;
  for (let level = 0; level < LEVELS && a < b; level++) {
    if (level === LEVELS - 1) {
      for (let n = a; n < b; n++) out.push(`~${level}.${n}`);
      break;
    }
    while (a < b && mod8(a) !== 0) out.push(`~${level}.${a++}`);
    while (a < b && mod8(b) !== 0) out.push(`~${level}.${--b}`);
    a /= 8;
    b /= 8;
  }
  return out;
}

/** The tsquery text (an OR of quoted lexemes) of the hours [from, to). */
export function windowQuery(from: number, to: number): string {
  return blocks(from, to).map((lexeme) => `'${lexeme}'`).join(' | ');
}
