// Fills a fresh, migrated database with a realistic history, set-based (INSERT … SELECT
// generate_series) so that a million events take seconds: 20 contracts at different phases owned by
// 4 users, 10 tasks each (one supervisor), history events interleaved across contracts in commit
// order (seq and created_at increase together) with the mix of types an agent fleet produces, the
// phase each contract was in at that moment, task event streams and checkpoints.
import pg from 'pg';
import { openDatabase } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { createUser, type CreatedUser } from '../../src/modules/auth/service.js';

export const PHASES = ['research', 'specify', 'plan', 'execute', 'review', 'done'] as const;

export interface HistoryShape {
  historyEvents: number;
  contracts: number;
  tasksPerContract: number;
  users: number;
  taskEvents: number;
  checkpointsPerTask: number;
}

export const DEFAULT_SHAPE: HistoryShape = {
  historyEvents: 1_000_000,
  contracts: 20,
  tasksPerContract: 10,
  users: 4,
  taskEvents: 200_000,
  checkpointsPerTask: 10,
};

export interface GeneratedHistory {
  shape: HistoryShape;
  users: CreatedUser[];
  /** Per table, the rows inserted and the seconds it took. */
  timings: { step: string; rows: number; seconds: number }[];
  seconds: number;
}

/** Contract `ci` (1-based) ends in phase index (ci − 1) mod 6, so contracts sit at every phase. */
export function finalPhaseIndex(ci: number): number {
  return (ci - 1) % PHASES.length;
}

/** The deterministic id of contract `ci` / task `ti` (so the generator needs no lookup tables). */
export const contractIdSql = (ci: string) => `md5('contract-' || ${ci})::uuid`;
export const taskIdSql = (ti: string) => `md5('task-' || ${ti})::uuid`;

export async function generateHistory(url: string, shape: HistoryShape = DEFAULT_SHAPE): Promise<GeneratedHistory> {
  const started = performance.now();
  const timings: GeneratedHistory['timings'] = [];
  const db = await openDatabase({ databaseUrl: url, dataDir: '' });
  const users: CreatedUser[] = [];
  try {
    let t = performance.now();
    await migrate(db);
    timings.push({ step: 'migrations', rows: 0, seconds: (performance.now() - t) / 1000 });
    t = performance.now();
    for (let i = 1; i <= shape.users; i++) users.push(await createUser(db.prisma, `bench-user-${i}`, 'bench'));
    timings.push({ step: 'users (createUser)', rows: shape.users, seconds: (performance.now() - t) / 1000 });
  } finally {
    await db.close();
  }

  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const step = async (name: string, sql: string, params: unknown[] = []) => {
      const t = performance.now();
      const res = await client.query(sql, params);
      timings.push({ step: name, rows: res.rowCount ?? 0, seconds: (performance.now() - t) / 1000 });
    };
    const owners = users.map((u) => u.id);
    const C = shape.contracts;
    const T = C * shape.tasksPerContract;
    const N = shape.historyEvents;
    const phases = `(ARRAY[${PHASES.map((p) => `'${p}'`).join(',')}]::contract_phase[])`;
    const ownerOf = (ci: string) => `($1::uuid[])[1 + ((${ci}) - 1) % ${shape.users}]`;
    const start = `(now() - interval '30 days')`;
    // Every event is 30 days / N apart: one timeline position `pos` maps to one instant.
    const at = (pos: string) => `${start} + (${pos}) * interval '1 millisecond' * ${(30 * 86_400_000) / N}`;
    await client.query('SET synchronous_commit = off');
    await client.query("SET maintenance_work_mem = '256MB'");

    await step(
      'contracts',
      `INSERT INTO contracts (id, owner_id, name, short_name, description, phase, repository_path, created_at, updated_at)
       SELECT ${contractIdSql('ci')}, ${ownerOf('ci')}, 'contract-' || ci, 'contract-' || ci, 'benchmark contract ' || ci,
              ${phases}[1 + (ci - 1) % 6], '/srv/repos/contract-' || ci, ${start}, now()
         FROM generate_series(1, ${C}) ci`,
      [owners],
    );
    await step(
      'tasks',
      `INSERT INTO tasks (id, owner_id, contract_id, number, name, prompt, status, is_supervisor, worktree_path, branch,
                          base_commit, head_commit, created_at, updated_at)
       SELECT ${taskIdSql('ti')}, ${ownerOf(`1 + (ti - 1) % ${C}`)}, ${contractIdSql(`1 + (ti - 1) % ${C}`)}, ti,
              CASE WHEN ti <= ${C} THEN 'supervisor of contract-' || ti ELSE 'task-' || ti END,
              'work item ' || ti,
              (ARRAY['completed','completed','running','interrupted','failed','pending']::task_status[])[1 + ti % 6],
              ti <= ${C}, '/srv/worktrees/task-' || ti, 'makima/task-' || ti,
              substr(md5('base' || ti) || md5('base2' || ti), 1, 40), substr(md5('head' || ti) || md5('head2' || ti), 1, 40),
              ${start}, now()
         FROM generate_series(1, ${T}) ti`,
      [owners],
    );

    // Contract ci goes through phases 0..f (f = its final phase) evenly over the timeline; a PHASE
    // event marks its creation (at the start) and each change. Every other position g is activity.
    // seq = g is assigned here (no sort of a million rows); the sequence is moved past it below.
    // Ids are md5-derived UUIDs: as random as v4 for the indexes, and much cheaper than gen_random_uuid().
    const phaseEvents: { ci: number; p: number; pos: number }[] = [];
    for (let ci = 1; ci <= C; ci++) {
      const f = finalPhaseIndex(ci);
      for (let p = 0; p <= f; p++) phaseEvents.push({ ci, p, pos: p === 0 ? ci : Math.ceil((p * (N + 1)) / (f + 1)) + ci });
    }
    if (new Set(phaseEvents.map((e) => e.pos)).size !== phaseEvents.length) throw new Error('two phase events share a timeline position');
    const phaseAt = (ci: string, pos: string) => `${phases}[1 + floor((${pos})::float8 * ((${ci} - 1) % 6 + 1) / ${N + 1})::int]`;
    await withoutIndexes(
      client,
      ['history_events', 'task_events'],
      async () => {
        await step(
          'history_events',
          `INSERT INTO history_events (id, seq, owner_id, contract_id, task_id, event_type, event_subtype, phase, event_data, created_at)
           SELECT md5('event-' || g)::uuid, g, ${ownerOf('ci')}, ${contractIdSql('ci')}, CASE WHEN ti IS NULL THEN NULL ELSE ${taskIdSql('ti')} END,
                  event_type::history_event_type, event_subtype, ${phaseAt('ci', 'g')}, event_data, ${at('g')}
             FROM (
               SELECT g, ci, ci + ${C} * (abs(hashint8(g * 31 + 7)) % ${shape.tasksPerContract}) AS ti,
                      CASE WHEN r < 52 THEN 'chat' WHEN r < 69 THEN 'task' WHEN r < 83 THEN 'checkpoint' ELSE 'file' END AS event_type,
                      CASE WHEN r < 50 THEN 'message' WHEN r < 52 THEN 'rewound' WHEN r < 64 THEN 'status_changed'
                           WHEN r < 67 THEN 'created' WHEN r < 69 THEN 'forked' WHEN r < 80 THEN 'created'
                           WHEN r < 82 THEN 'rewound' WHEN r < 83 THEN 'branched' ELSE 'changed' END AS event_subtype,
                      CASE WHEN r < 50 THEN jsonb_build_object('count', 1 + g % 3, 'headId', md5('m' || g)::uuid, 'messageCount', g % 700,
                                                               'roles', CASE WHEN g % 2 = 0 THEN '["assistant"]'::jsonb ELSE '["assistant","tool"]'::jsonb END)
                           WHEN r < 52 THEN jsonb_build_object('fromMessageCount', g % 700, 'toMessageCount', g % 350)
                           WHEN r < 69 THEN jsonb_build_object('from', 'running', 'to', (ARRAY['completed','interrupted','failed','running'])[1 + g % 4])
                           WHEN r < 83 THEN jsonb_build_object('number', 1 + g % 40, 'commitSha', substr(md5('c' || g) || md5('d' || g), 1, 40), 'message', 'checkpoint ' || g)
                           ELSE jsonb_build_object('paths', jsonb_build_array(jsonb_build_object('path', 'src/module-' || (g % 97) || '.ts', 'status', 'modified'),
                                                                             jsonb_build_object('path', 'test/module-' || (g % 97) || '.test.ts', 'status', 'added')))
                      END AS event_data
                 FROM (SELECT g, 1 + abs(hashint8(g)) % ${C} AS ci, abs(hashint8(-g)) % 100 AS r FROM generate_series(1, ${N}) g) s
                WHERE NOT EXISTS (SELECT 1 FROM jsonb_to_recordset($2::jsonb) AS e(pos int) WHERE e.pos = s.g)
               UNION ALL
               SELECT e.pos, e.ci, NULL, 'phase', CASE WHEN e.p = 0 THEN 'created' ELSE 'changed' END,
                      CASE WHEN e.p = 0 THEN jsonb_build_object('to', ${phases}[1]) ELSE jsonb_build_object('from', ${phases}[e.p], 'to', ${phases}[e.p + 1]) END
                 FROM jsonb_to_recordset($2::jsonb) AS e(ci int, p int, pos int)
             ) ev`,
          [owners, JSON.stringify(phaseEvents)],
        );
        const perTask = shape.taskEvents / T;
        await step(
          'task_events',
          `INSERT INTO task_events (id, task_id, seq, type, data, created_at)
       SELECT md5('task-event-' || g)::uuid, ${taskIdSql(`1 + (g - 1) % ${T}`)}, 1 + (g - 1) / ${T},
              (ARRAY['output','output','output','output','output','tool_call','tool_call','tool_result','tool_result','status']::task_event_type[])[1 + g % 10],
              jsonb_build_object('text', 'line ' || g || ' of agent output: ' || md5(g::text)), ${at(`g * ${N / shape.taskEvents}`)}
             FROM generate_series(1, ${T * Math.floor(perTask)}) g`,
        );
      },
      step,
    );
    await step(
      'task_checkpoints',
      `INSERT INTO task_checkpoints (id, task_id, number, commit_sha, branch, message, files_changed, created_at)
       SELECT md5('checkpoint-' || g)::uuid, ${taskIdSql(`1 + (g - 1) % ${T}`)}, 1 + (g - 1) / ${T}, substr(md5('cp' || g) || md5('cq' || g), 1, 40),
              'makima/task-' || (1 + (g - 1) % ${T}), 'checkpoint ' || (1 + (g - 1) / ${T}),
              jsonb_build_array(jsonb_build_object('path', 'src/file-' || (g % 37) || '.ts', 'status', 'modified', 'additions', g % 50, 'deletions', g % 7)),
              ${at(`g * ${N / (T * shape.checkpointsPerTask)}`)}
         FROM generate_series(1, ${T * shape.checkpointsPerTask}) g`,
    );
    // Keep the sequence ahead of the rows, as if every event had been written by change().
    await step('sequence', `SELECT setval(pg_get_serial_sequence('history_events', 'seq'), (SELECT max(seq) FROM history_events))`);
    // A long-running database is vacuumed and analyzed by autovacuum; do it now so plans are stable.
    await step('vacuum analyze', 'VACUUM (ANALYZE) history_events, task_events, task_checkpoints, tasks, contracts, api_tokens, users');
  } finally {
    await client.end();
  }
  return { shape, users, timings, seconds: (performance.now() - started) / 1000 };
}

type Step = (name: string, sql: string, params?: unknown[]) => Promise<void>;

/**
 * Bulk loading is much faster into bare tables: drops the tables' indexes and constraints, runs
 * `load`, then recreates them from their own catalog definitions (so the result is exactly the
 * migrated schema, and foreign keys are validated once, set-based, instead of row by row).
 */
async function withoutIndexes(client: pg.Client, tables: string[], load: () => Promise<void>, step: Step): Promise<void> {
  const constraints = (
    await client.query<{ table: string; name: string; def: string; type: string }>(
      `SELECT conrelid::regclass::text AS table, conname AS name, pg_get_constraintdef(oid) AS def, contype AS type
         FROM pg_constraint WHERE conrelid = ANY($1::regclass[]) AND contype IN ('p', 'u', 'f')
        ORDER BY contype DESC`, // p and u before f
      [tables],
    )
  ).rows;
  const indexes = (
    await client.query<{ name: string; def: string }>(
      `SELECT indexrelid::regclass::text AS name, pg_get_indexdef(indexrelid) AS def
         FROM pg_index i WHERE indrelid = ANY($1::regclass[])
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)`,
      [tables],
    )
  ).rows;
  for (const c of [...constraints].reverse()) await client.query(`ALTER TABLE ${c.table} DROP CONSTRAINT ${pg.escapeIdentifier(c.name)}`);
  for (const i of indexes) await client.query(`DROP INDEX ${i.name}`);
  await load();
  await step('indexes', indexes.map((i) => i.def).join(';\n'));
  const keys = constraints.filter((c) => c.type !== 'f');
  const foreign = constraints.filter((c) => c.type === 'f');
  const add = (c: (typeof constraints)[number]) => `ALTER TABLE ${c.table} ADD CONSTRAINT ${pg.escapeIdentifier(c.name)} ${c.def}`;
  await step('primary keys', keys.map(add).join(';\n'));
  await step('foreign keys', foreign.map(add).join(';\n'));
}
