// Query.search: ranking, snippets, filters, identifiers and paths, isolation between users, new
// rows found as soon as they commit, keyset pages, and a MESSAGE hit's node taken by forkTask and
// rewindConversation directly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../src/generated/gql/index.js';
import { codes, startTestServer, type TestServer, type TestUser } from './harness.js';
import { appendMessages, checkpoint, ForkTask, recordTaskEvents, RewindConversation, taskOnRepo, type TaskFixture } from './fixtures.js';

const Search = graphql(`
  query Search($query: String!, $first: Int, $after: String, $filter: SearchFilter) {
    search(query: $query, first: $first, after: $after, filter: $filter) {
      edges {
        cursor
        node {
          score snippet kind createdAt
          excerpt { text truncatedBefore truncatedAfter highlights { start end text } }
          task { id name }
          contract { id }
          node { __typename id ... on ConversationMessage { role index } ... on TaskEvent { type data } ... on Checkpoint { number commitSha } }
        }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

let t: TestServer;
let alice: TestUser;
let bob: TestUser;
let a: TaskFixture;
let other: TaskFixture;
let messageIds: string[];
let sha: string;

beforeAll(async () => {
  t = await startTestServer();
  alice = await t.createUser('alice');
  bob = await t.createUser('bob');
  a = await taskOnRepo(t, alice);
  other = await taskOnRepo(t, alice);
  const appended = await appendMessages(alice, a.taskId, [
    { role: 'USER', content: 'The parser fails on nested brackets; please fix the parser.' },
    { role: 'ASSISTANT', content: [{ type: 'text', text: 'I will look at src/parser.ts and run the tests.' }], toolCalls: [{ name: 'Bash', input: { command: 'npm test -- parser' } }] },
    { role: 'USER', content: 'Parser parser parser: the parser is what matters here, the parser!' },
    { role: 'ASSISTANT', content: 'Deciding to rewrite the tokenizer instead of patching it.' },
  ]);
  messageIds = appended.messages.map((m) => m.id);
  await recordTaskEvents(alice, a.taskId, [
    { type: 'TOOL_CALL', data: { tool: 'Bash', command: 'rm -rf build/ && make' } },
    { type: 'ERROR', data: { message: "ENOENT: no such file or directory, open 'config/local.json'" } },
  ]);
  sha = (await checkpoint(alice, a.taskId, 'Rewrite the tokenizer')).commitSha;
  await appendMessages(alice, other.taskId, [
    { role: 'USER', content: 'Another task also mentions the parser once.' },
    { role: 'USER', content: 'The ts linter, the src folder and the parser settings, each on its own.' },
  ]);
  const bobTask = await taskOnRepo(t, bob);
  await appendMessages(bob, bobTask.taskId, [{ role: 'USER', content: 'Bob secretly discusses the parser and ENOENT too.' }]);
});
afterAll(async () => t?.stop());

async function hits(user: TestUser, query: string, filter?: Record<string, unknown>, first = 20) {
  return (await user.ok(Search, { query, filter, first })).search.edges.map((e) => e.node);
}

describe('search', () => {
  it('ranks the message that says it most first, and marks the matched terms in the snippet', async () => {
    const found = await hits(alice, 'parser');
    expect(found.length).toBeGreaterThanOrEqual(4);
    expect(found[0].node.id).toBe(messageIds[2]);
    for (let i = 1; i < found.length; i++) expect(found[i - 1].score).toBeGreaterThanOrEqual(found[i].score);
    expect(found[0].snippet).toContain('<mark>Parser</mark>');
    expect(found[0].kind).toBe('MESSAGE');
    expect(found[0].task.id).toBe(a.taskId);
    expect(found[0].contract?.id).toBe(a.contractId);
  });

  it('gives the text exactly as written, with the matched spans as offsets: paths, tags and </b> unchanged', async () => {
    const f = await taskOnRepo(t, alice);
    const text = 'edited src/zparser.ts: <b>bold</b> then </b> and <div class="x">zparsers</div>\nline two & more';
    await appendMessages(alice, f.taskId, [{ role: 'USER', content: text }]);
    for (const [query, marked] of [
      ['zparser', ['zparser', 'zparsers']],
      ['src/zparser.ts', ['src', 'zparser', 'ts', 'zparsers']], // a word is marked when one of its readings is one of the query's
    ] as const) {
      const [hit] = await hits(alice, query, { taskId: f.taskId });
      expect(hit.excerpt.text).toBe(text);
      expect(hit.excerpt).toMatchObject({ truncatedBefore: false, truncatedAfter: false });
      expect(hit.excerpt.highlights.map((h) => h.text)).toEqual(marked);
      for (const h of hit.excerpt.highlights) expect(text.slice(h.start, h.end)).toBe(h.text);
    }
    const [hit] = await hits(alice, 'zparser', { taskId: f.taskId });
    expect(hit.snippet).toBe('edited src/<mark>zparser</mark>.ts: <b>bold</b> then </b> and <div class="x"><mark>zparsers</mark></div>\nline two & more');
  });

  it('cuts a long text around its matches, says so, and never splits a character', async () => {
    const f = await taskOnRepo(t, alice);
    const text = `${'😀 filler '.repeat(200)}the qwzrtoken is here${' and more filler 😀'.repeat(200)}`;
    await appendMessages(alice, f.taskId, [{ role: 'USER', content: text }]);
    const [hit] = await hits(alice, 'qwzrtoken', { taskId: f.taskId });
    expect(hit.excerpt).toMatchObject({ truncatedBefore: true, truncatedAfter: true });
    expect(hit.excerpt.text.length).toBeLessThanOrEqual(240);
    expect(text).toContain(hit.excerpt.text);
    expect(hit.excerpt.highlights.map((h) => h.text)).toEqual(['qwzrtoken']);
    expect(hit.excerpt.text).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
  });

  it('finds stemmed words, phrases, exclusions and alternatives', async () => {
    expect((await hits(alice, 'decided rewriting')).map((h) => h.node.id)).toContain(messageIds[3]);
    expect((await hits(alice, '"nested brackets"')).map((h) => h.node.id)).toEqual([messageIds[0]]);
    expect((await hits(alice, '"brackets nested"')).map((h) => h.node.id)).toEqual([]);
    const excluded = (await hits(alice, 'parser -brackets')).map((h) => h.node.id);
    expect(excluded).not.toContain(messageIds[0]);
    expect(excluded).toContain(messageIds[2]);
    const either = (await hits(alice, 'tokenizer or brackets', { kinds: ['MESSAGE'] })).map((h) => h.node.id);
    expect(new Set(either)).toEqual(new Set([messageIds[0], messageIds[3]]));
  });

  it('finds identifiers, paths, shell commands in tool calls, and a sha by its prefix', async () => {
    const path = await hits(alice, 'src/parser.ts');
    expect(path.map((h) => h.node.id)).toContain(messageIds[1]);
    expect(path[0].snippet).toContain('<mark>');
    expect((await hits(alice, 'parser.ts')).map((h) => h.node.id)).toContain(messageIds[1]);
    // A path's parts must be in a row: src, parser and ts scattered over a message are no match.
    expect((await hits(alice, 'src/parser.ts')).map((h) => h.task.id)).not.toContain(other.taskId);
    expect((await hits(alice, 'parser.ts', { taskId: other.taskId }))).toEqual([]);
    const enoent = await hits(alice, 'ENOENT');
    expect(enoent.map((h) => [h.kind, h.node.__typename])).toEqual([['TASK_EVENT', 'TaskEvent']]);
    expect(enoent[0].snippet).toContain('<mark>ENOENT</mark>');
    expect((await hits(alice, '"rm -rf build"')).map((h) => h.kind)).toEqual(['TASK_EVENT']);
    expect((await hits(alice, 'npm test')).map((h) => h.node.id)).toContain(messageIds[1]);
    const bySha = await hits(alice, sha.slice(0, 8));
    expect(bySha.map((h) => h.node)).toEqual([expect.objectContaining({ __typename: 'Checkpoint', commitSha: sha })]);
    expect((await hits(alice, 'tokenizer', { kinds: ['CHECKPOINT'] })).map((h) => h.kind)).toEqual(['CHECKPOINT']);
  });

  it('filters by task, contract, kind, role and time', async () => {
    expect(new Set((await hits(alice, 'parser', { taskId: other.taskId })).map((h) => h.task.id))).toEqual(new Set([other.taskId]));
    expect(new Set((await hits(alice, 'parser', { contractId: a.contractId })).map((h) => h.task.id))).toEqual(new Set([a.taskId]));
    expect((await hits(alice, 'parser', { roles: ['ASSISTANT'] })).map((h) => h.node.id)).toEqual([messageIds[1]]);
    expect(await hits(alice, 'ENOENT', { kinds: ['MESSAGE'] })).toEqual([]);
    expect(await hits(alice, 'parser', { since: new Date(Date.now() + 60_000).toISOString() })).toEqual([]);
    expect((await hits(alice, 'parser', { until: new Date(Date.now() + 60_000).toISOString() })).length).toBeGreaterThan(0);
  });

  it("never shows another user's data, even when they name it", async () => {
    expect((await hits(bob, 'parser')).map((h) => h.task.id)).not.toContain(a.taskId);
    expect(await hits(bob, 'parser', { taskId: a.taskId })).toEqual([]);
    expect((await hits(alice, 'secretly')).length).toBe(0);
  });

  it('finds a new message as soon as it is appended', async () => {
    expect(await hits(alice, 'xylophone')).toEqual([]);
    const { messages } = await appendMessages(alice, other.taskId, [{ role: 'ASSISTANT', content: 'Playing the xylophone now.' }]);
    expect((await hits(alice, 'xylophone')).map((h) => h.node.id)).toEqual([messages[0].id]);
  });

  it('pages with cursors, without gaps or repeats', async () => {
    const all = (await hits(alice, 'parser', undefined, 100)).map((h) => h.node.id);
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = (await alice.ok(Search, { query: 'parser', first: 2, after })).search;
      seen.push(...page.edges.map((e) => e.node.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor!;
    }
    expect(seen).toEqual(all);
  });

  it('refuses an empty query, one without searchable words, a bad cursor and reversed times', async () => {
    expect(codes(await alice.gql(Search, { query: '   ' }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await alice.gql(Search, { query: '!!! ---' }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await alice.gql(Search, { query: 'parser', after: 'bm90IGEgY3Vyc29y' }))).toEqual(['BAD_USER_INPUT']);
    const since = new Date().toISOString();
    expect(codes(await alice.gql(Search, { query: 'parser', filter: { since, until: new Date(Date.now() - 60_000).toISOString() } }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await t.gql(Search, { query: 'parser' }))).toEqual(['UNAUTHENTICATED']);
  });

  it("gives a MESSAGE hit's node to forkTask(messageId:) and rewindConversation(toMessageId:) as it is", async () => {
    const [hit] = await hits(alice, '"nested brackets"');
    const fork = await alice.ok(ForkTask, { input: { taskId: a.taskId, messageId: hit.node.id } });
    expect(fork.forkTask.task.messageCount).toBe(1);
    const rewound = await alice.ok(RewindConversation, { input: { taskId: a.taskId, toMessageId: hit.node.id } });
    expect(rewound.rewindConversation.task.messageCount).toBe(1);
  });
});
