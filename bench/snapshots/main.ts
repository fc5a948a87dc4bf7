// bench:snapshots — what the conversation tree costs against the origin's design (the full
// conversation JSON in every snapshot): bytes stored for a 1,000-message conversation with a
// snapshot every 10 messages, both built in the same run; then the time of forkTask and
// rewindConversation over HTTP at 100, 10,000 and 100,000 messages (target: flat), next to what the
// origin's fork costs (a copy of the whole conversation as JSON). BENCH_RUNS (default 5) per median.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { simpleGit } from 'simple-git';
import { openDatabase } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { createUser } from '../../src/modules/auth/service.js';
import { NODE_HOST, spawnServer } from '../lib/children.js';
import { createBenchDatabase } from '../lib/postgres.js';
import { describeMachine, machine, median, ms, printTable, writeResults } from '../lib/report.js';
import { runBench } from '../lib/run.js';
import { conversationMessage, seededRandom } from './conversation.js';
import { STORAGE_HEAD, storageRow, TIMING_HEAD, timingRow } from './tables.js';

const MESSAGES = 1000;
const SNAPSHOT_EVERY = 10;
const APPEND_BATCH = 10;
const SIZES = [100, 10_000, 100_000];
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

type Gql = <T>(query: string, variables?: Record<string, unknown>) => Promise<T>;

function graphqlClient(url: string, token: string): Gql {
  return async (query, variables) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const json = (await res.json()) as { data?: unknown; errors?: unknown[] };
    if (json.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(json.errors).slice(0, 1000)}`);
    return json.data as never;
  };
}

/** The UUID inside a global ID (for direct SQL). */
function rawId(globalId: string): string {
  return Buffer.from(globalId, 'base64').toString('utf8').split(':')[1];
}

async function makeRepository(dir: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'README.md'), '# benchmark repository\n');
  const git = simpleGit(dir);
  await git.init(['--initial-branch=main']);
  await git.addConfig('user.name', 'bench').addConfig('user.email', 'bench@example.com');
  await git.add('.');
  await git.commit('initial commit');
}

/** Runs `fn` once to warm up, then RUNS times; the median and every sample, in ms. */
async function timed(fn: (run: number) => Promise<unknown>): Promise<{ median: number; samples: number[] }> {
  await fn(-1);
  const samples: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const t = performance.now();
    await fn(run);
    samples.push(performance.now() - t);
  }
  return { median: median(samples), samples: samples.map((s) => Number(s.toFixed(2))) };
}

interface Storage {
  design: string;
  messagesRowBytes: number;
  messagesOnDisk: number;
  snapshots: number;
  snapshotsRowBytes: number;
  snapshotsLogicalBytes: number;
  snapshotsOnDisk: number;
}

/** Bytes of makima's tree for `taskId`: its messages and its (pointer) snapshots. */
async function treeStorage(sql: pg.Client, taskId: string): Promise<Storage> {
  const { rows } = await sql.query<Record<string, string>>(
    `SELECT (SELECT sum(pg_column_size(m.*)) FROM conversation_messages m WHERE m.task_id = $1) AS messages_row,
            (SELECT count(*) FROM conversation_snapshots s WHERE s.task_id = $1) AS snapshots,
            (SELECT sum(pg_column_size(s.*)) FROM conversation_snapshots s WHERE s.task_id = $1) AS snapshots_row,
            (SELECT sum(octet_length(s::text)) FROM conversation_snapshots s WHERE s.task_id = $1) AS snapshots_logical,
            pg_total_relation_size('conversation_messages') AS messages_disk,
            pg_total_relation_size('conversation_snapshots') AS snapshots_disk`,
    [taskId],
  );
  const r = rows[0];
  return {
    design: 'makima: message tree + pointer snapshots',
    messagesRowBytes: Number(r.messages_row),
    messagesOnDisk: Number(r.messages_disk),
    snapshots: Number(r.snapshots),
    snapshotsRowBytes: Number(r.snapshots_row),
    snapshotsLogicalBytes: Number(r.snapshots_logical),
    snapshotsOnDisk: Number(r.snapshots_disk),
  };
}

/**
 * The origin's design, built from the same data: a snapshot row holding the whole conversation up
 * to that point as one JSON document, for each of the snapshots makima took. The conversation's
 * messages themselves are stored once in either design, so they are counted the same.
 */
async function originStorage(sql: pg.Client, taskId: string, tree: Storage): Promise<Storage> {
  await sql.query(`CREATE TABLE origin_conversation_snapshots (
      id uuid PRIMARY KEY, task_id uuid NOT NULL, checkpoint_id uuid, snapshot_type text NOT NULL,
      message_count int NOT NULL, conversation_state jsonb NOT NULL, metadata jsonb, created_at timestamptz NOT NULL)`);
  await sql.query(
    `INSERT INTO origin_conversation_snapshots (id, task_id, snapshot_type, message_count, conversation_state, metadata, created_at)
     SELECT gen_random_uuid(), s.task_id, 'auto', s.message_count,
            (SELECT jsonb_agg(jsonb_build_object('role', m.role, 'content', m.content, 'toolCalls', m.tool_calls) ORDER BY m.depth)
               FROM conversation_messages m WHERE m.task_id = s.task_id AND m.depth < s.message_count),
            s.metadata, s.created_at
       FROM conversation_snapshots s WHERE s.task_id = $1`,
    [taskId],
  );
  const { rows } = await sql.query<Record<string, string>>(
    `SELECT count(*) AS snapshots, sum(pg_column_size(o.*)) AS row_bytes, sum(octet_length(o::text)) AS logical,
            pg_total_relation_size('origin_conversation_snapshots') AS disk
       FROM origin_conversation_snapshots o`,
  );
  const r = rows[0];
  return {
    design: 'origin: full conversation JSON per snapshot',
    messagesRowBytes: tree.messagesRowBytes,
    messagesOnDisk: tree.messagesOnDisk,
    snapshots: Number(r.snapshots),
    snapshotsRowBytes: Number(r.row_bytes),
    snapshotsLogicalBytes: Number(r.logical),
    snapshotsOnDisk: Number(r.disk),
  };
}

/**
 * The jump depth of each depth of a single chain, by the rule appendMessages uses (Myers'
 * skew-binary jumps): in one chain it depends on the depth alone.
 */
function chainJumpDepths(n: number): (number | null)[] {
  const jump: (number | null)[] = [null];
  for (let d = 1; d < n; d++) {
    const p = d - 1;
    const j = jump[p];
    jump.push(j !== null && jump[j] !== null && p - j === j - (jump[j] as number) ? jump[j] : p);
  }
  return jump;
}

/** A conversation of `n` messages written straight into the tree (parent, depth, jump pointer), set-based. */
async function insertChain(sql: pg.Client, taskId: string, n: number): Promise<{ middle: string; last: string }> {
  const id = (d: string) => `md5($1 || ':' || ${d})::uuid`;
  await sql.query(
    `INSERT INTO conversation_messages (id, task_id, parent_id, role, content, depth, jump_id, jump_depth, created_at)
     SELECT ${id('d')}, $1::uuid, CASE WHEN d = 0 THEN NULL ELSE ${id('d - 1')} END,
            (ARRAY['user','assistant','tool','assistant','tool','assistant','tool','assistant','tool','assistant']::message_role[])[1 + d % 10],
            jsonb_build_array(jsonb_build_object('type', 'text', 'text', repeat(md5(d::text) || ' ', 1 + d % 16))), d,
            CASE WHEN ($3::int[])[d + 1] IS NULL THEN NULL ELSE ${id('($3::int[])[d + 1]')} END, ($3::int[])[d + 1],
            now() - ($2::int - d) * interval '1 second'
       FROM generate_series(0, $2::int - 1) d`,
    [taskId, n, chainJumpDepths(n)],
  );
  const ids = await sql.query<{ middle: string; last: string }>(`SELECT ${id('($2::int / 2)')} AS middle, ${id('($2::int - 1)')} AS last`, [taskId, n]);
  await sql.query(`UPDATE tasks SET head_message_id = $2, message_count = $3 WHERE id = $1`, [taskId, ids.rows[0].last, n]);
  await sql.query('ANALYZE conversation_messages');
  return ids.rows[0];
}

runBench('snapshots', async () => {
  const loadStart = os.loadavg();
  const bench = await createBenchDatabase('snapshots');
  console.log(`bench:snapshots — database ${bench.name} on PostgreSQL ${bench.serverVersion}`);
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'makima-bench-snapshots-')));
  const sql = new pg.Client({ connectionString: bench.url });
  try {
    const reposRoot = path.join(root, 'repos');
    await makeRepository(path.join(reposRoot, 'project'));
    const db = await openDatabase({ databaseUrl: bench.url, dataDir: '' });
    await migrate(db);
    const user = await createUser(db.prisma, 'bench-user', 'bench');
    await db.close();
    const server = await spawnServer({
      label: 'makima',
      node: NODE_HOST,
      args: ['--import', 'tsx', path.join('bench', 'servers', 'makima.ts')],
      env: { DATABASE_URL: bench.url, MAKIMA_REPOS_ROOT: reposRoot, MAKIMA_DATA_DIR: path.join(root, 'data'), MAKIMA_SNAPSHOT_EVERY: String(SNAPSHOT_EVERY) },
    });
    await sql.connect();
    const gql = graphqlClient(server.url, user.token);
    const { createContract } = await gql<{ createContract: { contract: { id: string } } }>(
      'mutation($input: CreateContractInput!) { createContract(input: $input) { contract { id } } }',
      { input: { name: 'benchmark', repositoryPath: path.join(reposRoot, 'project') } },
    );
    const newTask = async (name: string) =>
      (
        await gql<{ createTask: { task: { id: string } } }>('mutation($input: CreateTaskInput!) { createTask(input: $input) { task { id } } }', {
          input: { contractId: createContract.contract.id, name },
        })
      ).createTask.task.id;

    // 1. Storage: 1,000 messages appended through the API, an AUTO snapshot every 10.
    console.log(`appending ${MESSAGES} messages in batches of ${APPEND_BATCH} (a snapshot every ${SNAPSHOT_EVERY}) …`);
    const storageTask = await newTask('storage');
    const random = seededRandom(42);
    for (let i = 0; i < MESSAGES; i += APPEND_BATCH) {
      const messages = Array.from({ length: APPEND_BATCH }, (_, k) => conversationMessage(i + k, random));
      await gql('mutation($input: AppendMessagesInput!) { appendMessages(input: $input) { task { id } } }', { input: { taskId: storageTask, messages } });
    }
    const tree = await treeStorage(sql, rawId(storageTask));
    const origin = await originStorage(sql, rawId(storageTask), tree);
    if (tree.snapshots !== MESSAGES / SNAPSHOT_EVERY) throw new Error(`expected ${MESSAGES / SNAPSHOT_EVERY} snapshots, makima took ${tree.snapshots}`);

    // 2. Fork and rewind at growing conversation lengths.
    const timings = [];
    for (const n of SIZES) {
      console.log(`fork and rewind at ${n.toLocaleString('en-US')} messages …`);
      const taskId = await newTask(`chain of ${n}`);
      const { middle, last } = await insertChain(sql, rawId(taskId), n);
      const { createCheckpoint } = await gql<{ createCheckpoint: { checkpoint: { id: string } } }>(
        'mutation($input: CreateCheckpointInput!) { createCheckpoint(input: $input) { checkpoint { id } } }',
        { input: { taskId, message: `checkpoint at ${n} messages` } },
      );
      const rewind = await timed((run) =>
        gql('mutation($input: RewindConversationInput!) { rewindConversation(input: $input) { task { id } backupSnapshot { id } } }', {
          // Alternate between the middle and the end, so that every run moves the head.
          input: { taskId, toMessageId: run % 2 === 0 ? middle : last },
        }),
      );
      await gql('mutation($input: RewindConversationInput!) { rewindConversation(input: $input) { task { id } } }', { input: { taskId, toMessageId: last } });
      const forkAtMessage = await timed(() =>
        gql('mutation($input: ForkTaskInput!) { forkTask(input: $input) { task { id } } }', { input: { taskId, messageId: middle } }),
      );
      const forkAtCheckpoint = await timed(() =>
        gql('mutation($input: ForkTaskInput!) { forkTask(input: $input) { task { id } } }', {
          input: { taskId, checkpointId: createCheckpoint.checkpoint.id },
        }),
      );
      // What the origin does on a fork (and on every snapshot): copy the whole conversation as JSON.
      await sql.query('CREATE TABLE IF NOT EXISTS origin_forks (id uuid PRIMARY KEY, conversation_state jsonb NOT NULL)');
      const originCopy = await timed(() =>
        sql.query(
          `INSERT INTO origin_forks SELECT gen_random_uuid(),
                  (SELECT jsonb_agg(jsonb_build_object('role', role, 'content', content, 'toolCalls', tool_calls) ORDER BY depth)
                     FROM conversation_messages WHERE task_id = $1)`,
          [rawId(taskId)],
        ),
      );
      // Reading: the first page (oldest 50 messages) of the whole conversation.
      const firstPage = await timed(() =>
        gql('query($id: ID!) { task(id: $id) { conversation(first: 50) { edges { node { index role } } } } }', { id: taskId }),
      );
      timings.push({ messages: n, rewindConversation: rewind, forkAtMessage, forkAtCheckpoint, firstPage, originCopy });
    }
    await server.stop();
    await sql.end();
    await bench.drop();

    const m = machine(bench.serverVersion);
    printTable({
      title:
        `Snapshot storage — one ${MESSAGES.toLocaleString('en-US')}-message conversation, a snapshot every ${SNAPSHOT_EVERY} messages (${tree.snapshots} snapshots)\n` +
        `${describeMachine(m)}; makima on Node ${server.node}; load average at start ${loadStart.map((l) => l.toFixed(1)).join(' ')}`,
      head: STORAGE_HEAD,
      rows: [tree, origin].map(storageRow),
    });
    console.log(
      `origin ÷ makima: snapshots ${(origin.snapshotsRowBytes / tree.snapshotsRowBytes).toFixed(0)}× (rows), ` +
        `${(origin.snapshotsOnDisk / tree.snapshotsOnDisk).toFixed(0)}× (on disk); ` +
        `messages + snapshots ${((origin.messagesOnDisk + origin.snapshotsOnDisk) / (tree.messagesOnDisk + tree.snapshotsOnDisk)).toFixed(1)}× on disk`,
    );
    printTable({
      title: `Fork, rewind and first-page time over HTTP (median of ${RUNS} after a warm-up; fork and rewind at the middle message) — target: flat`,
      head: TIMING_HEAD,
      rows: timings.map((t) => timingRow(t, ms)),
    });
    const file = writeResults('snapshots', {
      benchmark: 'snapshots',
      date: new Date().toISOString(),
      machine: m,
      loadAverage: { start: loadStart, end: os.loadavg() },
      server: { node: server.node },
      settings: { messages: MESSAGES, snapshotEvery: SNAPSHOT_EVERY, appendBatch: APPEND_BATCH, sizes: SIZES, runs: RUNS },
      storage: { makima: tree, origin },
      timingsMs: timings,
    });
    console.log(`\nwritten to ${file}`);
  } finally {
    await sql.end().catch(() => undefined);
    fs.rmSync(root, { recursive: true, force: true });
  }
});
