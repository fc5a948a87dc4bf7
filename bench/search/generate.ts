// Fills a fresh, migrated database with agent-like text, set-based (INSERT … SELECT generate_series):
// ROWS messages and ROWS task events over 400 tasks of 4 users. Words follow a skewed (Zipf-like)
// distribution over a coding vocabulary, so some are in most rows and some in few; messages and
// events also carry paths, identifiers, error codes, shell commands and commit shas. The GIN
// indexes are dropped for the load and built once at the end, as a bulk import would do.
import pg from 'pg';
import { openDatabase } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { createUser, type CreatedUser } from '../../src/modules/auth/service.js';

export const TASKS = 400;
const USERS = 4;

export const WORDS = (
  'the to a of and in is that for it this with be on as we test file function error run fix code should can add change ' +
  'update check type value return call need case use build now see will make path config module output failing return ' +
  'import export parser token lexer schema query index cache request response server client handler worker branch commit ' +
  'rebase merge conflict diff patch review approve refactor rename extract inline variable constant argument parameter ' +
  'promise async await timeout retry flaky deterministic snapshot fixture assertion mock stub coverage benchmark latency ' +
  'throughput memory leak allocation garbage pointer overflow boundary regression migration transaction rollback deadlock ' +
  'isolation serializable replica partition shard vacuum analyze explain planner bitmap sequential tokenizer grammar ' +
  'recursion iterator generator closure decorator middleware interceptor serializer deserializer validator sanitizer ' +
  'kubernetes container dockerfile terraform ansible nginx certificate handshake websocket subscription backpressure ' +
  'xylophone quasar zeppelin marmalade'
).split(' ');
export const PATHS = ['src/parser.ts', 'src/lexer.ts', 'src/server/handler.ts', 'src/db/migrate.ts', 'test/parser.test.ts', 'lib/cache/lru.ts', 'config/local.json', 'scripts/build.sh', 'src/worker/lease.ts', 'docs/design.md'];
export const IDENTIFIERS = ['parseExpression', 'tokenizeInput', 'handleRequest', 'runMigrations', 'acquireLease', 'LruCache', 'ENOENT', 'EACCES', 'ECONNREFUSED', 'ERR_MODULE_NOT_FOUND'];
export const COMMANDS = ['npm test -- parser', 'git rebase -i main', 'rm -rf build/ && make', 'npx tsc --noEmit', 'grep -rn TODO src', 'docker compose up -d db', 'psql -c "vacuum analyze"', 'git log --oneline -5'];

const arr = (xs: string[]) => `ARRAY[${xs.map((x) => `'${x.replace(/'/g, "''")}'`).join(',')}]::text[]`;
/**
 * Pseudo-words of a long tail (3 syllables of 20: 8,000 of them, each in about 0.1% of rows), so the
 * text has the rare, specific words real prose has — "a specific word" is one of them.
 */
export const SYLLABLES = ['ka', 'lo', 'mir', 'ten', 'vos', 'pra', 'dul', 'sem', 'ri', 'bax', 'nor', 'que', 'tal', 'fen', 'gor', 'hu', 'ix', 'jam', 'wel', 'zo'];
const tailWord = `(${arr(SYLLABLES)})[1 + floor(20 * random())::int] || (${arr(SYLLABLES)})[1 + floor(20 * random())::int] || (${arr(SYLLABLES)})[1 + floor(20 * random())::int]`;
/**
 * A sentence of 8–40 words for row `g`: 70% from the coding vocabulary, Zipf-like (random()^3
 * favours its first words, so "the" and "error" are in many rows), 30% from the long tail.
 */
const sentence = (g: string) =>
  `(SELECT string_agg(CASE WHEN random() < 0.7 THEN (${arr(WORDS)})[1 + floor(${WORDS.length} * power(random(), 3))::int] ELSE ${tailWord} END, ' ') FROM generate_series(1, 8 + ((${g})::bigint * 7919 % 33)::int))`;
/** The task of row `g`: runs of 7 rows, so that a row's task (and owner) does not follow its kind (g mod 4). */
const taskOf = (g: string) => `(1 + ((${g}) / 7) % ${TASKS})`;
const pick = (xs: string[], g: string, salt: number) => `(${arr(xs)})[1 + ((${g})::bigint * ${salt} % ${xs.length})::int]`;

export interface Generated {
  users: CreatedUser[];
  timings: { step: string; rows: number; seconds: number }[];
}

export async function generateSearchData(url: string, rows: number): Promise<Generated> {
  const timings: Generated['timings'] = [];
  const db = await openDatabase({ databaseUrl: url, dataDir: '' });
  const users: CreatedUser[] = [];
  try {
    await migrate(db);
    for (let i = 1; i <= USERS; i++) users.push(await createUser(db.prisma, `bench-user-${i}`, 'bench'));
  } finally {
    await db.close();
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const step = async (name: string, sql: string, params: unknown[] = []) => {
    const t = performance.now();
    const res = await client.query(sql, params);
    timings.push({ step: name, rows: res.rowCount ?? 0, seconds: (performance.now() - t) / 1000 });
    console.log(`  ${name}: ${res.rowCount ?? 0} rows in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  };
  try {
    const owners = users.map((u) => u.id);
    await step('contracts', `INSERT INTO contracts (id, owner_id, name, short_name, repository_path) SELECT md5('contract-' || c)::uuid, ($1::uuid[])[1 + (c - 1) % ${USERS}], 'contract-' || c, 'contract-' || c, '/repos/' || c FROM generate_series(1, ${USERS * 5}) c`, [owners]);
    await step('tasks', `INSERT INTO tasks (id, owner_id, contract_id, number, name, status, created_at) SELECT md5('task-' || t)::uuid, ($1::uuid[])[1 + (((t - 1) % ${USERS * 5})) % ${USERS}], md5('contract-' || (1 + (t - 1) % ${USERS * 5}))::uuid, t, 'task-' || t, 'completed', now() - interval '30 days' FROM generate_series(1, ${TASKS}) t`, [owners]);
    for (const index of ['conversation_messages_search_vector_idx', 'task_events_search_vector_idx']) await client.query(`DROP INDEX ${index}`);
    const at = (g: string) => `now() - interval '30 days' + (${g}) * interval '1 millisecond' * ${(30 * 86_400_000) / rows}`;
    await step(
      'conversation_messages',
      `INSERT INTO conversation_messages (id, task_id, role, content, tool_calls, depth, created_at)
       SELECT md5('m-' || g)::uuid, md5('task-' || ${taskOf('g')})::uuid,
              (ARRAY['user','assistant','assistant','tool']::message_role[])[1 + g % 4],
              to_jsonb(${sentence('g')} || CASE WHEN g % 5 = 0 THEN ' in ' || ${pick(PATHS, 'g', 31)} ELSE '' END
                                         || CASE WHEN g % 7 = 0 THEN ' ' || ${pick(IDENTIFIERS, 'g', 17)} ELSE '' END),
              CASE WHEN g % 4 IN (1, 2) AND g % 3 = 0 THEN jsonb_build_array(jsonb_build_object('name', 'Bash', 'input', jsonb_build_object('command', ${pick(COMMANDS, 'g', 13)}))) END,
              g / ${TASKS}, ${at('g')}
         FROM generate_series(1, ${rows}) g`,
    );
    await step(
      'task_events',
      `INSERT INTO task_events (id, task_id, seq, type, data, created_at)
       SELECT md5('e-' || g)::uuid, md5('task-' || ${taskOf('g')})::uuid, g,
              (ARRAY['tool_call','tool_result','output','error']::task_event_type[])[1 + g % 4],
              CASE g % 4
                WHEN 0 THEN jsonb_build_object('tool', 'Bash', 'command', ${pick(COMMANDS, 'g', 11)})
                WHEN 1 THEN jsonb_build_object('output', ${sentence('g')} || ' ' || ${pick(PATHS, 'g', 7)})
                WHEN 2 THEN jsonb_build_object('text', ${sentence('g')} || ' commit ' || md5('sha-' || g))
                ELSE jsonb_build_object('message', ${pick(IDENTIFIERS, 'g', 3)} || ': ' || ${sentence('g')})
              END,
              ${at('g')}
         FROM generate_series(1, ${rows}) g`,
    );
    await step('GIN index on messages', 'CREATE INDEX conversation_messages_search_vector_idx ON conversation_messages USING GIN (search_vector)');
    await step('GIN index on task events', 'CREATE INDEX task_events_search_vector_idx ON task_events USING GIN (search_vector)');
    await step('analyze', 'ANALYZE');
  } finally {
    await client.end();
  }
  return { users, timings };
}
