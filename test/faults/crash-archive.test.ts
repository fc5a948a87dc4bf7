// Fault injection (docs/design.md §9): a real `makima serve` process is killed with SIGKILL inside
// every change that moves git — at each journaled git step, just before and just after the
// database commit (deterministic points through MAKIMA_TEST_CRASH_FILE): archives of a task, of a contract and by the retention; imports and the first claim of an imported session. After each restart
// the invariants hold (consistency.ts). The crash points are spread over crash-*.test.ts so that
// the suite's workers share them.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { rawId } from '../harness.js';
import { worktreeState } from './dirty.js';
import { describe, expect, it } from 'vitest';
import { crashKit, git, Setup, STEPS, uncommittedWork } from './consistency.js';
import { servedMakima } from './served.js';

const s = servedMakima('crash-archive');
const { api, crashAt, start, stop } = s;
const { fixture, assertConsistent, tasksOf, repoNumber } = crashKit(s);

describe('a server killed inside an archive (issue #15)', () => {
  const Archive = {
    cancel: `mutation($t: ID!) { cancelTask(input: { taskId: $t }) { task { status } } }`,
    archive: `mutation($t: ID!) { archiveTask(input: { taskId: $t }) { task { id } } }`,
    state: `query($t: ID!) { task(id: $t) { archivedAt worktreePath branch headCommit history(first: 5, filter: { eventTypes: [TASK] }) { edges { node { eventSubtype } } } } }`,
  };

  it.each(STEPS('archive task', ['commitWorkspace', 'protectArchive', 'removeWorkspace']))('archiveTask, killed at %s, either archived everything or restored the worktree with its uncommitted work', async (point) => {
    const f = await fixture();
    await api(Archive.cancel, { t: f.taskId });
    const before = (await api(Archive.state, { t: f.taskId })).task;
    const work = uncommittedWork(f.worktree, point);
    await crashAt(point, () => api(Archive.archive, { t: f.taskId }));
    const after = (await api(Archive.state, { t: f.taskId })).task;
    const archivedRef = git(f.repo, 'for-each-ref', '--format=%(objectname)', `refs/makima/archived/${rawId(f.taskId)}`);
    if (point.endsWith('after-commit')) {
      expect(after.archivedAt).not.toBeNull();
      expect(fs.existsSync(f.worktree)).toBe(false);
      expect(git(f.repo, 'branch', '--list', before.branch)).toBe('');
      expect(archivedRef).toBe(after.headCommit);
      expect(git(f.repo, 'show', `${archivedRef}:${work.file}`)).toBe(work.content.trim());
    } else {
      expect(after).toMatchObject({ archivedAt: null, worktreePath: before.worktreePath, branch: before.branch, headCommit: before.headCommit });
      expect(after.history.edges[0].node.eventSubtype).toBe('recovered');
      expect(archivedRef).toBe('');
      expect(git(f.worktree, 'rev-parse', 'HEAD')).toBe(before.headCommit);
      expect(fs.readFileSync(path.join(f.worktree, work.file), 'utf8')).toBe(work.content); // still uncommitted, not lost
      expect(worktreeState(f.worktree, Object.keys(work.files)), 'the worktree and its index as before').toEqual(work.before);
      await api(Archive.archive, { t: f.taskId }); // and the archive can be done now
      expect(fs.existsSync(f.worktree)).toBe(false);
    }
    for (const c of [f.first, f.second]) expect(git(f.repo, 'rev-parse', '--verify', '--quiet', `refs/makima/checkpoints/${rawId(f.taskId)}/${c.number}`)).not.toBe('');
  }, 120_000);
});


describe('a server killed inside an import or a contract archive', () => {
  const Import = `mutation($c: ID!, $content: String!) { importTranscript(input: { contractId: $c, source: CLAUDE_CODE_JSONL, content: $content }) { task { id } } }`;
  const ArchiveContract = `mutation($c: ID!) { archiveContract(input: { contractId: $c }) { contract { archivedAt } } }`;
  const Cancel = `mutation($t: ID!) { cancelTask(input: { taskId: $t }) { task { status } } }`;
  const ContractState = `query($c: ID!) { contract(id: $c) { archivedAt tasks(first: 10) { edges { node { id archivedAt worktreePath headCommit } } } } }`;

  it.each(STEPS('import transcript', []))('importTranscript, killed at %s, imports all or nothing, and the import can be repeated', async (point) => {
    const f = await fixture();
    // A real Claude Code session, under a session id of its own (an import of a known session appends instead).
    const recorded = fs.readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'claude-code', 'session.jsonl'), 'utf8');
    const content = recorded.replaceAll('5b1f0c2e-8d2a-4c1e-9a57-0f3c2d1e4b6a', crypto.randomUUID());
    const count = async () => (await tasksOf(f.contractId)).length;
    const before = await count();
    await crashAt(point, () => api(Import, { c: f.contractId, content }));
    expect(await count()).toBe(point.endsWith('after-commit') ? before + 1 : before);
    await assertConsistent(f.repo, f.contractId);
    await api(Import, { c: f.contractId, content }); // again: imported once, whatever happened
    expect(await count()).toBe(before + 1);
    await assertConsistent(f.repo, f.contractId);
  }, 120_000);

  it.each(STEPS('claim task', ['createBranch', 'materialiseWorkspace']))(
    'the first claim of an imported session, killed at %s, gives it its branch and worktree once or not at all',
    async (point) => {
      const f = await fixture();
      await api(Cancel, { t: f.taskId }); // so that the claim takes the imported task
      const recorded = fs.readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'claude-code', 'session.jsonl'), 'utf8');
      const content = recorded.replaceAll('5b1f0c2e-8d2a-4c1e-9a57-0f3c2d1e4b6a', crypto.randomUUID());
      const imported = (await api(Import, { c: f.contractId, content })).importTranscript.task.id as string;
      await api(`mutation($t: ID!) { resumeTask(input: { taskId: $t }) { task { id } } }`, { t: imported });
      const claim = `mutation($c: [ID!]) { claimTask(input: { workerId: "w", supervisor: false, contractIds: $c }) { assignment { task { id } } } }`;
      await crashAt(point, () => api(claim, { c: [f.contractId] }));
      const task = (await assertConsistent(f.repo, f.contractId)).find((t) => t.id === imported)!;
      if (point.endsWith('after-commit')) expect(task.branch).toMatch(/^makima\//);
      else expect(task).toMatchObject({ branch: null, worktreePath: null });
    },
    120_000,
  );

  it.each(STEPS('archive contract', ['commitWorkspace', 'protectArchive', 'removeWorkspace']))(
    'archiveContract, killed at %s, archived every task or none, with the uncommitted work kept',
    async (point) => {
      const f = await fixture();
      await api(Cancel, { t: f.taskId });
      const work = { taskId: f.taskId, ...uncommittedWork(f.worktree, point) };
      const before = (await api(ContractState, { c: f.contractId })).contract;
      await crashAt(point, () => api(ArchiveContract, { c: f.contractId }));
      const after = (await api(ContractState, { c: f.contractId })).contract;
      if (point.endsWith('after-commit')) {
        expect(after.archivedAt).not.toBeNull();
        for (const { node } of after.tasks.edges) {
          expect(node.archivedAt, `task ${node.id} archived`).not.toBeNull();
          expect(git(f.repo, 'rev-parse', `refs/makima/archived/${rawId(node.id)}`)).toBe(node.headCommit);
        }
        const archived = after.tasks.edges.find((e: any) => e.node.id === f.taskId).node;
        for (const [file, content] of Object.entries(work.files)) {
          const there = git(f.repo, 'ls-tree', '--name-only', archived.headCommit, '--', file) === file;
          expect(there ? git(f.repo, 'show', `${archived.headCommit}:${file}`) : null, file).toBe(content === null ? null : content.trim());
        }
        expect(git(f.repo, 'for-each-ref', '--format=%(refname)', 'refs/heads/makima/')).toBe('');
      } else {
        expect(after).toEqual(before); // nothing archived: every task keeps its worktree and head
        expect(git(f.repo, 'for-each-ref', '--format=%(refname)', 'refs/makima/archived/')).toBe('');
        await assertConsistent(f.repo, f.contractId, work, true);
        await api(ArchiveContract, { c: f.contractId }); // and the archive can be done now
      }
    },
    120_000,
  );
});


describe('a server killed inside the retention', () => {
  const Complete = `mutation($t: ID!) { completeTask(input: { taskId: $t, workerId: "w" }) { task { id } } }`;
  const TaskState = `query($t: ID!) { task(id: $t) { archivedAt headCommit history(first: 10, filter: { eventTypes: [TASK] }) { edges { node { eventSubtype } } } } }`;

  it.each(STEPS('archive task (retention)', ['removeWorkspace']))('the retention, killed at %s, archives the task with its uncommitted work once restarted', async (point) => {
    // A server of its own (data directory and database): the retention archives every finished task it finds.
    const saved = { env: s.env, token: s.token };
    await stop();
    s.env = { ...saved.env, MAKIMA_DATA_DIR: path.join(s.root, `retention-${repoNumber()}-${point.replaceAll(/\W+/g, '-')}`), MAKIMA_ARCHIVE_AFTER_DAYS: '0.00001', MAKIMA_ARCHIVE_SWEEP_MS: '200' };
    const db = await s.ownDatabase(s.env, 'retention');
    try {
      if (db) s.token = db.token;
      await start();
      const f = await fixture();
      const work = uncommittedWork(f.worktree, point);
      fs.writeFileSync(s.crashFile, point);
      const exit = new Promise<NodeJS.Signals | null>((resolve) => s.server!.process.child.once('exit', (_code, signal) => resolve(signal)));
      // Finished: about a second later the retention archives the task (the supervisor is never its to archive).
      for (;;) {
        const claimed = (await api(Setup.claim)).claimTask.assignment;
        if (!claimed) break;
        await api(Complete, { t: claimed.task.id });
      }
      expect(await exit, `the server died at ${point}`).toBe('SIGKILL');
      s.server = undefined;
      await start();
      let task = (await api(TaskState, { t: f.taskId })).task;
      // Rolled back at the start, the task is archived again by the next sweep.
      for (let i = 0; task.archivedAt === null && i < 600; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        task = (await api(TaskState, { t: f.taskId })).task;
      }
      expect(task.archivedAt).not.toBeNull();
      const subtypes = task.history.edges.map((e: any) => e.node.eventSubtype);
      expect(subtypes.filter((s: string) => s === 'recovered').length).toBe(point.endsWith('after-commit') ? 0 : 1);
      expect(fs.existsSync(f.worktree)).toBe(false);
      const archived = git(f.repo, 'rev-parse', `refs/makima/archived/${rawId(f.taskId)}`);
      expect(archived).toBe(task.headCommit);
      for (const [file, content] of Object.entries(work.files)) {
        const there = git(f.repo, 'ls-tree', '--name-only', archived, '--', file) === file;
        expect(there ? git(f.repo, 'show', `${archived}:${file}`) : null, file).toBe(content === null ? null : content.trim());
      }
      expect(git(f.repo, 'for-each-ref', '--format=%(refname)', 'refs/heads/makima/')).not.toContain(rawId(f.taskId).slice(0, 8));
    } finally {
      await stop();
      await db?.drop();
      s.env = saved.env;
      s.token = saved.token;
      await start();
    }
  }, 300_000);
});
