// The real `makima` binary for the operator's commands: `token create|list|revoke`, `task-cancel` (and the
// reference worker stopping its agent when its task is cancelled), `task-archive`,
// `contract-archive`, the actor in `timeline`, and `user create` through a running server that
// holds the embedded database.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContract, createTask, taskOnRepo } from '../fixtures.js';
import { codes, postGraphql, startTestServer, tempDir, TEST_DATABASE_URL, type TestServer, type TestUser } from '../harness.js';
import { runMakima, spawnMakima, type Spawned } from './run.js';

const AGENT = fileURLToPath(new URL('../fixtures/agent.mjs', import.meta.url));

let t: TestServer;
let user: TestUser;
let env: Record<string, string>;
const spawned: Spawned[] = [];

beforeAll(async () => {
  t = await startTestServer({ MAKIMA_LEASE_SWEEP_MS: '100' });
  user = await t.createUser('operator');
  env = { MAKIMA_URL: t.url, MAKIMA_TOKEN: user.token };
}, 60_000);
afterAll(async () => {
  for (const s of spawned) await s.stop('SIGKILL');
  await t?.stop();
});

async function makima(args: string[], extra: Record<string, string> = {}) {
  const result = await runMakima(args, { ...env, ...extra });
  if (result.code !== 0) throw new Error(`makima ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

const ViewerName = `query { viewer { name } }`;
const TaskState = `query($id: ID!) { task(id: $id) { status archivedAt worktreePath } }`;

describe('makima token', () => {
  it('creates a token (printed once), lists it without the secret, and revokes it', async () => {
    const created = JSON.parse(await makima(['token', 'create', '--name', 'ci', '--scope', 'read', '--expires', '30d', '--json']));
    expect(created.apiToken).toMatchObject({ name: 'ci', scope: 'READ' });
    expect(Date.parse(created.apiToken.expiresAt)).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    expect((await postGraphql(t.url, ViewerName, {}, created.token)).data).toEqual({ viewer: { name: 'operator' } });

    const listed = await makima(['token', 'list']);
    expect(listed).toMatch(/ci\s+READ\s+valid/);
    expect(listed).not.toContain(created.token);

    expect(await makima(['token', 'revoke', created.apiToken.id])).toContain('revoked token ci');
    expect(codes(await postGraphql(t.url, ViewerName, {}, created.token))).toEqual(['UNAUTHENTICATED']);
    expect(await makima(['token', 'list'])).toMatch(/ci\s+READ\s+revoked/);
  });

  it('says which scope a refused command needs', async () => {
    const created = JSON.parse(await makima(['token', 'create', '--name', 'dash', '--scope', 'READ', '--json']));
    const refused = await runMakima(['token', 'create', '--name', 'more'], { ...env, MAKIMA_TOKEN: created.token });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('FORBIDDEN: createApiToken needs a FULL token');
    const bad = await runMakima(['token', 'create', '--name', 'x', '--scope', 'admin'], env);
    expect(bad.stderr).toContain('--scope must be one of FULL, READ, WORKER');
  });
});

describe('makima task-cancel, task-archive, contract-archive', () => {
  it('cancels a pending task, archives it, then archives its contract', async () => {
    const f = await taskOnRepo(t, user);
    expect(await makima(['task-cancel', f.taskId, '--reason', 'duplicate'])).toContain('cancelled worker task');
    expect(await makima(['task-archive', f.taskId])).toContain('archived worker task');
    expect(fs.existsSync(f.worktree)).toBe(false);
    const state = (await user.ok(TaskState, { id: f.taskId })).task;
    expect(state).toMatchObject({ status: 'CANCELLED', worktreePath: null });
    // The contract's supervisor is still PENDING: contract-archive cancels it and archives everything.
    expect(await makima(['contract-archive', f.contractId])).toContain('and its 2 tasks');
    const timeline = await makima(['timeline', '--json']);
    const archived = timeline
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
      .find((e) => e.eventSubtype === 'archived' && e.eventType === 'PHASE');
    expect(archived.actor).toEqual({ description: 'operator (token "default")' });
  });

  it('stops the agent of a running task through the reference worker', async () => {
    const u = await t.createUser('runner');
    const repo = await t.makeRepo();
    const contract = await createContract(u, repo);
    // The supervisor is held by another worker, so the one below claims the task.
    await u.ok(`mutation { claimTask(input: { workerId: "w-supervisor", leaseSeconds: 600 }) { assignment { task { id } } } }`);
    const task = await createTask(u, contract.id, 'long job');
    // The worker machine has a WORKER token: enough for the whole worker protocol and its reports.
    const workerToken = (await u.ok(`mutation { createApiToken(input: { name: "machine", scope: WORKER }) { token } }`)).createApiToken.token;
    const worker = spawnMakima(['worker', '--once', '--json', '--worker-id', 'w-cancel', '--lease-seconds', '2', '--command', `'${process.execPath}' '${AGENT}'`], {
      MAKIMA_URL: t.url,
      MAKIMA_TOKEN: workerToken,
      AGENT_MODE: 'hang',
      AGENT_CONTEXT_FILE: path.join(tempDir(), 'context.json'),
    });
    spawned.push(worker);
    const started = await worker.waitFor(/"event":"agent_started","taskId":"([^"]+)","pid":(\d+)/);
    const agentPid = Number(started[2]);
    const claimedTask = started[1];
    expect(claimedTask).toBe(task.id);
    expect(await makima(['task-cancel', claimedTask, '--reason', 'changed my mind'], { MAKIMA_TOKEN: u.token })).toContain('asked');
    // The worker learns it at its next renewal (every second here) and stops the agent.
    await worker.waitFor(/"event":"cancelled"/, 20_000);
    expect(await worker.stop()).toBe(0);
    expect(() => process.kill(agentPid, 0)).toThrow();
    expect((await u.ok(TaskState, { id: claimedTask })).task.status).toBe('CANCELLED');
    const recorded = await u.ok(`query($id: ID!) { task(id: $id) { conversation(first: 5) { edges { node { content } } } history(first: 20) { edges { node { eventSubtype actor { description } } } } } }`, { id: claimedTask });
    expect(recorded.task.conversation.edges.length).toBeGreaterThan(0); // the agent's report, made with the WORKER token
    const cancelled = recorded.task.history.edges.find((e: any) => e.node.eventSubtype === 'cancelled');
    expect(cancelled.node.actor.description).toBe('worker w-cancel (runner, token "machine")');
  });
});

describe('makima user create', () => {
  // Only the embedded database has a data directory a server holds; on PostgreSQL the command opens the database itself.
  it.skipIf(TEST_DATABASE_URL)('goes through the running server when it holds the embedded database', async () => {
    const root = tempDir();
    const serveEnv = { MAKIMA_DATA_DIR: path.join(root, 'data'), MAKIMA_REPOS_ROOT: root, PORT: '0', MAKIMA_LOG_LEVEL: 'warn' };
    const server = spawnMakima(['serve', '--json'], serveEnv);
    spawned.push(server);
    const [line] = await server.waitFor(/^\{.*"url".*\}$/m, 60_000);
    const { url } = JSON.parse(line) as { url: string };
    // The local user (the first, so the administrator) is the default identity: its token is in the data dir.
    const created = await runMakima(['user', 'create', '--name', 'second', '--json'], { ...serveEnv, MAKIMA_URL: url });
    expect(created.stderr).toBe('');
    const second = JSON.parse(created.stdout) as { id: string; name: string; token: string };
    expect(second.name).toBe('second');
    expect((await postGraphql(url, ViewerName, {}, second.token)).data).toEqual({ viewer: { name: 'second' } });
    // A non-administrator's token is refused, and says so.
    const refused = await runMakima(['user', 'create', '--name', 'third'], { ...serveEnv, MAKIMA_URL: url, MAKIMA_TOKEN: second.token });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('only the administrator');
    await server.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }, 120_000);
});
