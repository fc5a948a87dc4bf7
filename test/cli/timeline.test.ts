// `makima timeline`: the newest events as a table or JSON lines, with filters; and `--follow`,
// which prints events as they happen and, after a server restart, resumes from its last cursor
// without missing or repeating an event.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../../src/generated/gql/index.js';
import { postGraphql, startTestServer, type TestServer, type TestUser } from '../harness.js';
import { startServer } from '../../src/server.js';
import { AppendMessages, say, taskOnRepo, type HistoryFilter } from '../fixtures.js';
import { runMakima, spawnMakima, type Spawned } from './run.js';

let t: TestServer;
const followers: Spawned[] = [];
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  for (const f of followers) await f.stop('SIGKILL');
  await t?.stop();
});

const env = (user: TestUser) => ({ MAKIMA_URL: t.url, MAKIMA_TOKEN: user.token });

interface Event {
  seq: string;
  eventType: string;
  eventSubtype: string | null;
  contract: { id: string } | null;
}

const Timeline = graphql(`
  query NewestEvents($filter: HistoryFilter) { timeline(first: 100, filter: $filter) { edges { node { seq eventType eventSubtype contract { id } } } } }
`);

/** The user's events, newest first, as the API lists them. */
async function timeline(user: TestUser, filter?: HistoryFilter): Promise<Event[]> {
  return (await user.ok(Timeline, { filter })).timeline.edges.map((e) => e.node);
}

function jsonLines(output: string): Event[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
}

describe('makima timeline', () => {
  it('prints the newest events as a table, newest first', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    await say(user, f.taskId, 'hello');
    const newest = (await timeline(user)).slice(0, 3);
    const result = await runMakima(['timeline', '--first', '3'], env(user));
    expect(result.code).toBe(0);
    const [head, ...rows] = result.stdout.trim().split('\n');
    expect(head.trim().split(/\s{2,}/)).toEqual(['time', 'event', 'phase', 'contract', 'task', 'by', 'details']);
    expect(rows).toHaveLength(3);
    rows.forEach((row, i) => expect(row).toContain(`${newest[i].eventType}/${newest[i].eventSubtype}`));
    expect(rows[0]).toMatch(/CHAT\/message\s+RESEARCH\s+c\s+worker task\s+\S+ \(token "default"\)\s+\{"count":1/);
  });

  it('filters by type and contract and prints JSON lines with --json', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    const g = await taskOnRepo(t, user);
    await say(user, f.taskId, 'one', 'two');
    await say(user, g.taskId, 'elsewhere');
    await say(user, f.taskId, 'three');
    const result = await runMakima(['timeline', '--json', '--type', 'chat', '--contract', f.contractId, '--first', '50'], env(user));
    expect(result.code).toBe(0);
    const printed = jsonLines(result.stdout);
    const expected = await timeline(user, { eventTypes: ['CHAT'], contractId: f.contractId });
    expect(printed.map((e) => e.seq)).toEqual(expected.map((e) => e.seq));
    expect(printed).toHaveLength(2);
    expect(printed.every((e) => e.eventType === 'CHAT' && e.contract?.id === f.contractId)).toBe(true);
  });

  it('refuses an unknown event type with a clear message', async () => {
    const user = await t.createUser();
    const result = await runMakima(['timeline', '--type', 'gossip'], env(user));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/option '--type <type>' argument 'gossip' is invalid. expected one of TASK, CHAT, CHECKPOINT, PHASE, FILE/);
  });
});

describe('makima timeline --follow', () => {
  it('prints history oldest first, then live events, and survives a server restart without missing or repeating one', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    await say(user, f.taskId, 'before');
    const before = await timeline(user);
    const follower = spawnMakima(['timeline', '--follow', '--json', '--first', '3'], env(user));
    followers.push(follower);
    const printed = () => jsonLines(follower.output()).map((e) => e.seq);
    const seen = (seq: string) => follower.waitFor(new RegExp(`"seq":"${seq}"`));

    await seen(before[0].seq);
    expect(printed()).toEqual([before[2].seq, before[1].seq, before[0].seq]);

    await say(user, f.taskId, 'live');
    await seen((await timeline(user))[0].seq);

    // Events happen while the follower is cut off: they are written through another server on the
    // same database while the one it follows is down.
    await t.restart(async () => {
      const side = await startServer({ config: { ...t.config, port: 0 }, db: t.db, keepDatabase: true });
      const appended = await postGraphql(side.url, AppendMessages, { input: { taskId: f.taskId, messages: [{ role: 'USER', content: 'while down' }] } }, user.token);
      expect(appended.errors).toBeUndefined();
      await side.stop();
    });
    await say(user, f.taskId, 'after the restart');
    const all = (await timeline(user)).map((e) => e.seq).reverse();
    await seen(all[all.length - 1]);
    await follower.waitFor(/reconnected; resuming after event \d+/);

    expect(printed()).toEqual(all.slice(all.indexOf(before[2].seq)));
    expect(follower.output()).toContain('connection lost; reconnecting');
    expect(await follower.stop('SIGINT')).toBe(0);
  });

  it('prints human-readable lines and exits 0 on Ctrl-C', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    const follower = spawnMakima(['timeline', '--follow', '--type', 'CHAT'], env(user));
    followers.push(follower);
    // Nothing matches yet: the follower starts after the newest event of any type, so a message
    // sent before its subscription is open is not missed.
    await say(user, f.taskId, 'hello there');
    await follower.waitFor(/CHAT\/message\s+RESEARCH\s+c › worker task\s+by \S+ \(token "default"\)\s+\{"count":1/);
    await follower.waitFor(/following live events; Ctrl-C stops/);
    await say(user, f.taskId, 'one', 'two');
    await follower.waitFor(/CHAT\/message\s+RESEARCH\s+c › worker task\s+by \S+ \(token "default"\)\s+\{"count":2/);
    expect(await follower.stop('SIGINT')).toBe(0);
  });
});
