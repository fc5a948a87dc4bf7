// Every bad input is a coded client error, fast, and changes nothing (docs/design.md §5). The table is
// not written by hand: it is read from the schema. Every argument of every query and mutation
// field — and of every field of an object type with IDs (reached through `node`) — is walked down
// to its leaves (input-object fields, list items), and each leaf gets the hostile values of its
// type while everything else in the request is valid: text with a NUL, a lone surrogate or a
// megabyte; IDs of an unknown type, of another type, or garbage; numbers out of range; lists of
// 100,000 items; JSON nested 100,000 deep; cursors of another list, another encoding or out of
// range. Each answer must be an error with one of the API's codes (never INTERNAL_SERVER_ERROR),
// arrive within a couple of seconds, and leave the database as it was. The valid request each case
// varies is first sent as it is (on a fixture of its own) and must not be refused as bad input or
// not found — else a case would pass without its hostile value being looked at.
import fs from 'node:fs';
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLObjectType,
} from 'graphql';
import { simpleGit } from 'simple-git';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getSchema } from '../src/schema/index.js';
import { startTestServer, type TestServer, type TestUser } from './harness.js';
import { checkpoint, say, taskOnRepo, type TaskFixture } from './fixtures.js';
import { write } from './worktrees.js';
import { collect, wsClient } from './ws-client.js';

const CODES = new Set(['UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'BAD_USER_INPUT', 'CONFLICT', 'GIT_ERROR']);
/** "A couple of seconds", on a loaded 2-core CI machine; a refused request takes a few milliseconds. */
const FAST_MS = 2000;
const BIG_LIST = 100_000;
/** Requests in flight at once in the table. */
const BATCH = 4;
const DEEP = 100_000;
/** Stands in the variables for JSON nested DEEP levels, spliced into the body as text (JSON.stringify would overflow). */
const DEEP_JSON = '\u0001deep-json\u0001';
const deepJsonText = `${'{"a":['.repeat(DEEP / 2)}1${']}'.repeat(DEEP / 2)}`;

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const rawId = (globalId: string) => Buffer.from(globalId, 'base64').toString('utf8').split(':')[1];

type CursorKind = 'id' | 'history' | 'taskEvent' | 'conversation';

interface Fixture extends TaskFixture {
  ids: Record<'Contract' | 'Task' | 'Checkpoint' | 'ConversationMessage' | 'ConversationSnapshot' | 'TaskEvent' | 'HistoryEvent' | 'User' | 'ApiToken', string>;
  cursors: Record<CursorKind, string>;
}

let t: TestServer;
let user: TestUser;
let fx: Fixture;

/** What the database holds, in one query: row counts, the tasks' versions and the last history event. */
async function fingerprint(): Promise<string> {
  const [row] = await t.db.prisma.$queryRawUnsafe<Record<string, unknown>[]>(`SELECT
    (SELECT count(*) FROM contracts) AS contracts, (SELECT string_agg(phase::text, ',' ORDER BY id) FROM contracts) AS phases,
    (SELECT count(*) FROM tasks) AS tasks, (SELECT sum(version) FROM tasks) AS versions,
    (SELECT count(*) FROM conversation_messages) AS messages, (SELECT count(*) FROM conversation_snapshots) AS snapshots,
    (SELECT count(*) FROM task_checkpoints) AS checkpoints, (SELECT count(*) FROM task_events) AS events,
    (SELECT count(*) FROM history_events) AS history, (SELECT max(seq) FROM history_events) AS last_seq,
    (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM api_tokens) AS tokens,
    (SELECT count(*) FROM api_tokens WHERE revoked_at IS NOT NULL) AS revoked,
    (SELECT count(*) FROM transcript_records) AS transcripts, (SELECT count(*) FROM git_change_commits) AS git_changes`);
  return JSON.stringify(row, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

async function gitState(repo: string): Promise<string> {
  const refs = await simpleGit(repo).raw(['for-each-ref', '--format=%(refname) %(objectname)']);
  return `${refs}\n${fs.readdirSync(t.config.worktreesDir).sort().join(',')}`;
}

/** Posts an operation; the variables may hold DEEP_JSON, which becomes JSON nested DEEP levels. */
async function send(query: string, variables: Record<string, unknown>): Promise<{ ms: number; errors?: { message: string; extensions?: { code?: string } }[]; data?: unknown }> {
  const body = JSON.stringify({ query, variables }).replace(JSON.stringify(DEEP_JSON), deepJsonText);
  const start = performance.now();
  const res = await fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${user.token}` }, body });
  const json = (await res.json()) as { errors?: { message: string; extensions?: { code?: string } }[]; data?: unknown };
  return { ...json, ms: performance.now() - start };
}

/** A task with a checkpoint, two messages, a snapshot and an event, and an ID and a cursor of each kind. */
async function makeFixture(owner: TestUser): Promise<Fixture> {
  const task = await taskOnRepo(t, owner);
  write(task.worktree, { 'src/a.txt': 'alpha\nBETA\n', 'notes.md': 'notes\n' });
  const cp = await checkpoint(owner, task.taskId, 'first');
  const [message] = await say(owner, task.taskId, 'hello', 'hi');
  const snapshot = (await owner.ok(`mutation($t: ID!) { createSnapshot(input: { taskId: $t }) { snapshot { id } } }`, { t: task.taskId })).createSnapshot.snapshot;
  const event = (await owner.ok(`mutation($t: ID!) { recordTaskEvents(input: { taskId: $t, events: [{ type: OUTPUT, data: "ok" }] }) { events { id cursor } } }`, { t: task.taskId }))
    .recordTaskEvents.events[0];
  const token = (await owner.ok(`mutation { createApiToken(input: { name: "spare" }) { apiToken { id } } }`)).createApiToken.apiToken;
  const read = await owner.ok(
    `query($t: ID!) { viewer { id } contracts(first: 1) { edges { cursor } }
      timeline(first: 1) { edges { cursor node { id } } }
      task(id: $t) { conversation(first: 1) { edges { cursor } } } }`,
    { t: task.taskId },
  );
  return {
    ...task,
    ids: {
      Contract: task.contractId,
      Task: task.taskId,
      Checkpoint: cp.id,
      ConversationMessage: message,
      ConversationSnapshot: snapshot.id,
      TaskEvent: event.id,
      HistoryEvent: read.timeline.edges[0].node.id,
      User: read.viewer.id,
      ApiToken: token.id,
    },
    cursors: {
      id: read.contracts.edges[0].cursor,
      history: read.timeline.edges[0].cursor,
      taskEvent: event.cursor,
      conversation: read.task.conversation.edges[0].cursor,
    },
  };
}

beforeAll(async () => {
  // Leases as long as they go: a claim's lease lapsing mid-run (the sweep then interrupts the task)
  // would be a change in the fingerprint that no hostile value made.
  t = await startTestServer({ MAKIMA_LEASE_SECONDS: '3600' });
  user = await t.createUser('hostile');
  fx = await makeFixture(user);
});

afterAll(async () => t?.stop());

// ---- valid values: what every argument gets while another one is hostile ----

/** The type of object an ID argument names, by its name (and the field's, for `id`). */
function idTypeFor(name: string, field: string): keyof Fixture['ids'] {
  if (name === 'id' && field === 'revokeApiToken') return 'ApiToken';
  if (/^(taskId|continueFromTaskId)$/.test(name)) return 'Task';
  if (/^contractId$/.test(name)) return 'Contract';
  if (/^(checkpointId|against)$/.test(name)) return 'Checkpoint';
  if (/^(messageId|toMessageId|expectedHeadId)$/.test(name)) return 'ConversationMessage';
  if (/^(atSnapshot|toSnapshotId|fromSnapshotId)$/.test(name)) return 'ConversationSnapshot';
  if (name === 'id' && field === 'contract') return 'Contract';
  return 'Task';
}

const TEXT: Record<string, () => string> = {
  repositoryPath: () => fx.repo,
  name: () => 'a name',
  message: () => 'a message',
  branchName: () => 'hostile/branch',
  workerId: () => 'worker-1',
  protocol: () => 'acp',
  how: () => 'new',
  // importTranscript's first source, CLAUDE_CODE_JSONL: one user message of a session.
  content: () => `${JSON.stringify({ type: 'user', uuid: 'u-1', parentUuid: null, sessionId: 'hostile-session', timestamp: '2026-11-20T10:00:00Z', message: { role: 'user', content: 'hello' } })}\n`,
  error: () => 'it broke',
  // compareTasks(a:, b:): task references, as Query.task(ref:) takes them.
  a: () => fx.taskId,
  b: () => fx.taskId,
};

function valid(type: GraphQLInputType, name: string, field: string): unknown {
  const t = isNonNullType(type) ? type.ofType : type;
  if (isListType(t)) return [valid(t.ofType, name, field)];
  if (isInputObjectType(t)) return requiredFields(t, field);
  if (isEnumType(t)) return t.getValues()[0].name;
  switch (t.name) {
    case 'ID':
      return fx.ids[idTypeFor(name, field)];
    case 'Int':
      return 1;
    case 'JSON':
      return { text: 'fine' };
    case 'DateTime':
      return new Date().toISOString();
    default:
      return (TEXT[name] ?? (() => 'some text'))();
  }
}

function requiredFields(type: GraphQLInputType, field: string): Record<string, unknown> {
  const t = getNamedType(type);
  if (!isInputObjectType(t)) return {};
  const out: Record<string, unknown> = {};
  for (const f of Object.values(t.getFields())) if (isNonNullType(f.type) && f.defaultValue === undefined) out[f.name] = valid(f.type, f.name, field);
  return out;
}

/** Where the required arguments alone are not a valid request: what it needs besides them (merged into `input`). */
const COMPLETIONS: Record<string, () => Record<string, unknown>> = {
  'Query.task': () => ({ id: fx.ids.Task }),
  'Query.contract': () => ({ id: fx.ids.Contract }),
  'Mutation.forkTask': () => ({ input: { checkpointId: fx.ids.Checkpoint } }),
  'Mutation.rewindConversation': () => ({ input: { taskId: fx.ids.Task, toMessageId: fx.ids.ConversationMessage } }),
  'Mutation.advanceContractPhase': () => ({ input: { phase: 'SPECIFY' } }),
  'Mutation.recordTaskUsage': () => ({ input: { inputTokens: 1 } }),
};

/**
 * Arguments (or input fields) of which a request gives exactly one: a case that varies one of them
 * leaves the others out, or "give exactly one of" would answer it whatever the hostile value is.
 */
const ONE_OF: Record<string, string[][]> = {
  'Query.task': [['id', 'ref']],
  'Query.contract': [['id', 'ref']],
  'Mutation.forkTask': [['checkpointId', 'messageId']],
  'Mutation.rewindConversation': [
    ['contractId', 'taskId'],
    ['toMessageId', 'toSnapshotId'],
  ],
};

/** `values` without the names that may not stand beside `name` (ONE_OF). */
function withoutSiblings(values: Record<string, unknown>, name: string, coordinate: string): Record<string, unknown> {
  const siblings = (ONE_OF[coordinate] ?? []).find((group) => group.includes(name))?.filter((n) => n !== name) ?? [];
  return Object.fromEntries(Object.entries(values).filter(([k]) => !siblings.includes(k)));
}

// ---- hostile values, by type ----

interface Variant {
  label: string;
  value: unknown;
  /** The codes the answer may have: BAD_USER_INPUT unless said otherwise. */
  codes?: string[];
}

const ID_CODES = ['BAD_USER_INPUT', 'NOT_FOUND'];

function textVariants(): Variant[] {
  return [
    { label: 'NUL', value: 'a\u0000b' },
    { label: 'lone high surrogate', value: 'a\ud800b' },
    { label: 'lone low surrogate', value: '\udc00' },
    { label: '1 MB of text', value: 'x'.repeat(1 << 20) },
  ];
}

function cursorVariants(own: CursorKind): Variant[] {
  const others = (Object.keys(fx.cursors) as CursorKind[]).filter((k) => k !== own).map((k) => ({ label: `a ${k} cursor`, value: fx.cursors[k] }));
  const mine = fx.cursors[own];
  const decoded = Buffer.from(mine, 'base64').toString('utf8');
  const variants: Variant[] = [
    ...others,
    { label: 'garbage cursor', value: 'not a cursor' },
    { label: 'hex-encoded cursor', value: Buffer.from(decoded).toString('hex') },
    { label: 'base64url cursor, unpadded', value: b64(`${decoded}x`).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '') },
    { label: 'latin1 cursor', value: Buffer.from(`${decoded}é`, 'latin1').toString('base64') },
    { label: 'seq beyond 64 bits', value: b64('GPC:I:99999999999999999999999') },
    { label: 'negative seq', value: b64('GPC:N:-5') },
    { label: 'seq as a float exponent', value: b64('GPC:N:1e400') },
    { label: 'conversation depth beyond 32 bits', value: b64('CM:99999999999') },
    { label: 'task event seq beyond 32 bits', value: b64(`GPC:T:["S:${rawId(fx.taskId)}","N:99999999999"]`) },
  ];
  return variants.filter((v) => v.value !== mine);
}

/** The hostile values of a leaf (scalar or enum) position. */
function leafVariants(type: GraphQLNamedType, name: string, field: string, cursor: CursorKind | undefined): Variant[] {
  if (isEnumType(type)) return [{ label: 'unknown enum value', value: 'NOT_A_VALUE' }, { label: 'enum value with a NUL', value: `${type.getValues()[0].name}\u0000` }];
  switch (type.name) {
    case 'String':
      return [...textVariants(), ...(cursor ? cursorVariants(cursor) : [])];
    case 'ID': {
      const ids: Variant[] = [
        { label: 'global ID of an unknown type', value: b64('Foo:1'), codes: ID_CODES },
        { label: 'global ID of a known type, not a UUID', value: b64(`${idTypeFor(name, field)}:not-a-uuid`), codes: ID_CODES },
        { label: 'garbage ID', value: '%%% not an id %%%', codes: ID_CODES },
        { label: 'empty ID', value: '', codes: ID_CODES },
      ];
      // `node`/`nodes` take an ID of any type; everything else, one type only.
      if (field !== 'node' && field !== 'nodes') ids.push({ label: 'ID of another type', value: fx.ids.TaskEvent, codes: ID_CODES });
      else ids.push({ label: 'unknown type with a UUID', value: b64(`Foo:${rawId(fx.taskId)}`), codes: ID_CODES });
      return [...textVariants(), ...ids];
    }
    case 'Int':
      return [
        { label: 'negative', value: -1 },
        { label: 'largest 32-bit integer', value: 2 ** 31 - 1 },
        { label: 'beyond 32 bits', value: 2 ** 31 },
        { label: 'a fraction', value: 1.5 },
      ];
    case 'JSON':
      return [
        { label: `JSON nested ${DEEP} deep`, value: DEEP_JSON },
        { label: 'JSON with a NUL', value: { text: 'a\u0000b' } },
        { label: 'JSON with a lone surrogate key', value: { '\ud800': 1 } },
        { label: 'JSON of 2 MB', value: { text: 'x'.repeat(2 << 20) } },
      ];
    case 'DateTime':
      return [...textVariants(), { label: 'not a date', value: 'yesterday' }, { label: 'beyond the last date', value: '+275760-09-13T00:00:00.001Z' }];
    case 'Boolean':
      return [
        { label: 'a string', value: 'yes' },
        { label: 'a number', value: 1 },
      ];
    case 'Float':
      return [
        { label: 'a string', value: '1.5' },
        { label: 'a boolean', value: true },
      ];
    default:
      throw new Error(`no hostile values for scalar ${type.name}: add them to the table`);
  }
}

/**
 * Every hostile value at every position under `type` (the position itself, its fields, its items).
 * An input object's other fields are `given` (the case's valid request), else its required fields.
 */
function variantsAt(type: GraphQLInputType, name: string, field: string, cursor: CursorKind | undefined, coordinate = '', given?: unknown): Variant[] {
  const t = isNonNullType(type) ? type.ofType : type;
  if (isListType(t)) {
    const item = valid(t.ofType, name, field);
    return [
      { label: `${BIG_LIST} items`, value: Array.from({ length: BIG_LIST }, () => item) },
      ...variantsAt(t.ofType, name, field, cursor).map((v) => ({ ...v, label: `[0] ${v.label}`, value: [v.value] })),
    ];
  }
  if (isInputObjectType(t)) {
    const base = (given as Record<string, unknown> | undefined) ?? requiredFields(t, field);
    return Object.values(t.getFields()).flatMap((f) =>
      variantsAt(f.type, f.name, field, undefined).map((v) => ({ ...v, label: `.${f.name} ${v.label}`, value: { ...withoutSiblings(base, f.name, coordinate), [f.name]: v.value } })),
    );
  }
  return leafVariants(t as GraphQLNamedType, name, field, cursor);
}

// ---- the table: every field with arguments, and how to reach it ----

interface Target {
  coordinate: string;
  field: GraphQLField<unknown, unknown>;
  /** The operation around the field: `%s` is the field with its arguments. */
  wrap: (call: string, argDefs: string) => string;
}

/** The kind of cursor a connection field's after/before take, by what its edges hold. */
function cursorKindOf(field: GraphQLField<unknown, unknown>): CursorKind | undefined {
  const type = getNamedType(field.type);
  if (!isObjectType(type) || !type.getFields().edges) return undefined;
  const node = getNamedType((getNamedType(type.getFields().edges.type) as GraphQLObjectType).getFields().node.type).name;
  if (node === 'HistoryEvent') return 'history';
  if (node === 'TaskEvent') return 'taskEvent';
  if (node === 'ConversationMessage') return 'conversation';
  return 'id';
}

function targets(): Target[] {
  const schema = getSchema();
  const out: Target[] = [];
  for (const [root, keyword] of [[schema.getQueryType()!, 'query'], [schema.getMutationType()!, 'mutation']] as const) {
    for (const field of Object.values(root.getFields())) {
      if (!field.args.length) continue;
      out.push({ coordinate: `${root.name}.${field.name}`, field, wrap: (call, defs) => `${keyword}${defs ? `(${defs})` : ''} { ${call} }` });
    }
  }
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || !type.getInterfaces().some((i) => i.name === 'Node')) continue;
    for (const field of Object.values(type.getFields())) {
      if (!field.args.length) continue;
      if (!(type.name in fx.ids)) throw new Error(`no fixture of type ${type.name} to reach ${type.name}.${field.name}: add one`);
      out.push({
        coordinate: `${type.name}.${field.name}`,
        field,
        wrap: (call, defs) => `query($parent: ID!${defs ? `, ${defs}` : ''}) { node(id: $parent) { ... on ${type.name} { ${call} } } }`,
      });
    }
  }
  return out;
}

interface Case {
  target: Target;
  arg: GraphQLArgument;
  variant: Variant;
}

function operation(target: Target, args: Record<string, unknown>): { query: string; variables: Record<string, unknown> } {
  const used = target.field.args.filter((a) => a.name in args);
  const defs = used.map((a) => `$${a.name}: ${String(a.type)}`).join(', ');
  const call = `${target.field.name}${used.length ? `(${used.map((a) => `${a.name}: $${a.name}`).join(', ')})` : ''}`;
  // A connection's edges, so that it is read (asked for its __typename alone, Pothos reads nothing).
  const type = getNamedType(target.field.type);
  const selection = isScalarType(type) || isEnumType(type) ? '' : isObjectType(type) && type.getFields().edges ? ' { edges { cursor } }' : ' { __typename }';
  const variables: Record<string, unknown> = { ...args };
  if (target.coordinate.startsWith('Query.') || target.coordinate.startsWith('Mutation.')) return { query: target.wrap(`${call}${selection}`, defs), variables };
  const parent = target.coordinate.split('.')[0] as keyof Fixture['ids'];
  return { query: target.wrap(`${call}${selection}`, defs), variables: { ...variables, parent: fx.ids[parent] } };
}

function cases(): Case[] {
  const out: Case[] = [];
  for (const target of targets()) {
    const cursor = cursorKindOf(target.field);
    for (const arg of target.field.args) {
      const own = arg.name === 'after' || arg.name === 'before' ? cursor : undefined;
      for (const variant of variantsAt(arg.type, arg.name, target.field.name, own, target.coordinate, baselineOf(target)[arg.name])) out.push({ target, arg, variant });
    }
  }
  return out;
}

/** The request a case varies: every required argument valid. */
function baselineOf(target: Target): Record<string, unknown> {
  const baseline: Record<string, unknown> = {};
  for (const a of target.field.args) if (isNonNullType(a.type) && a.defaultValue === undefined) baseline[a.name] = valid(a.type, a.name, target.field.name);
  for (const [name, value] of Object.entries(COMPLETIONS[target.coordinate]?.() ?? {})) {
    baseline[name] = typeof value === 'object' && value !== null ? { ...(baseline[name] as object), ...value } : value;
  }
  return baseline;
}

/**
 * The codes a valid request may be answered with: none (it did what it was asked), or a refusal for
 * the state its objects are in (CONFLICT: a task not claimed by that worker, a phase not next) or
 * for who asks (FORBIDDEN). Never one a hostile value is answered with: the baseline would then hide
 * whether the hostile value was looked at.
 */
const BASELINE_CODES = new Set(['CONFLICT', 'FORBIDDEN']);

describe('hostile input, argument by argument', () => {
  it('sends valid requests that are not refused as bad input, so that each hostile value is what a case refuses', async () => {
    // On a fixture of their own, one after the other (archiving last): a valid mutation changes what it names.
    const main = fx;
    fx = await makeFixture(user);
    const before = JSON.parse(await fingerprint()) as Record<string, string | null>;
    try {
      const all = targets().sort((a, b) => Number(a.field.name.startsWith('archive')) - Number(b.field.name.startsWith('archive')));
      const refused: string[] = [];
      let succeeded = 0;
      for (const target of all) {
        const { query, variables } = operation(target, baselineOf(target));
        const result = await send(query, variables);
        const codes = (result.errors ?? []).map((e) => e.extensions?.code ?? '');
        if (!codes.length) succeeded++;
        else if (!codes.every((c) => BASELINE_CODES.has(c))) refused.push(`${target.coordinate}: ${JSON.stringify(result.errors).slice(0, 300)}`);
      }
      expect(refused).toEqual([]);
      // Most do what they are asked; the rest are refused only for their objects' state.
      expect(succeeded).toBeGreaterThan(all.length * 0.8);
      // What they did shows in the fingerprint the table compares: it sees users, tokens and
      // transcripts change too. (git_change_commits holds a marker only while a change that moves
      // git is in flight, so a row left there by a refused request would be the change to see.)
      const after = JSON.parse(await fingerprint()) as Record<string, string | null>;
      const changed = Object.keys(after).filter((k) => after[k] !== before[k]);
      expect(changed).toEqual(expect.arrayContaining(['users', 'tokens', 'revoked', 'transcripts']));
      expect(after.git_changes).toBe('0');
    } finally {
      fx = main;
    }
  }, 120_000);

  it('answers every hostile value of every argument with a coded client error, quickly, and changes nothing', async () => {
    const all = cases();
    // Every argument of every query and mutation field is in the table.
    const covered = new Set(all.map((c) => `${c.target.coordinate}(${c.arg.name})`));
    for (const root of [getSchema().getQueryType()!, getSchema().getMutationType()!]) {
      for (const field of Object.values(root.getFields())) for (const arg of field.args) expect(covered).toContain(`${root.name}.${field.name}(${arg.name})`);
    }
    expect(all.length).toBeGreaterThan(500);

    const before = await fingerprint();
    const gitBefore = await gitState(fx.repo);
    const failures: string[] = [];
    let slowest = 0;
    const run = async ({ target, arg, variant }: Case): Promise<string> => {
      const { query, variables } = operation(target, { ...withoutSiblings(baselineOf(target), arg.name, target.coordinate), [arg.name]: variant.value });
      const label = `${target.coordinate}(${arg.name}) ${variant.label}`;
      const result = await send(query, variables);
      slowest = Math.max(slowest, result.ms);
      const got = (result.errors ?? []).map((e) => e.extensions?.code);
      const allowed = variant.codes ?? ['BAD_USER_INPUT'];
      if (!got.length) failures.push(`${label}: no error (${JSON.stringify(result.data).slice(0, 120)})`);
      else if (!got.every((c) => CODES.has(c ?? '')) || !allowed.includes(got[0] ?? '')) failures.push(`${label}: ${JSON.stringify(result.errors).slice(0, 300)}`);
      else if (result.errors!.some((e) => e.message.length < 10)) failures.push(`${label}: a message that says nothing: ${result.errors![0].message}`);
      if (result.ms > FAST_MS) failures.push(`${label}: took ${Math.round(result.ms)} ms`);
      return label;
    };
    // A few at a time, with the database compared after each batch, so that a change is pinned to
    // the few values that could have made it.
    for (let i = 0; i < all.length; i += BATCH) {
      const labels = await Promise.all(all.slice(i, i + BATCH).map(run));
      const now = await fingerprint();
      if (now !== before) failures.push(`one of ${labels.join(' | ')} changed the database: ${before} → ${now}`);
    }
    expect(failures).toEqual([]);
    expect(await fingerprint()).toBe(before);
    expect(await gitState(fx.repo)).toBe(gitBefore);
    expect(slowest).toBeLessThan(FAST_MS);
  }, 240_000); // 500+ requests: minutes on a loaded machine, though each one is fast
});

describe('hostile input written in the document', () => {
  it('refuses literal lists, text, IDs and JSON like the same values in variables', async () => {
    const before = await fingerprint();
    const refused = async (query: string, pattern: RegExp) => {
      const result = await send(query, {});
      expect(result.errors?.map((e) => e.extensions?.code), query.slice(0, 80)).toEqual(['BAD_USER_INPUT']);
      expect(result.errors![0].message).toMatch(pattern);
      expect(result.ms).toBeLessThan(FAST_MS);
    };
    await refused(`{ timeline(first: 1, filter: { eventTypes: [${Array(150).fill('CHAT').join(', ')}] }) { edges { cursor } } }`, /filter\.eventTypes has 150 items; at most 100/);
    await refused(`{ timeline(first: 1, filter: { eventTypes: [${Array(BIG_LIST).fill('CHAT').join(', ')}] }) { edges { cursor } } }`, /more than 20000 tokens/);
    await refused(`mutation { createTask(input: { contractId: "${fx.contractId}", name: "a\\u0000b" }) { task { id } } }`, /input\.name contains a NUL/);
    await refused(`{ task(id: "${b64('Task:1')}") { id } }`, /is not an ID/);
    await refused(`mutation { createSnapshot(input: { taskId: "${fx.taskId}", metadata: ${'['.repeat(101)}1${']'.repeat(101)} }) { snapshot { id } } }`, /input\.metadata is nested more than 100 levels/);
    await refused(`mutation { createSnapshot(input: { taskId: "${fx.taskId}", metadata: ${'{a: '.repeat(5000)}1${'}'.repeat(5000)} }) { snapshot { id } } }`, /nested too deeply to read/);
    expect(await fingerprint()).toBe(before);
  });

  it('tells a request without a valid token that first, however hostile its arguments', async () => {
    for (const token of [undefined, 'mk_wrong']) {
      const start = performance.now();
      const res = await fetch(t.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query: `query($f: HistoryFilter) { timeline(filter: $f) { edges { cursor } } }`, variables: { f: { eventTypes: Array(BIG_LIST).fill('CHAT') } } }),
      });
      const result = (await res.json()) as { errors?: { extensions?: { code?: string } }[] };
      expect(result.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
      expect(performance.now() - start).toBeLessThan(FAST_MS);
    }
  });

  it('answers node and nodes with a well-formed ID of an unknown type as NOT_FOUND', async () => {
    const unknown = b64(`Foo:${rawId(fx.taskId)}`);
    for (const query of [`query($id: ID!) { node(id: $id) { id } }`, `query($id: ID!) { nodes(ids: [$id]) { id } }`]) {
      const result = await send(query, { id: unknown });
      expect(result.errors?.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
      expect(result.errors![0].message).toMatch(/there is no type Foo/);
    }
  });
});

describe('deeply nested JSON', () => {
  const store = {
    content: `mutation($t: ID!, $v: JSON!) { appendMessages(input: { taskId: $t, messages: [{ role: USER, content: $v }] }) { task { id } } }`,
    toolCalls: `mutation($t: ID!, $v: JSON) { appendMessages(input: { taskId: $t, messages: [{ role: ASSISTANT, content: "x", toolCalls: $v }] }) { task { id } } }`,
    data: `mutation($t: ID!, $v: JSON!) { recordTaskEvents(input: { taskId: $t, events: [{ type: OUTPUT, data: $v }] }) { events { id } } }`,
    metadata: `mutation($t: ID!, $v: JSON) { createSnapshot(input: { taskId: $t, metadata: $v }) { snapshot { id } } }`,
  };
  const nested = (levels: number) => JSON.parse(`${'['.repeat(levels)}1${']'.repeat(levels)}`) as unknown;

  it(`refuses JSON nested ${DEEP} levels deep in every JSON input, quickly, and accepts 100 levels`, async () => {
    const before = await fingerprint();
    for (const [name, query] of Object.entries(store)) {
      const result = await send(query, { t: fx.taskId, v: DEEP_JSON });
      expect(result.errors?.map((e) => e.extensions?.code), name).toEqual(['BAD_USER_INPUT']);
      expect(result.errors![0].message, name).toMatch(new RegExp(`${name} is nested more than 100 levels deep`));
      expect(result.ms, name).toBeLessThan(FAST_MS);
      const justOver = await send(query, { t: fx.taskId, v: nested(101) });
      expect(justOver.errors?.map((e) => e.extensions?.code), name).toEqual(['BAD_USER_INPUT']);
    }
    expect(await fingerprint()).toBe(before);
    const limit = await send(store.metadata, { t: fx.taskId, v: nested(100) });
    expect(limit.errors).toBeUndefined();
  });

  it('is measured without recursion when a service is called directly', async () => {
    const { storableJsonSize } = await import('../src/db/json.js');
    let deep: unknown = 1;
    for (let i = 0; i < DEEP; i++) deep = [deep];
    expect(() => storableJsonSize(deep, 'data', 1 << 20)).toThrow(/data is nested more than 100 levels deep/);
  });
});

describe('Checkpoint.diff within a budget', () => {
  it('refuses 30 aliased diffs of a large checkpoint quickly, and a page of diffs over the budget', async () => {
    const big = Array.from({ length: 100_000 }, (_, i) => `line ${i} of a large file\n`).join('');
    write(fx.worktree, { 'big.txt': big });
    const cp = await checkpoint(user, fx.taskId, 'large');
    const aliases = (n: number) => Array.from({ length: n }, (_, i) => `d${i}: diff { truncated files { path } }`).join(' ');
    const diffs = (n: number) => `query($id: ID!) { node(id: $id) { ... on Checkpoint { ${aliases(n)} } } }`;

    const thirty = await send(diffs(30), { id: cp.id });
    expect(thirty.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect(thirty.errors![0].message).toMatch(/Checkpoint\.diff up to 30 times.*at most 10/);
    expect(thirty.ms).toBeLessThan(FAST_MS);

    const page = `query($t: ID!, $n: Int) { task(id: $t) { checkpoints(first: $n) { edges { node { diff { truncated } } } } } }`;
    expect((await send(page, { t: fx.taskId, n: 11 })).errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect((await send(page, { t: fx.taskId })).errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']); // the default page is 20
    const fragment = `query($ids: [ID!]!) { nodes(ids: $ids) { ...D } } fragment D on Checkpoint { a: diff { truncated } b: diff { truncated } }`;
    expect((await send(fragment, { ids: Array(6).fill(cp.id) })).errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    const unbounded = `mutation($t: ID!) { appendMessages(input: { taskId: $t, messages: [{ role: USER, content: "x" }] }) { messages { task { checkpoints(first: 1) { edges { node { diff { truncated } } } } } } } }`;
    const refusedUnbounded = await send(unbounded, { t: fx.taskId });
    expect(refusedUnbounded.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect(refusedUnbounded.errors![0].message).toMatch(/an unbounded number of times/);

    // Within the budget (on the small first checkpoint, to keep the test quick).
    const ten = await send(diffs(10), { id: fx.ids.Checkpoint });
    expect(ten.errors).toBeUndefined();
    expect((await send(page, { t: fx.taskId, n: 10 })).errors).toBeUndefined();
  });
});

describe('a contract whose repository was moved away', () => {
  it('answers every operation on it with an actionable GIT_ERROR, changes nothing, and works again once it is back', async () => {
    const task = await taskOnRepo(t, user);
    write(task.worktree, { 'src/a.txt': 'changed\n' });
    const cp = await checkpoint(user, task.taskId, 'before the move');
    const [message] = await say(user, task.taskId, 'hello');
    const moved = `${task.repo}-moved`;
    fs.renameSync(task.repo, moved);
    const operations: [string, string, Record<string, unknown>][] = [
      ['createTask', `mutation($c: ID!) { createTask(input: { contractId: $c, name: "after the move" }) { task { id } } }`, { c: task.contractId }],
      ['createCheckpoint', `mutation($t: ID!) { createCheckpoint(input: { taskId: $t, message: "m" }) { checkpoint { id } } }`, { t: task.taskId }],
      ['rewindTask', `mutation($t: ID!, $c: ID!) { rewindTask(input: { taskId: $t, checkpointId: $c, mode: BOTH }) { task { id } } }`, { t: task.taskId, c: cp.id }],
      ['branchFromCheckpoint', `mutation($t: ID!, $c: ID!) { branchFromCheckpoint(input: { taskId: $t, checkpointId: $c, branchName: "moved/b" }) { branchName } }`, { t: task.taskId, c: cp.id }],
      ['forkTask at a checkpoint', `mutation($t: ID!, $c: ID!) { forkTask(input: { taskId: $t, checkpointId: $c }) { task { id } } }`, { t: task.taskId, c: cp.id }],
      ['forkTask at a message', `mutation($t: ID!, $m: ID!) { forkTask(input: { taskId: $t, messageId: $m }) { task { id } } }`, { t: task.taskId, m: message }],
      ['Checkpoint.diff', `query($c: ID!) { node(id: $c) { ... on Checkpoint { diff { patch } } } }`, { c: cp.id }],
    ];
    const before = await fingerprint();
    try {
      for (const [name, query, variables] of operations) {
        const result = await send(query, variables);
        expect(result.errors?.map((e) => e.extensions?.code), name).toEqual(['GIT_ERROR']);
        expect(result.errors![0].message, name).toContain(`is no longer at ${task.repo} (moved or deleted?): put it back at that path`);
        expect(result.ms, name).toBeLessThan(FAST_MS);
      }
      expect(await fingerprint()).toBe(before);
    } finally {
      fs.renameSync(moved, task.repo);
    }
    const back = await send(operations[6][1], operations[6][2]);
    expect(back.errors).toBeUndefined();
  });
});

describe('hostile subscription arguments', () => {
  it('end just that subscription with BAD_USER_INPUT, and the socket keeps serving', async () => {
    const client = wsClient(t.wsUrl, user.token);
    const subscriptions: [string, string, string, Record<string, unknown>][] = [
      ['timeline', 'filter', `subscription($f: HistoryFilter) { timeline(filter: $f) { seq } }`, { f: { eventTypes: Array(BIG_LIST).fill('CHAT') } }],
      ['timeline', 'filter', `subscription($f: HistoryFilter) { timeline(filter: $f) { seq } }`, { f: { contractId: b64('Foo:1') } }],
      ['timeline', 'after', `subscription($a: String) { timeline(after: $a) { seq } }`, { a: fx.cursors.taskEvent }],
      ['contractHistory', 'after', `subscription($c: ID!, $a: String) { contractHistory(contractId: $c, after: $a) { seq } }`, { c: fx.contractId, a: 'a\u0000' }],
      ['contractHistory', 'contractId', `subscription($c: ID!) { contractHistory(contractId: $c) { seq } }`, { c: 'x'.repeat(1 << 20) }],
      ['taskEvents', 'after', `subscription($t: ID!, $a: String) { taskEvents(taskId: $t, after: $a) { seq } }`, { t: fx.taskId, a: fx.cursors.history }],
      ['taskEvents', 'taskId', `subscription($t: ID!) { taskEvents(taskId: $t) { seq } }`, { t: '\ud800' }],
    ];
    const covered = new Set(subscriptions.map(([field, arg]) => `${field}(${arg})`));
    for (const field of Object.values(getSchema().getSubscriptionType()!.getFields())) for (const arg of field.args) expect(covered).toContain(`${field.name}(${arg.name})`);
    for (const [field, , query, variables] of subscriptions) {
      const s = collect(client, query, variables, field);
      // Refused before it starts: an `error` message for this operation only (src/server.ts).
      const ended = (await s.ended) as { kind: string; error?: { extensions?: { code?: string } }[] };
      expect(ended.kind, query).toBe('error');
      expect(ended.error!.map((e) => e.extensions?.code), query).toEqual(['BAD_USER_INPUT']);
    }
    // The same socket still serves: a subscription from the first event catches up.
    const live = collect(client, `subscription($a: String) { timeline(after: $a) { seq } }`, { a: b64('GPC:I:0') }, 'timeline');
    await live.count(1);
    live.stop();
    await client.dispose();
  });
});
