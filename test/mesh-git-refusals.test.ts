// The mesh's refusals (docs/design.md §11): every push or fetch that must not happen is refused with
// the reason, by a real server to a real git client, and changes nothing. Lapsed leases, another
// task's worker, another user's token, a READ token, no token, URLs that name no repository (or an
// encoded ".."), a repository moved away, and a push over MAKIMA_MAX_PUSH_BYTES.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloneTask, commitFiles, git, runGit } from './git-client.js';
import { eventually, rawId, startTestServer, tempDir, type TestServer, type TestUser } from './harness.js';

const MAX_PUSH_BYTES = 256 * 1024;
let t: TestServer;

beforeAll(async () => {
  t = await startTestServer({ MAKIMA_MAX_PUSH_BYTES: String(MAX_PUSH_BYTES) });
});
afterAll(async () => {
  await t.stop();
});

const Ops = {
  contract: `mutation($input: CreateContractInput!) { createContract(input: $input) { contract { id gitUrl supervisor { id } } } }`,
  task: `mutation($input: CreateTaskInput!) { createTask(input: $input) { task { id branch } } }`,
  claim: `mutation($input: ClaimTaskInput!) { claimTask(input: $input) { assignment { task { id } branch commitSha gitUrl } } }`,
  token: `mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { token } }`,
};

interface Claimed {
  user: TestUser;
  repo: string;
  gitUrl: string;
  assignment: { task: { id: string }; branch: string; commitSha: string; gitUrl: string };
}

/** A new user's contract, its supervisor claimed remote by `workerId`. */
async function claimed(workerId: string, leaseSeconds = 300): Promise<Claimed> {
  const user = await t.createUser(workerId);
  const repo = await t.makeRepo({ 'README.md': '# refusals\n' });
  const contract = (await user.ok(Ops.contract, { input: { name: 'refusals', repositoryPath: repo } })).createContract.contract;
  const { assignment } = (await user.ok(Ops.claim, { input: { workerId, remote: true, leaseSeconds } })).claimTask;
  return { user, repo, gitUrl: contract.gitUrl, assignment };
}

/** A GET with the path exactly as written (fetch would resolve "..", a client might not). */
function rawGet(urlPath: string, token: string): Promise<{ status: number; code: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: t.server.port, path: urlPath, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, code: res.headers['x-makima-error-code'] as string | undefined, body }));
    });
    req.on('error', reject).end();
  });
}

const branchOf = (repo: string, branch: string) => git(repo, ['rev-parse', `refs/heads/${branch}`]);

describe('pushes that are refused', () => {
  it('from a worker whose lease lapsed', async () => {
    const c = await claimed('w-lapsed', 1);
    const work = await cloneTask(c.gitUrl, c.user.token, c.assignment);
    await commitFiles(work, { 'late.txt': 'too late\n' });
    // The lease lapses by the database's clock, which no event of this process announces.
    await eventually(async () => {
      const [row] = await t.db.query<{ lapsed: boolean }>('SELECT lease_expires_at < clock_timestamp() AS lapsed FROM tasks WHERE id = $1', [rawId(c.assignment.task.id)]);
      return row.lapsed;
    }, 'the lease to lapse');
    const push = await runGit(work, ['push', 'origin', `HEAD:refs/heads/${c.assignment.branch}`], { token: c.user.token, workerId: 'w-lapsed' });
    expect(push.code).not.toBe(0);
    expect(push.stderr).toMatch(/remote: worker w-lapsed holds no live lease on a task of this contract/);
    expect(await branchOf(c.repo, c.assignment.branch)).toBe(c.assignment.commitSha);
  });

  it("from the worker of another task of the same contract", async () => {
    const c = await claimed('w-one');
    const other = (await c.user.ok(Ops.task, { input: { contractId: (await t.db.prisma.task.findUniqueOrThrow({ where: { id: rawId(c.assignment.task.id) } })).contractId, name: 'other' } })).createTask.task;
    const second = (await c.user.ok(Ops.claim, { input: { workerId: 'w-two', remote: true } })).claimTask.assignment;
    expect(second.task.id).toBe(other.id);
    const work = await cloneTask(c.gitUrl, c.user.token, c.assignment);
    await commitFiles(work, { 'intruder.txt': 'not mine\n' });
    const push = await runGit(work, ['push', 'origin', `HEAD:refs/heads/${c.assignment.branch}`, `HEAD:refs/makima/tasks/${rawId(c.assignment.task.id)}/x`], {
      token: c.user.token,
      workerId: 'w-two',
    });
    expect(push.code).not.toBe(0);
    expect(push.stderr).toMatch(new RegExp(`refs/heads/${c.assignment.branch} refused: worker w-two may push only the branch of a task whose live lease it holds \\(${second.branch}\\)`));
    expect(push.stderr).toMatch(/refs\/makima\/tasks\/.*\/x refused/);
    expect(await branchOf(c.repo, c.assignment.branch)).toBe(c.assignment.commitSha);
    expect(await git(c.repo, ['for-each-ref', 'refs/makima/tasks/'])).toBe('');
  });

  it("with another user's token: the repository does not exist for it (404)", async () => {
    const c = await claimed('w-owner');
    const stranger = await t.createUser('stranger');
    const work = await cloneTask(c.gitUrl, c.user.token, c.assignment);
    await commitFiles(work, { 'x.txt': 'x\n' });
    const push = await runGit(work, ['push', 'origin', `HEAD:refs/heads/${c.assignment.branch}`], { token: stranger.token, workerId: 'w-owner' });
    expect(push.code).not.toBe(0);
    expect(push.stderr).toMatch(/remote: repository not found: no contract .* of yours/);
    const clone = await runGit(tempDir(), ['clone', c.gitUrl, 'copy'], { token: stranger.token });
    expect(clone.code).not.toBe(0);
    expect(clone.stderr).toMatch(/repository not found/);
    expect(await branchOf(c.repo, c.assignment.branch)).toBe(c.assignment.commitSha);
  });

  it('with a READ token, even naming the worker that holds the lease', async () => {
    const c = await claimed('w-read');
    const read = (await c.user.ok(Ops.token, { input: { name: 'reader', scope: 'READ' } })).createApiToken.token;
    const work = await cloneTask(c.gitUrl, read, c.assignment);
    await commitFiles(work, { 'r.txt': 'r\n' });
    const push = await runGit(work, ['push', 'origin', `HEAD:refs/heads/${c.assignment.branch}`], { token: read, workerId: 'w-read' });
    expect(push.code).not.toBe(0);
    expect(push.stderr).toMatch(/remote: API token "reader" is READ-only: pushing needs a WORKER or FULL token/);
    expect(await branchOf(c.repo, c.assignment.branch)).toBe(c.assignment.commitSha);
  });

  it('without a Makima-Worker header', async () => {
    const c = await claimed('w-anonymous');
    const work = await cloneTask(c.gitUrl, c.user.token, c.assignment);
    await commitFiles(work, { 'a.txt': 'a\n' });
    const push = await runGit(work, ['push', 'origin', `HEAD:refs/heads/${c.assignment.branch}`], { token: c.user.token });
    expect(push.code).not.toBe(0);
    expect(push.stderr).toMatch(/remote: a push must name its worker: .*Makima-Worker/);
  });

  it('larger than MAKIMA_MAX_PUSH_BYTES', async () => {
    const c = await claimed('w-large');
    const work = await cloneTask(c.gitUrl, c.user.token, c.assignment);
    // Random bytes do not compress: the pack is about as large as the file.
    fs.writeFileSync(path.join(work, 'big.bin'), crypto.randomBytes(MAX_PUSH_BYTES * 2));
    await git(work, ['add', 'big.bin']);
    await git(work, ['commit', '--quiet', '-m', 'too big']);
    const push = await runGit(work, ['push', 'origin', `HEAD:refs/heads/${c.assignment.branch}`], { token: c.user.token, workerId: 'w-large' });
    expect(push.code).not.toBe(0);
    expect(push.stderr).toMatch(/pack exceeds maximum allowed size|MAKIMA_MAX_PUSH_BYTES/);
    expect(await branchOf(c.repo, c.assignment.branch)).toBe(c.assignment.commitSha);
  });
});

describe('requests that name no repository of the caller', () => {
  it('without a token: 401 with WWW-Authenticate, and git fails', async () => {
    const c = await claimed('w-401');
    const res = await fetch(`${c.gitUrl}/info/refs?service=git-upload-pack`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="makima"/);
    expect(await res.text()).toMatch(/an API token is required/);
    const clone = await runGit(tempDir(), ['clone', c.gitUrl, 'copy']);
    expect(clone.code).not.toBe(0);
  });

  it('takes the token as the password of Basic authentication (a credential helper)', async () => {
    const c = await claimed('w-basic');
    const basic = Buffer.from(`anyone:${c.user.token}`).toString('base64');
    const res = await fetch(`${c.gitUrl}/info/refs?service=git-upload-pack`, { headers: { authorization: `Basic ${basic}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-git-upload-pack-advertisement');
  });

  it.each([
    ['no contract id', '/git/', /not a repository URL/],
    ['an encoded ".."', '/git/%2E%2E.git/info/refs?service=git-upload-pack', /"\.\." is not a Contract ID/],
    ['an encoded path around the id', '/git/%2E%2E%2F%2E%2E%2Fetc.git/info/refs?service=git-upload-pack', /is not a Contract ID/],
    ['a ".." path out of the repository', '/git/ID.git/../../../etc/passwd', /not a repository URL/],
    ['a path after the repository', '/git/ID.git/objects/info/packs', /is not served: makima serves git's smart HTTP protocol only/],
    ['a dumb-protocol file', '/git/ID.git/HEAD', /is not served/],
    ['an unknown contract', `/git/${encodeURIComponent(Buffer.from('Contract:00000000-0000-4000-8000-000000000000').toString('base64'))}.git/info/refs?service=git-upload-pack`, /repository not found/],
  ])('%s: 404 saying what is served', async (_name, urlPath, message) => {
    const c = await claimed(`w-url-${crypto.randomBytes(3).toString('hex')}`);
    const id = new URL(c.gitUrl).pathname.replace(/^\/git\//, '').replace(/\.git$/, '');
    const res = await rawGet(urlPath.replace('ID', id), c.user.token);
    expect(res.status).toBe(404);
    expect(res.code).toBe('NOT_FOUND');
    expect(res.body).toMatch(message);
  });

  it('a repository moved away: git prints where it should be', async () => {
    const c = await claimed('w-moved');
    const moved = `${c.repo}-moved`;
    fs.renameSync(c.repo, moved);
    try {
      const clone = await runGit(tempDir(), ['clone', c.gitUrl, 'copy'], { token: c.user.token });
      expect(clone.code).not.toBe(0);
      expect(clone.stderr).toMatch(new RegExp(`remote: the repository of contract .* is no longer at ${c.repo} \\(moved or deleted\\?\\)`));
    } finally {
      fs.renameSync(moved, c.repo);
    }
    await git(tempDir(), ['clone', '--quiet', c.gitUrl, 'copy'], { token: c.user.token });
  });
});
