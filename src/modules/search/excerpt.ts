// A search hit's excerpt: a piece of the original text with the spans that matched the query, as
// offsets — never markup, so the text stays exactly as written (path separators, `<`, `</b>`) and
// no client parses anything. PostgreSQL's ts_headline rewrites the text it cuts (its parser drops
// HTML-like tags and the as-written reading splits paths into words), so the excerpt is cut here:
// the words of the text are read with the same two configurations as the search vectors
// ('english' stemmed, 'simple' as written), and a word is marked when one of its lexemes is one of
// the query's (or starts with one of its sha prefixes).
import type { Prisma, PrismaClient } from '../../generated/prisma/client.js';

/** One matched span of an excerpt's text: UTF-16 code units (JavaScript string indices), `end` exclusive. */
export interface Highlight {
  start: number;
  end: number;
}

export interface Excerpt {
  /** A piece of the searched text, unchanged. */
  text: string;
  highlights: Highlight[];
  /** Whether the searched text goes on before and after `text` (show "…"). */
  truncatedBefore: boolean;
  truncatedAfter: boolean;
}

/** How much of a hit's text is read for its matches, in characters. */
export const MAX_SCANNED_CHARS = 100_000;
/** The longest excerpt, in characters. */
export const EXCERPT_CHARS = 240;
/** How much text comes before the first match in an excerpt, at most. */
const LEAD_CHARS = 60;

interface QueryTerm {
  lexeme: string;
  prefix: boolean;
}

/**
 * The lexemes a tsquery's text (`'parser' & !'lexer' | 'abc1234':*`) looks for, without those it
 * excludes (`!'x'`, `!( … )`): PostgreSQL writes each lexeme quoted, `''` for a quote and `\\`
 * for a backslash, followed by `:*` when it is a prefix.
 */
export function queryTerms(text: string): QueryTerm[] {
  const terms: QueryTerm[] = [];
  const negated: boolean[] = [false];
  let not = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '!') not = true;
    else if (c === '(') {
      negated.push(negated.at(-1)! || not);
      not = false;
    } else if (c === ')') negated.pop();
    else if (c === "'") {
      let lexeme = '';
      let j = i + 1;
      for (; j < text.length; j++) {
        if (text[j] === "'" && text[j + 1] === "'") lexeme += text[++j];
        else if (text[j] === '\\') lexeme += text[++j] ?? '';
        else if (text[j] === "'") break;
        else lexeme += text[j];
      }
      const weights = /^:[*A-D]+/.exec(text.slice(j + 1));
      i = j + (weights?.[0].length ?? 0);
      if (!not && !negated.at(-1)) terms.push({ lexeme, prefix: weights?.[0].includes('*') ?? false });
      not = false;
    }
  }
  return terms;
}

interface Word {
  start: number;
  end: number;
  lower: string;
}

/** The words of a text as PostgreSQL's parser splits them at every separator: runs of letters and digits. */
function wordsOf(text: string): Word[] {
  return [...text.matchAll(/[\p{L}\p{N}]+/gu)].map((m) => ({ start: m.index, end: m.index + m[0].length, lower: m[0].toLowerCase() }));
}

/**
 * Whether a word could stem to a lexeme: English stems keep a word's first letters, so only words
 * sharing a lexeme's first three are read by PostgreSQL (a long text holds few of them).
 */
function mayMatch(word: string, terms: QueryTerm[]): boolean {
  return terms.some((t) => (t.prefix ? word.startsWith(t.lexeme) : word.startsWith(t.lexeme.slice(0, 3))));
}

/** The lexemes of each word, in both configurations of the search vectors, in one query. */
async function lexemesOf(db: PrismaClient | Prisma.TransactionClient, words: string[]): Promise<Map<string, string[]>> {
  if (words.length === 0) return new Map();
  const rows = await db.$queryRaw<{ word: string; lexemes: string[] }[]>`
    SELECT w AS word, tsvector_to_array(to_tsvector('english'::regconfig, w)) || tsvector_to_array(to_tsvector('simple'::regconfig, w)) AS lexemes
      FROM unnest(${words}::text[]) AS w`;
  return new Map(rows.map((r) => [r.word, r.lexemes]));
}

/** The piece of `text` around its densest run of highlights, cut at spaces where it can be. */
function window(text: string, spans: Highlight[]): { start: number; end: number } {
  let anchor = 0;
  let best = -1;
  for (let i = 0; i < spans.length; i++) {
    const count = spans.filter((s) => s.start >= spans[i].start && s.end <= spans[i].start + EXCERPT_CHARS - LEAD_CHARS).length;
    if (count > best) [best, anchor] = [count, spans[i].start];
  }
  let start = Math.max(0, anchor - LEAD_CHARS);
  if (start > 0) {
    const space = text.slice(start, anchor).search(/\s/);
    if (space >= 0) start += space + 1;
  }
  let end = Math.min(text.length, start + EXCERPT_CHARS);
  if (end < text.length) {
    const lastSpace = text.slice(start, end).search(/\s\S*$/);
    if (lastSpace > EXCERPT_CHARS / 2) end = start + lastSpace;
  }
  // Never split a surrogate pair at either end (the text must stay well-formed).
  if (start > 0 && /[\udc00-\udfff]/.test(text[start])) start++;
  if (end < text.length && /[\ud800-\udbff]/.test(text[end - 1])) end--;
  return { start, end };
}

/**
 * The excerpt of each text for a tsquery (given as its text): the words matching the query are
 * the highlights, and the excerpt is the piece of the text where most of them are. A text may be
 * the start of a longer one (`fullLengths`): its first MAX_SCANNED_CHARS are read.
 */
export async function excerpts(db: PrismaClient | Prisma.TransactionClient, tsqueryText: string, texts: string[], fullLengths: number[] = texts.map((t) => t.length)): Promise<Excerpt[]> {
  const terms = queryTerms(tsqueryText);
  const lexemes = new Set(terms.filter((t) => !t.prefix).map((t) => t.lexeme));
  const prefixes = terms.filter((t) => t.prefix).map((t) => t.lexeme);
  const words = texts.map((text) => wordsOf(text.slice(0, MAX_SCANNED_CHARS)).filter((w) => mayMatch(w.lower, terms)));
  const known = await lexemesOf(db, [...new Set(words.flat().map((w) => w.lower))]);
  return texts.map((text, i) => {
    const spans = words[i]
      .filter((w) => prefixes.some((p) => w.lower.startsWith(p)) || (known.get(w.lower) ?? []).some((l) => lexemes.has(l)))
      .map((w) => ({ start: w.start, end: w.end }));
    const { start, end } = window(text, spans);
    return {
      text: text.slice(start, end),
      highlights: spans.filter((s) => s.start >= start && s.end <= end).map((s) => ({ start: s.start - start, end: s.end - start })),
      truncatedBefore: start > 0,
      truncatedAfter: end < fullLengths[i],
    };
  });
}

/** An excerpt as one string with `<mark>`…`</mark>` around each highlight: a convenience, ambiguous when the text holds `<mark>` itself. */
export function markedSnippet(excerpt: Excerpt, start: string, end: string): string {
  let out = '';
  let at = 0;
  for (const h of excerpt.highlights) {
    out += `${excerpt.text.slice(at, h.start)}${start}${excerpt.text.slice(h.start, h.end)}${end}`;
    at = h.end;
  }
  return out + excerpt.text.slice(at);
}
