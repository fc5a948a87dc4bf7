// bench:search — Query.search's service (the same SQL the API runs, in-process: no HTTP) over
// BENCH_SEARCH_ROWS (default 1,000,000) messages and as many task events, next to what a user has
// without it, in the same run: a sequential ILIKE scan of the same rows, and grep over the same text
// exported as JSONL files (one per task, as ~/.claude/projects keeps them). Each makima query runs
// BENCH_SEARCH_RUNS times (default 50) after a warm-up; each baseline BENCH_SEARCH_BASELINE_RUNS (5).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { ServiceContext } from '../../src/context.js';
import { openDatabase } from '../../src/db/database.js';
import { asWritten, search, type SearchFilter } from '../../src/modules/search/service.js';
import { createBenchDatabase } from '../lib/postgres.js';
import { bytes, describeMachine, machine, ms, percentile, printTable, writeResults } from '../lib/report.js';
import { runBench } from '../lib/run.js';
import { generateSearchData } from './generate.js';

const ROWS = Number(process.env.BENCH_SEARCH_ROWS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_SEARCH_RUNS ?? 50);
const BASELINE_RUNS = Number(process.env.BENCH_SEARCH_BASELINE_RUNS ?? 5);
const GOAL_P99_MS = 50;

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

runBench('search', async () => {
  const loadStart = os.loadavg();
  const db = await createBenchDatabase('search');
  console.log(`bench:search — database ${db.name} on PostgreSQL ${db.serverVersion}`);
  console.log(`generating ${ROWS.toLocaleString('en-US')} messages and ${ROWS.toLocaleString('en-US')} task events …`);
  const t0 = performance.now();
  const { users, timings } = await generateSearchData(db.url, ROWS);
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
      const run = () => search(ctx, { query: c.query, filter: c.filter, first: 20 });
      const first = await run();
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
      for (let i = 0; i < 3; i++) await run();
      const makima = await samples(RUNS, run);
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
        matchingRows: matching,
        makima: { p50: percentile(makima, 50), p99: percentile(makima, 99), runs: RUNS },
        ilike: { p50: percentile(ilike, 50), p99: percentile(ilike, 99), runs: BASELINE_RUNS, rowsOnFirstPage: ilikeRows },
        grep: { p50: percentile(grep, 50), p99: percentile(grep, 99), runs: BASELINE_RUNS },
      });
      console.log(`  ${c.name} (${matching} matching rows): makima p50 ${ms(percentile(makima, 50))} p99 ${ms(percentile(makima, 99))}; ILIKE p50 ${ms(percentile(ilike, 50))}; grep p50 ${ms(percentile(grep, 50))}`);
    }
    const m = machine(db.serverVersion);
    printTable({
      title: `bench:search — ${ROWS.toLocaleString('en-US')} messages + ${ROWS.toLocaleString('en-US')} task events (viewer: 1/4 of them); ${describeMachine(m)}`,
      head: ['query', "viewer's matching rows", 'makima p50', 'makima p99', 'ILIKE scan p50', 'grep JSONL p50', `p99 < ${GOAL_P99_MS} ms`],
      rows: results.map((r) => [`${r.name}: ${r.query}`, r.matchingRows.toLocaleString('en-US'), ms(r.makima.p50), ms(r.makima.p99), ms(r.ilike.p50, 0), ms(r.grep.p50, 0), r.makima.p99 < GOAL_P99_MS ? 'yes' : 'no']),
    });
    console.log(`JSONL exported for grep: ${bytes(exported)}; ${sizes.map((s) => `${s.name} ${bytes(s.bytes)}`).join(', ')}`);
    const file = writeResults('search', {
      benchmark: 'search',
      date: new Date().toISOString(),
      rows: { messages: ROWS, taskEvents: ROWS, viewerShare: 0.25 },
      goal: { p99Ms: GOAL_P99_MS },
      machine: m,
      loadAverage: { start: loadStart, end: os.loadavg() },
      generate: { seconds: generateSeconds, timings },
      sizes: { exportedJsonlBytes: exported, relations: sizes },
      results,
    });
    console.log(`wrote ${file}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    await client.end();
    await app.close();
  }
});
