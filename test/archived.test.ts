// The archived rule (docs/design.md §12): an archived task takes no writes from anyone — through
// the general path and the raw hot paths alike — and an archived contract takes nothing new (no
// task created, forked or imported, no phase); both stay readable, forkable and branchable. A
// cancelled task that is not archived stays its owner's to change. A session imported into one
// contract is not silently grown from another.
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpoint, createContract, say, taskOnRepo } from './fixtures.js';
import { codes, startTestServer, type GqlResult, type TestServer, type TestUser } from './harness.js';

let t: TestServer;
let user: TestUser;

beforeAll(async () => {
  t = await startTestServer();
  user = await t.createUser();
}, 600_000);
afterAll(async () => t?.stop());

const CancelTask = `mutation($id: ID!) { cancelTask(input: { taskId: $id }) { task { id status } } }`;
const ArchiveTask = `mutation($id: ID!) { archiveTask(input: { taskId: $id }) { task { id archivedAt } } }`;
const ArchiveContract = `mutation($id: ID!) { archiveContract(input: { contractId: $id }) { contract { id archivedAt } } }`;
const Append = `mutation($id: ID!, $text: String!) { appendMessages(input: { taskId: $id, messages: [{ role: USER, content: { text: $text } }] }) { task { messageCount } } }`;
const Events = `mutation($id: ID!) { recordTaskEvents(input: { taskId: $id, events: [{ type: OUTPUT, data: { text: "late" } }] }) { events { seq } } }`;
const Snapshot = `mutation($id: ID!) { createSnapshot(input: { taskId: $id }) { snapshot { id } } }`;
const Checkpoint = `mutation($id: ID!) { createCheckpoint(input: { taskId: $id, message: "late" }) { checkpoint { id } } }`;
const Rewind = `mutation($id: ID!, $cp: ID!) { rewindTask(input: { taskId: $id, checkpointId: $cp }) { task { id } } }`;
const RewindChat = `mutation($id: ID!, $m: ID!) { rewindConversation(input: { taskId: $id, toMessageId: $m }) { task { id } } }`;
const Resume = `mutation($id: ID!) { resumeTask(input: { taskId: $id }) { task { id } } }`;
const Fork = `mutation($id: ID!, $cp: ID, $m: ID) { forkTask(input: { taskId: $id, checkpointId: $cp, messageId: $m }) { task { id contract { id } } } }`;
const Branch = `mutation($id: ID!, $cp: ID!, $name: String!) { branchFromCheckpoint(input: { taskId: $id, checkpointId: $cp, branchName: $name }) { branchName } }`;
const Advance = `mutation($id: ID!) { advanceContractPhase(input: { contractId: $id, phase: PLAN }) { contract { phase } } }`;
const NewTask = `mutation($id: ID!) { createTask(input: { contractId: $id, name: "late" }) { task { id } } }`;
const Import = `mutation($id: ID!, $content: String!) { importTranscript(input: { contractId: $id, source: CLAUDE_CODE_JSONL, content: $content }) { task { id } messageCount } }`;
const State = `query($id: ID!) { task(id: $id) { status messageCount headCommit snapshots(first: 100) { totalCount } checkpoints(first: 100) { totalCount } events(first: 100) { edges { cursor } } history(first: 100) { edges { cursor } } } }`;

/** The task as every write would change it: status, conversation, commit, snapshots, checkpoints, events, history. */
async function stateOf(taskId: string): Promise<string> {
  return JSON.stringify((await user.ok(State, { id: taskId })).task);
}

function expectArchived(result: GqlResult<unknown>, what: string): void {
  expect(codes(result), what).toEqual(['CONFLICT']);
  expect(result.errors![0].extensions, what).toMatchObject({ reason: 'ARCHIVED' });
  expect(result.errors![0].message, what).toMatch(/archived at .*takes no writes/);
}

function session(sessionId: string, ...texts: string[]): string {
  return texts
    .map((text, i) => JSON.stringify({ type: 'user', uuid: `${sessionId}-${i}`, parentUuid: i ? `${sessionId}-${i - 1}` : null, sessionId, timestamp: '2026-11-20T10:00:00Z', message: { role: 'user', content: text } }))
    .join('\n');
}

describe('an archived task', () => {
  let f: Awaited<ReturnType<typeof taskOnRepo>>;
  let cp: { id: string };
  let messageId: string;
  beforeAll(async () => {
    f = await taskOnRepo(t, user);
    [messageId] = await say(user, f.taskId, 'hello', 'hi');
    cp = await checkpoint(user, f.taskId, 'first');
    await user.ok(CancelTask, { id: f.taskId });
    await user.ok(ArchiveTask, { id: f.taskId });
  }, 600_000);

  it('refuses every write, from its owner, with CONFLICT reason ARCHIVED, and changes nothing', async () => {
    const before = await stateOf(f.taskId);
    const writes: [string, string, Record<string, unknown>][] = [
      ['appendMessages', Append, { id: f.taskId, text: 'late' }],
      ['recordTaskEvents', Events, { id: f.taskId }],
      ['createSnapshot', Snapshot, { id: f.taskId }],
      ['createCheckpoint', Checkpoint, { id: f.taskId }],
      ['rewindTask', Rewind, { id: f.taskId, cp: cp.id }],
      ['rewindConversation', RewindChat, { id: f.taskId, m: messageId }],
      ['resumeTask', Resume, { id: f.taskId }],
      ['cancelTask', CancelTask, { id: f.taskId }],
    ];
    for (const [what, doc, variables] of writes) {
      const result = await user.gql(doc, variables);
      if (what === 'resumeTask') expect(codes(result), what).toEqual(['CONFLICT']); // resume names the archive its own way
      else expectArchived(result, what);
    }
    expect(await stateOf(f.taskId)).toBe(before);
  });

  it('can still be read, forked and branched from while its contract is open', async () => {
    const fork = await user.ok(Fork, { id: f.taskId, cp: cp.id });
    expect(fork.forkTask.task.contract.id).toBe(f.contractId);
    const branch = await user.ok(Branch, { id: f.taskId, cp: cp.id, name: `from-archived-${crypto.randomUUID().slice(0, 8)}` });
    expect(branch.branchFromCheckpoint.branchName).toMatch(/^from-archived-/);
  });
});

describe('an archived contract', () => {
  it('takes no new task — created, forked or imported — and no phase, and its supervisor takes no message', async () => {
    const contract = await createContract(user, await t.makeRepo());
    const [messageId] = await say(user, contract.supervisor.id, 'plan');
    await user.ok(ArchiveContract, { id: contract.id });
    const before = await stateOf(contract.supervisor.id);
    expectArchived(await user.gql(Advance, { id: contract.id }), 'advanceContractPhase');
    expectArchived(await user.gql(Fork, { id: contract.supervisor.id, m: messageId }), 'forkTask');
    expectArchived(await user.gql(Import, { id: contract.id, content: session(crypto.randomUUID(), 'imported late') }), 'importTranscript');
    expectArchived(await user.gql(Append, { id: contract.supervisor.id, text: 'late' }), 'appendMessages to the supervisor');
    expect(codes(await user.gql(NewTask, { id: contract.id }))).toEqual(['CONFLICT']);
    const { contract: after } = await user.ok(`query($id: ID!) { contract(id: $id) { phase tasks(first: 10) { totalCount } } }`, { id: contract.id });
    expect(after).toEqual({ phase: 'RESEARCH', tasks: { totalCount: 1 } });
    expect(await stateOf(contract.supervisor.id)).toBe(before);
  });
});

describe('importTranscript and where a session lives', () => {
  it('does not grow an archived task when its session is imported again', async () => {
    const contract = await createContract(user, await t.makeRepo());
    const id = crypto.randomUUID();
    const first = await user.ok(Import, { id: contract.id, content: session(id, 'one') });
    await user.ok(ArchiveTask, { id: first.importTranscript.task.id });
    const before = await stateOf(first.importTranscript.task.id);
    expectArchived(await user.gql(Import, { id: contract.id, content: session(id, 'one', 'two') }), 're-import');
    expect(await stateOf(first.importTranscript.task.id)).toBe(before);
  });

  it('refuses to import a session into another contract than the one holding it, and says where it is', async () => {
    const a = await createContract(user, await t.makeRepo(), 'a');
    const b = await createContract(user, await t.makeRepo(), 'b');
    const id = crypto.randomUUID();
    const first = await user.ok(Import, { id: a.id, content: session(id, 'one') });
    const before = await stateOf(first.importTranscript.task.id);
    const elsewhere = await user.gql(Import, { id: b.id, content: session(id, 'one', 'two') });
    expect(codes(elsewhere)).toEqual(['CONFLICT']);
    expect(elsewhere.errors![0].extensions).toMatchObject({ reason: 'IMPORTED_ELSEWHERE', taskId: first.importTranscript.task.id, contractId: a.id });
    expect(await stateOf(first.importTranscript.task.id)).toBe(before);
    const { contract } = await user.ok(`query($id: ID!) { contract(id: $id) { tasks(first: 10) { totalCount } } }`, { id: b.id });
    expect(contract.tasks.totalCount).toBe(1); // its supervisor only
    // Into its own contract it still grows.
    expect((await user.ok(Import, { id: a.id, content: session(id, 'one', 'two') })).importTranscript.messageCount).toBe(1);
  });
});

describe('a cancelled task that is not archived', () => {
  it('stays its owner\'s to write to: messages, events, snapshots and checkpoints', async () => {
    const f = await taskOnRepo(t, user);
    await user.ok(CancelTask, { id: f.taskId });
    expect((await user.ok(Append, { id: f.taskId, text: 'why it was cancelled' })).appendMessages.task.messageCount).toBe(1);
    expect(codes(await user.gql(Events, { id: f.taskId }))).toEqual([]);
    expect(codes(await user.gql(Snapshot, { id: f.taskId }))).toEqual([]);
    expect(codes(await user.gql(Checkpoint, { id: f.taskId }))).toEqual([]);
    expect(codes(await user.gql(NewTask, { id: f.contractId }))).toEqual([]);
  });
});
