// Imported sessions take no worktree and no branch (docs/design.md §12): a folder of sessions leaves
// the repository's branches as they were; a checkpoint of a commit already in the repository, a
// rewind and an archive need none either; the first claim gives the task its branch (and, local, its
// worktree), as a step of the claim's change. A contract made with a branchless supervisor (as
// capture makes one) adds no branch either until that supervisor is claimed.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { simpleGit } from 'simple-git';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../src/generated/gql/index.js';
import { rawId, startTestServer, type TestServer, type TestUser } from './harness.js';
import { ClaimTask, createContract, CreateCheckpoint, ResumeTask, RewindTask } from './fixtures.js';

const ImportTranscript = graphql(`
  mutation ImportBranchless($input: ImportTranscriptInput!) {
    importTranscript(input: $input) { task { id branch worktreePath baseCommit headCommit } messageCount }
  }
`);
const CreateBranchlessContract = graphql(`
  mutation CreateBranchlessContract($input: CreateContractInput!) {
    createContract(input: $input) { contract { id supervisor { id branch worktreePath status } } }
  }
`);
const ArchiveTask = `mutation($id: ID!) { archiveTask(input: { taskId: $id }) { task { id archivedAt branch } } }`;

const session = fs.readFileSync(path.join(import.meta.dirname, 'fixtures', 'claude-code', 'session.jsonl'), 'utf8');
const SESSION_ID = '5b1f0c2e-8d2a-4c1e-9a57-0f3c2d1e4b6a';

let t: TestServer;
let alice: TestUser;
let repo: string;
let contractId: string;

beforeAll(async () => {
  t = await startTestServer();
  alice = await t.createUser('alice');
  repo = await t.makeRepo({ 'README.md': '# r\n', 'src/a.ts': 'export const a = 1;\n' });
  contractId = (await createContract(alice, repo)).id;
});
afterAll(async () => t?.stop());

/** The repository's branches and every ref with its sha: what an import must leave as it was. */
async function branches(): Promise<string> {
  return simpleGit(repo).raw(['for-each-ref', '--format=%(refname) %(objectname)', 'refs/heads']);
}

async function importSession(n: number) {
  const content = session.replaceAll(SESSION_ID, `5b1f0c2e-8d2a-4c1e-9a57-${String(n).padStart(12, '0')}`);
  return (await alice.ok(ImportTranscript, { input: { contractId, source: 'CLAUDE_CODE_JSONL', content } })).importTranscript;
}

/** A commit of the repository made without touching its branches or index (as `makima capture` makes one). */
function danglingCommit(file: string, text: string, parent = 'HEAD'): string {
  fs.writeFileSync(path.join(repo, file), text);
  const env = { ...process.env, GIT_INDEX_FILE: path.join(repo, '.git', 'tmp-index') };
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, env, encoding: 'utf8' }).trim();
  git('read-tree', 'HEAD');
  git('add', '-A');
  const tree = git('write-tree');
  fs.rmSync(env.GIT_INDEX_FILE);
  return git('commit-tree', tree, '-p', parent, '-m', `capture ${file}`);
}

describe('importTranscript', () => {
  it('leaves the branch list unchanged for a folder of sessions, each task with no branch and no worktree', async () => {
    const before = await branches();
    const worktreesBefore = await simpleGit(repo).raw(['worktree', 'list', '--porcelain']);
    const imported = [];
    for (let n = 1; n <= 5; n++) imported.push(await importSession(n));
    expect(await branches()).toBe(before);
    expect(await simpleGit(repo).raw(['worktree', 'list', '--porcelain'])).toBe(worktreesBefore);
    const head = (await simpleGit(repo).revparse(['HEAD'])).trim();
    for (const { task } of imported) expect(task).toMatchObject({ branch: null, worktreePath: null, baseCommit: head, headCommit: head });
    const created = await t.db.prisma.historyEvent.findFirstOrThrow({ where: { taskId: rawId(imported[0].task.id), eventSubtype: 'created' } });
    expect(created.eventData).toMatchObject({ branch: null });
  });

  it('records a commit already in the repository as a checkpoint, and rewinds, without a branch', async () => {
    const { task } = await importSession(10);
    const before = await branches();
    const first = danglingCommit('src/b.ts', 'export const b = 2;\n');
    const second = danglingCommit('src/c.ts', 'export const c = 3;\n', first);
    const cp1 = (await alice.ok(CreateCheckpoint, { input: { taskId: task.id, message: 'turn 1', commitSha: first } })).createCheckpoint.checkpoint;
    const cp2 = (await alice.ok(CreateCheckpoint, { input: { taskId: task.id, message: 'turn 2', commitSha: second } })).createCheckpoint.checkpoint;
    expect(cp1.commitSha).toBe(first);
    expect(cp2.filesChanged.map((f) => f.path)).toEqual(['src/c.ts']);
    expect(cp2.snapshot?.messageCount).toBe(4);
    // The same commit again is the same checkpoint (a capture retried after a lost answer).
    const again = (await alice.ok(CreateCheckpoint, { input: { taskId: task.id, message: 'turn 2', commitSha: second } })).createCheckpoint.checkpoint;
    expect(again.id).toBe(cp2.id);
    const rewound = (await alice.ok(RewindTask, { input: { taskId: task.id, checkpointId: cp1.id, mode: 'CODE' } })).rewindTask;
    expect(rewound.task.headCommit).toBe(first);
    expect(rewound.backupCheckpoint?.commitSha).toBe(second);
    expect(await branches()).toBe(before);
    const refs = await simpleGit(repo).raw(['for-each-ref', '--format=%(refname)', `refs/makima/checkpoints/${rawId(task.id)}/`]);
    expect(refs.trim().split('\n')).toHaveLength(3);
  });

  it('gives the task its branch and worktree at its first claim, at its head commit', async () => {
    const { task } = await importSession(20);
    const commit = danglingCommit('src/d.ts', 'export const d = 4;\n');
    await alice.ok(CreateCheckpoint, { input: { taskId: task.id, message: 'turn', commitSha: commit } });
    await alice.ok(ResumeTask, { input: { taskId: task.id } });
    const assignment = (await alice.ok(ClaimTask, { input: { workerId: 'worker-1', supervisor: false } })).claimTask.assignment;
    expect(assignment?.task.id).toBe(task.id);
    expect(assignment?.branch).toMatch(/^makima\//);
    expect(assignment?.commitSha).toBe(commit);
    expect(fs.readFileSync(path.join(assignment!.worktreePath, 'src/d.ts'), 'utf8')).toBe('export const d = 4;\n');
    expect((await simpleGit(repo).revparse([assignment!.branch])).trim()).toBe(commit);
  });

  it('makes a contract whose supervisor has no branch until its first claim (as capture creates them)', async () => {
    const own = await t.makeRepo({ 'README.md': '# own\n' });
    const before = await simpleGit(own).raw(['for-each-ref', '--format=%(refname) %(objectname)']);
    const { createContract: made } = await alice.ok(CreateBranchlessContract, { input: { name: 'captured', repositoryPath: own, branchlessSupervisor: true } });
    expect(made.contract.supervisor).toMatchObject({ branch: null, worktreePath: null, status: 'PENDING' });
    expect(await simpleGit(own).raw(['for-each-ref', '--format=%(refname) %(objectname)'])).toBe(before);
    expect(await simpleGit(own).raw(['worktree', 'list', '--porcelain'])).not.toContain('supervisor');

    // A supervisor worker's claim gives it its branch and worktree, at the repository's HEAD.
    const assignment = (await alice.ok(ClaimTask, { input: { workerId: 'planner', supervisor: true, contractIds: [made.contract.id] } })).claimTask.assignment;
    expect(assignment?.task.id).toBe(made.contract.supervisor!.id);
    expect(assignment?.branch).toMatch(/^makima\/.*supervisor/);
    const head = (await simpleGit(own).revparse(['HEAD'])).trim();
    expect(assignment?.commitSha).toBe(head);
    expect(fs.readFileSync(path.join(assignment!.worktreePath, 'README.md'), 'utf8')).toBe('# own\n');
    expect((await simpleGit(own).revparse([assignment!.branch])).trim()).toBe(head);

    // Archived before any claim, such a contract leaves the branches as they were too.
    const other = await t.makeRepo({ 'README.md': '# other\n' });
    const untouched = await simpleGit(other).raw(['for-each-ref', '--format=%(refname) %(objectname)', 'refs/heads']);
    const archived = (await alice.ok(CreateBranchlessContract, { input: { name: 'archived', repositoryPath: other, branchlessSupervisor: true } })).createContract.contract;
    await alice.ok(`mutation($id: ID!) { archiveContract(input: { contractId: $id }) { contract { archivedAt } } }`, { id: archived.id });
    expect(await simpleGit(other).raw(['for-each-ref', '--format=%(refname) %(objectname)', 'refs/heads'])).toBe(untouched);
  });

  it('archives a branchless task, keeping its head under the archive ref', async () => {
    const { task } = await importSession(30);
    const before = await branches();
    await alice.ok(ArchiveTask, { id: task.id });
    expect(await branches()).toBe(before);
    const kept = await simpleGit(repo).raw(['for-each-ref', '--format=%(objectname)', `refs/makima/archived/${rawId(task.id)}`]);
    expect(kept.trim()).toBe((await simpleGit(repo).revparse(['HEAD'])).trim());
  });
});
