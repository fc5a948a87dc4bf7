// bench:search — Query.search's service (the same SQL the API runs, in-process: no HTTP) over
// each of BENCH_SEARCH_SIZES (default 100,000 and 1,000,000) messages and as many task events, each
// size in a database of its own, next to what a user has without it, in the same run: a sequential
// ILIKE scan of the same rows, and grep over the same text exported as JSONL files (one per task, as
// ~/.claude/projects keeps them). Each makima query runs BENCH_SEARCH_RUNS times (default 50) after a
// warm-up; each baseline BENCH_SEARCH_BASELINE_RUNS (5). Then the growth from one size to the next
// (p50/p99 per query), and what the search index costs a write: a batch of BENCH_SEARCH_INSERT_ROWS
// (1,000) messages and as many events through the insert functions, with the search indexes and
// without them (dropped inside the same rolled-back transaction), BENCH_SEARCH_INSERT_RUNS (5) times.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { ServiceContext } from '../../src/context.js';
import { openDatabase } from '../../src/db/database.js';
import { asWritten, search, type SearchFilter } from '../../src/modules/search/service.js';
import { createBenchDatabase } from '../lib/postgres.js';
import { bytes, describeMachine, machine, median, ms, percentile, printTable, writeResults } from '../lib/report.js';
import { runBench } from '../lib/run.js';
import { generateSearchData } from './generate.js';

const SIZES = (process.env.BENCH_SEARCH_SIZES ?? process.env.BENCH_SEARCH_ROWS ?? '100000,1000000').split(',').map(Number);
const RUNS = Number(process.env.BENCH_SEARCH_RUNS ?? 50);
const BASELINE_RUNS = Number(process.env.BENCH_SEARCH_BASELINE_RUNS ?? 5);
const INSERT_ROWS = Number(process.env.BENCH_SEARCH_INSERT_ROWS ?? 1000);
const INSERT_RUNS = Number(process.env.BENCH_SEARCH_INSERT_RUNS ?? 5);
const GOAL_P99_MS = 50;
/**
 * BENCH_SEARCH_TRY_CREATED_AT=1: after the cases, the same queries again with a b-tree index on
 * created_at of both tables (made, analyzed, and dropped in the same database), so that the planner
 * may walk the newest rows backwards instead of reading every match: an experiment measured side by
 * side, not what makima's migrations create (docs/benchmarks.md, "Search speed").
 */
const TRY_CREATED_AT = process.env.BENCH_SEARCH_TRY_CREATED_AT === '1';
/** BENCH_SEARCH_OUT: the results file's name (default `search`). */
const OUT = process.env.BENCH_SEARCH_OUT || 'search';

interface Case {
  name: string;
  query: string;
  /** The text a person would give ILIKE or grep for the same question. */
  literal: string;
  filter?: SearchFilter;
}

function timeIt(fn: () => unknown): Promise<number> {
  const t = performance.now();
  return Promise.resolve(fn()).then(() => performance.now() - t);
}

async function samples(runs: number, fn: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) out.push(await timeIt(fn));
  return out;
}

const ILIKE_SQL = `
  SELECT id, created_at FROM (
    SELECT m.id, m.created_at FROM conversation_messages m JOIN tasks t ON t.id = m.task_id
     WHERE t.owner_id = $1 AND ($3::uuid IS NULL OR m.task_id = $3) AND (m.content::text ILIKE $2 OR coalesce(m.tool_calls::text, '') ILIKE $2)
    UNION ALL
    SELECT e.id, e.created_at FROM task_events e JOIN tasks t ON t.id = e.task_id
     WHERE t.owner_id = $1 AND ($3::uuid IS NULL OR e.task_id = $3) AND e.data::text ILIKE $2
  ) x ORDER BY created_at DESC LIMIT 20`;

/** The viewer's messages and events as JSONL files, one per task; returns the directory and its size. */
async function exportJsonl(client: pg.Client, ownerId: string, dir: string): Promise<number> {
  const tasks = (await client.query<{ id: string }>('SELECT id FROM tasks WHERE owner_id = $1', [ownerId])).rows;
  let size = 0;
  for (const { id } of tasks) {
    const messages = await client.query<{ line: string }>(
      `SELECT json_build_object('type', role, 'uuid', id, 'timestamp', created_at, 'message', json_build_object('content', content, 'tool_calls', tool_calls))::text AS line
         FROM conversation_messages WHERE task_id = $1 ORDER BY created_at`,
      [id],
    );
    const events = await client.query<{ line: string }>(
      `SELECT json_build_object('type', type, 'uuid', id, 'timestamp', created_at, 'data', data)::text AS line FROM task_events WHERE task_id = $1 ORDER BY seq`,
      [id],
    );
    const text = [...messages.rows, ...events.rows].map((r) => r.line).join('\n') + '\n';
    fs.writeFileSync(path.join(dir, `${id}.jsonl`), text);
    size += Buffer.byteLength(text);
  }
  return size;
}

/**
 * Milliseconds per row of a batch of INSERT_ROWS messages (makima_insert_messages) and as many
 * events (makima_record_task_events) written into one of the viewer's tasks, the median of
 * INSERT_RUNS batches, each rolled back — with the search indexes, and without them (dropped
 * inside the batch's transaction, so for it alone).
 */
async function insertCost(client: pg.Client, ownerId: string, taskId: string) {
  const sample = async (sql: string) => (await client.query<{ batch: unknown }>(sql, [INSERT_ROWS])).rows[0].batch;
  const messages = await sample(`SELECT jsonb_agg(jsonb_build_object('role', role, 'content', content, 'toolCalls', tool_calls)) AS batch FROM (SELECT * FROM conversation_messages LIMIT $1) s`);
  const events = await sample(`SELECT jsonb_agg(jsonb_build_object('type', type, 'data', data)) AS batch FROM (SELECT * FROM task_events LIMIT $1) s`);
  const batch = async (withIndexes: boolean) => {
    const out = { messages: [] as number[], events: [] as number[] };
    for (let i = 0; i < INSERT_RUNS; i++) {
      await client.query('BEGIN');
      try {
        if (!withIndexes) await client.query('DROP INDEX conversation_messages_search_vector_idx, task_events_search_vector_idx');
        let t = performance.now();
        await client.query(
          `SELECT makima_insert_messages($1, (SELECT array_agg(gen_random_uuid()) FROM generate_series(1, $3)), array_fill(NULL::uuid, ARRAY[$3::int]), $2)`,
          [taskId, JSON.stringify(messages), INSERT_ROWS],
        );
        out.messages.push((performance.now() - t) / INSERT_ROWS);
        t = performance.now();
        const res = await client.query<{ r: { refer?: string } }>('SELECT makima_record_task_events($1, $2, NULL, $3) AS r', [taskId, ownerId, JSON.stringify(events)]);
        if (res.rows[0].r.refer) throw new Error(`makima_record_task_events refused the batch: ${res.rows[0].r.refer}`);
        out.events.push((performance.now() - t) / INSERT_ROWS);
      } finally {
        await client.query('ROLLBACK');
      }
    }
    return { messagesMsPerRow: median(out.messages), eventsMsPerRow: median(out.events) };
  };
  return { rows: INSERT_ROWS, runs: INSERT_RUNS, withSearchIndexes: await batch(true), withoutSearchIndexes: await batch(false) };
}

async function measureSize(rows: number) {
  const db = await createBenchDatabase('search');
  console.log(`bench:search — database ${db.name} on PostgreSQL ${db.serverVersion}`);
  console.log(`generating ${rows.toLocaleString('en-US')} messages and ${rows.toLocaleString('en-US')} task events …`);
  const t0 = performance.now();
  const { users, timings } = await generateSearchData(db.url, rows);
  const generateSeconds = (performance.now() - t0) / 1000;
  const viewer = users[0];
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  const app = await openDatabase({ databaseUrl: db.url, dataDir: '' });
  const ctx = { prisma: app.prisma, viewer: { id: viewer.id, name: viewer.name } } as unknown as ServiceContext;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'makima-bench-search-'));
  try {
    const someTask = (await client.query<{ id: string }>('SELECT id FROM tasks WHERE owner_id = $1 ORDER BY name LIMIT 1', [viewer.id])).rows[0].id;
    const cases: Case[] = [
      { name: 'a specific word', query: 'kalomir', literal: 'kalomir' },
      { name: 'a frequent word', query: 'deadlock', literal: 'deadlock' },
      { name: 'a very common word', query: 'error', literal: 'error' },
      { name: 'a phrase', query: '"merge conflict"', literal: 'merge conflict' },
      { name: 'an identifier', query: 'parseExpression', literal: 'parseExpression' },
      { name: 'a path', query: 'src/db/migrate.ts', literal: 'src/db/migrate.ts' },
      { name: 'a shell command', query: '"rm -rf build"', literal: 'rm -rf build' },
      { name: 'filtered: one task, messages', query: 'retry', literal: 'retry', filter: { taskId: someTask, kinds: ['MESSAGE'] } },
    ];
    /** A case's first page, then RUNS timings of it after a warm-up of three. */
    const timeSearch = async (c: Case) => {
      const run = () => search(ctx, { query: c.query, filter: c.filter, first: 20 });
      const first = await run();
      for (let i = 0; i < 3; i++) await run();
      return { first, times: await samples(RUNS, run) };
    };
    console.log(`exporting the viewer's rows as JSONL for grep …`);
    const exported = await exportJsonl(client, viewer.id, dir);
    const sizes = (
      await client.query<{ name: string; size: string }>(
        `SELECT c.relname AS name, pg_total_relation_size(c.oid)::text AS size FROM pg_class c
          WHERE c.relname IN ('conversation_messages', 'task_events', 'conversation_messages_search_vector_idx', 'task_events_search_vector_idx')`,
      )
    ).rows.map((r) => ({ name: r.name, bytes: Number(r.size) }));

    const results = [];
    for (const c of cases) {
      const matching = Number(
        (
          await client.query<{ n: string }>(
            `SELECT (SELECT count(*) FROM conversation_messages m JOIN tasks t ON t.id = m.task_id WHERE t.owner_id = $1 AND m.search_vector @@ q.tsq)
                  + (SELECT count(*) FROM task_events e JOIN tasks t ON t.id = e.task_id WHERE t.owner_id = $1 AND e.search_vector @@ q.tsq) AS n
               FROM (SELECT websearch_to_tsquery('english', $2) || websearch_to_tsquery('simple', $3) AS tsq) q`,
            [viewer.id, c.query, asWritten(c.query)],
          )
        ).rows[0].n,
      );
      const { first, times: makima } = await timeSearch(c);
      const pattern = `%${c.literal.replace(/[%_\\]/g, (x) => `\\${x}`)}%`;
      const ilikeRows = (await client.query(ILIKE_SQL, [viewer.id, pattern, c.filter?.taskId ?? null])).rowCount;
      const ilike = await samples(BASELINE_RUNS, () => client.query(ILIKE_SQL, [viewer.id, pattern, c.filter?.taskId ?? null]));
      const target = c.filter?.taskId ? path.join(dir, `${c.filter.taskId}.jsonl`) : dir;
      const grepOnce = () => spawnSync('grep', ['-r', '-i', '-F', '-c', '--', c.literal, target], { maxBuffer: 64 * 1024 * 1024 });
      const grep = await samples(BASELINE_RUNS, async () => grepOnce());
      results.push({
        name: c.name,
        query: c.query,
        filter: c.filter ?? null,
        hitsOnFirstPage: first.hits.length,
        firstPage: first.hits.map((h) => h.id),
        matchingRows: matching,
        makima: { p50: percentile(makima, 50), p99: percentile(makima, 99), runs: RUNS },
        ilike: { p50: percentile(ilike, 50), p99: percentile(ilike, 99), runs: BASELINE_RUNS, rowsOnFirstPage: ilikeRows },
        grep: { p50: percentile(grep, 50), p99: percentile(grep, 99), runs: BASELINE_RUNS },
      });
      console.log(`  ${c.name} (${matching} matching rows): makima p50 ${ms(percentile(makima, 50))} p99 ${ms(percentile(makima, 99))}; ILIKE p50 ${ms(percentile(ilike, 50))}; grep p50 ${ms(percentile(grep, 50))}`);
    }
    if (TRY_CREATED_AT) {
      console.log('the same queries with a b-tree index on created_at of both tables …');
      await client.query('CREATE INDEX bench_messages_created_at ON conversation_messages (created_at)');
      await client.query('CREATE INDEX bench_task_events_created_at ON task_events (created_at)');
      await client.query('ANALYZE conversation_messages');
      await client.query('ANALYZE task_events');
      for (const [i, c] of cases.entries()) {
        const { first, times: t } = await timeSearch(c);
        const samePage = first.hits.map((h) => h.id).join() === results[i].firstPage.join();
        Object.assign(results[i], { withCreatedAtIndex: { p50: percentile(t, 50), p99: percentile(t, 99), runs: RUNS, samePage } });
        console.log(`  ${c.name}: p50 ${ms(percentile(t, 50))} p99 ${ms(percentile(t, 99))} (without: p50 ${ms(results[i].makima.p50)}); same first page: ${samePage}`);
      }
      await client.query('DROP INDEX bench_messages_created_at');
      await client.query('DROP INDEX bench_task_events_created_at');
      await client.query('ANALYZE conversation_messages');
      await client.query('ANALYZE task_events');
    }
    const inserts = await insertCost(client, viewer.id, someTask);
    const m = machine(db.serverVersion);
    printTable({
      title: `bench:search — ${rows.toLocaleString('en-US')} messages + ${rows.toLocaleString('en-US')} task events (viewer: 1/4 of them); ${describeMachine(m)}`,
      head: ['query', "viewer's matching rows", 'makima p50', 'makima p99', 'ILIKE scan p50', 'grep JSONL p50', `p99 < ${GOAL_P99_MS} ms`],
      rows: results.map((r) => [`${r.name}: ${r.query}`, r.matchingRows.toLocaleString('en-US'), ms(r.makima.p50), ms(r.makima.p99), ms(r.ilike.p50, 0), ms(r.grep.p50, 0), r.makima.p99 < GOAL_P99_MS ? 'yes' : 'no']),
    });
    const perRow = (x: number) => `${(x * 1000).toFixed(0)} µs`;
    console.log(
      `insert cost per row (batches of ${INSERT_ROWS}): messages ${perRow(inserts.withSearchIndexes.messagesMsPerRow)} (without the search indexes ${perRow(inserts.withoutSearchIndexes.messagesMsPerRow)}), ` +
        `events ${perRow(inserts.withSearchIndexes.eventsMsPerRow)} (without ${perRow(inserts.withoutSearchIndexes.eventsMsPerRow)})`,
    );
    console.log(`JSONL exported for grep: ${bytes(exported)}; ${sizes.map((s) => `${s.name} ${bytes(s.bytes)}`).join(', ')}`);
    return {
      rows: { messages: rows, taskEvents: rows, viewerShare: 0.25 },
      machine: m,
      generate: { seconds: generateSeconds, timings },
      sizes: { exportedJsonlBytes: exported, relations: sizes },
      inserts,
      results,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    await client.end();
    await app.close();
  }
}

runBench('search', async () => {
  const loadStart = os.loadavg();
  const runs: Awaited<ReturnType<typeof measureSize>>[] = [];
  for (const rows of SIZES) runs.push(await measureSize(rows));
  // Growth: how each query's p50/p99 moved from one size to the next, in the same run.
  const growth = runs.slice(1).map((big, i) => {
    const small = runs[i];
    return {
      from: small.rows.messages,
      to: big.rows.messages,
      queries: big.results.map((r, j) => ({ name: r.name, p50: r.makima.p50 / small.results[j].makima.p50, p99: r.makima.p99 / small.results[j].makima.p99 })),
    };
  });
  for (const g of growth) {
    console.log(`growth ×${g.to / g.from} data (${g.from.toLocaleString('en-US')} → ${g.to.toLocaleString('en-US')} each): ${g.queries.map((q) => `${q.name} p50 ×${q.p50.toFixed(1)} p99 ×${q.p99.toFixed(1)}`).join('; ')}`);
  }
  const file = writeResults(OUT, {
    benchmark: 'search',
    date: new Date().toISOString(),
    settings: { sizes: SIZES, runs: RUNS, baselineRuns: BASELINE_RUNS, insertRows: INSERT_ROWS, insertRuns: INSERT_RUNS, first: 20, tryCreatedAtIndex: TRY_CREATED_AT },
    goal: { p99Ms: GOAL_P99_MS },
    loadAverage: { start: loadStart, end: os.loadavg() },
    growth,
    runs,
  });
  console.log(`wrote ${file}`);
});
