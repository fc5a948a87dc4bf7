// The shared test fixtures: the GraphQL operations that several test files use, as typed documents
// (GraphQL Code Generator types each `graphql(...)` call from schema.graphql; run `npm run generate`
// after adding or changing one), and small helpers on top of them that run as a test user and fail
// the test on any error (TestUser.ok). Operations only one file uses stay in that file, typed the
// same way. (test/fixtures/ beside this module holds the scripted agent program of the worker tests.)
import type { ResultOf, VariablesOf } from '@graphql-typed-document-node/core';
import { graphql } from '../src/generated/gql/index.js';
import { eventually, rawId, startTestServer, type TestServer, type TestUser } from './harness.js';
import { collect, wsClient } from './ws-client.js';
import { historyCursor } from '../src/modules/history/schema.js';

// ---------------------------------------------------------------------------------------------
// Contracts and tasks

export const Viewer = graphql(`
  query Viewer { viewer { id name } }
`);

export const CreateContract = graphql(`
  mutation CreateContract($input: CreateContractInput!) {
    createContract(input: $input) {
      contract { id name phase repositoryPath supervisor { id isSupervisor status branch worktreePath } }
    }
  }
`);

export const CreateTask = graphql(`
  mutation CreateTask($input: CreateTaskInput!) {
    createTask(input: $input) {
      task { id name status branch worktreePath baseCommit headCommit continuedFrom { id } contract { id } }
    }
  }
`);

export const AdvancePhase = graphql(`
  mutation AdvancePhase($input: AdvanceContractPhaseInput!) {
    advanceContractPhase(input: $input) { contract { id phase } }
  }
`);

export const ContractSupervisor = graphql(`
  query ContractSupervisor($id: ID!) { contract(id: $id) { id supervisor { id worktreePath } } }
`);

/** A task's state as the worker protocol and the resume, rewind and fork tests check it. */
export const TaskState = graphql(`
  query TaskState($id: ID!) {
    task(id: $id) {
      id name status workerId leaseExpiresAt pendingReason resumeNote lastError messageCount headCommit branch worktreePath
      forkedFrom { id } forkedAtCheckpoint { number } forkedAtMessage { id }
    }
  }
`);

export type Contract = ResultOf<typeof CreateContract>['createContract']['contract'];
export type Task = ResultOf<typeof CreateTask>['createTask']['task'];
export type ContractPhase = VariablesOf<typeof AdvancePhase>['input']['phase'];

/** A contract on the repository at `repositoryPath`; its supervisor is a new PENDING task. */
export async function createContract(user: TestUser, repositoryPath: string, name = 'c'): Promise<Contract> {
  return (await user.ok(CreateContract, { input: { name, repositoryPath } })).createContract.contract;
}

/** A new PENDING task of the contract, on its own worktree and branch. */
export async function createTask(
  user: TestUser,
  contractId: string,
  name: string,
  options: { prompt?: string; continueFromTaskId?: string } = {},
): Promise<Task> {
  return (await user.ok(CreateTask, { input: { contractId, name, ...options } })).createTask.task;
}

export async function advancePhase(user: TestUser, contractId: string, phase: ContractPhase) {
  return (await user.ok(AdvancePhase, { input: { contractId, phase } })).advanceContractPhase.contract;
}

/** A contract (its supervisor is a PENDING task) and `extraTasks` more PENDING tasks, oldest first. */
export async function newContract(t: TestServer, user: TestUser, extraTasks = 0): Promise<{ contractId: string; supervisorId: string; taskIds: string[] }> {
  const contract = await createContract(user, await t.makeRepo());
  const taskIds: string[] = [];
  for (let i = 0; i < extraTasks; i++) taskIds.push((await createTask(user, contract.id, `task ${i}`)).id);
  return { contractId: contract.id, supervisorId: contract.supervisor.id, taskIds };
}

export const REPO_FILES = {
  'README.md': '# project\n',
  'src/a.txt': 'alpha\nbeta\ngamma\n',
  'src/b.txt': 'one\ntwo\n',
  '.gitignore': '*.log\nbuild/\n',
};

export interface TaskFixture {
  repo: string;
  contractId: string;
  taskId: string;
  worktree: string;
  branch: string;
}

/** A contract with a task ("worker task") on a real repository holding `files`. */
export async function taskOnRepo(t: TestServer, user: TestUser, files: Record<string, string> = REPO_FILES): Promise<TaskFixture> {
  const repo = await t.makeRepo(files);
  const contract = await createContract(user, repo);
  const task = await createTask(user, contract.id, 'worker task', { prompt: 'do it' });
  return { repo, contractId: contract.id, taskId: task.id, worktree: task.worktreePath!, branch: task.branch! };
}

// ---------------------------------------------------------------------------------------------
// Conversations, snapshots and task events

export const AppendMessages = graphql(`
  mutation AppendMessages($input: AppendMessagesInput!) {
    appendMessages(input: $input) {
      task { id messageCount headMessage { id } }
      messages { id index role content }
    }
  }
`);

export const Conversation = graphql(`
  query Conversation($id: ID!) {
    task(id: $id) { messageCount conversation(first: 100) { edges { node { id index content } } } }
  }
`);

export const CreateSnapshot = graphql(`
  mutation CreateSnapshot($input: CreateSnapshotInput!) {
    createSnapshot(input: $input) { snapshot { id messageCount snapshotType } }
  }
`);

export const RecordTaskEvents = graphql(`
  mutation RecordTaskEvents($input: RecordTaskEventsInput!) {
    recordTaskEvents(input: $input) { events { id type data seq createdAt cursor task { id } } }
  }
`);

export type AppendMessagesInput = VariablesOf<typeof AppendMessages>['input'];
export type MessageInput = AppendMessagesInput['messages'][number];
export type MessageRole = MessageInput['role'];
export type RecordTaskEventsInput = VariablesOf<typeof RecordTaskEvents>['input'];
export type TaskEventInput = RecordTaskEventsInput['events'][number];

/** Appends `messages` at the head of the task's conversation (as a worker, with `workerId`). */
export async function appendMessages(user: TestUser, taskId: string, messages: MessageInput[], options: { expectedHeadId?: string | null; workerId?: string } = {}) {
  return (await user.ok(AppendMessages, { input: { taskId, messages, ...options } })).appendMessages;
}

/** Appends one message per text, { text } each, alternately USER and ASSISTANT; returns their IDs. */
export async function say(user: TestUser, taskId: string, ...texts: string[]): Promise<string[]> {
  const messages = texts.map((text, i): MessageInput => ({ role: i % 2 ? 'ASSISTANT' : 'USER', content: { text } }));
  return (await appendMessages(user, taskId, messages)).messages.map((m) => m.id);
}

/** The texts of the task's conversation (messages written by `say`), root first. */
export async function conversationTexts(user: TestUser, taskId: string): Promise<string[]> {
  const data = await user.ok(Conversation, { id: taskId });
  return data.task!.conversation.edges.map((e) => (e.node.content as { text: string }).text);
}

export async function snapshot(user: TestUser, taskId: string, metadata?: unknown) {
  return (await user.ok(CreateSnapshot, { input: { taskId, ...(metadata === undefined ? {} : { metadata }) } })).createSnapshot.snapshot;
}

export async function recordTaskEvents(user: TestUser, taskId: string, events: TaskEventInput[], options: { workerId?: string } = {}) {
  return (await user.ok(RecordTaskEvents, { input: { taskId, events, ...options } })).recordTaskEvents.events;
}

// ---------------------------------------------------------------------------------------------
// Checkpoints, rewinds and forks

graphql(`
  fragment CheckpointFields on Checkpoint {
    id number commitSha message branch isBackup createdAt
    filesChanged { path status additions deletions binary }
    snapshot { id snapshotType messageCount checkpoint { id } }
  }
`);

export const CreateCheckpoint = graphql(`
  mutation CreateCheckpoint($input: CreateCheckpointInput!) {
    createCheckpoint(input: $input) { checkpoint { ...CheckpointFields } }
  }
`);

export const RewindTask = graphql(`
  mutation RewindTask($input: RewindTaskInput!) {
    rewindTask(input: $input) {
      task { id headCommit messageCount headMessage { id } }
      backupCheckpoint { ...CheckpointFields }
      backupSnapshot { id snapshotType messageCount }
    }
  }
`);

export const RewindConversation = graphql(`
  mutation RewindConversation($input: RewindConversationInput!) {
    rewindConversation(input: $input) {
      task { id messageCount headMessage { id } }
      backupSnapshot { id snapshotType messageCount }
    }
  }
`);

export const ForkTask = graphql(`
  mutation ForkTask($input: ForkTaskInput!) {
    forkTask(input: $input) {
      task {
        id name status branch worktreePath baseCommit headCommit messageCount
        forkedFrom { id } forkedAtCheckpoint { id number } forkedAtMessage { id }
        conversation(first: 100) { edges { node { id content } } }
      }
    }
  }
`);

export type RewindMode = NonNullable<VariablesOf<typeof RewindTask>['input']['mode']>;

/** Commits the task's worktree as its next checkpoint (with a CHECKPOINT snapshot of its conversation). */
export async function checkpoint(user: TestUser, taskId: string, message: string) {
  return (await user.ok(CreateCheckpoint, { input: { taskId, message } })).createCheckpoint.checkpoint;
}

// ---------------------------------------------------------------------------------------------
// The worker protocol: claims, leases, completion, failure and resumes

export const ClaimTask = graphql(`
  mutation ClaimTask($input: ClaimTaskInput!) {
    claimTask(input: $input) {
      assignment {
        task { id status workerId leaseExpiresAt pendingReason resumeNote }
        reason conversation { id index role content } worktreePath branch commitSha leaseExpiresAt resumeNote
      }
    }
  }
`);

export const RenewLease = graphql(`
  mutation RenewLease($input: RenewLeaseInput!) { renewLease(input: $input) { leaseExpiresAt } }
`);

export const CompleteTask = graphql(`
  mutation CompleteTask($input: CompleteTaskInput!) {
    completeTask(input: $input) { task { id status workerId leaseExpiresAt } }
  }
`);

export const FailTask = graphql(`
  mutation FailTask($input: FailTaskInput!) { failTask(input: $input) { task { id status lastError } } }
`);

export const ResumeTask = graphql(`
  mutation ResumeTask($input: ResumeTaskInput!) {
    resumeTask(input: $input) { task { id status pendingReason resumeNote workerId } }
  }
`);

export type Assignment = NonNullable<ResultOf<typeof ClaimTask>['claimTask']['assignment']>;

/** Claims the user's oldest PENDING task as `workerId`; null when nothing is pending. */
export async function claim(user: TestUser, workerId: string, extra: { leaseSeconds?: number; waitSeconds?: number } = {}): Promise<Assignment | null> {
  return (await user.ok(ClaimTask, { input: { workerId, ...extra } })).claimTask.assignment ?? null;
}

// ---------------------------------------------------------------------------------------------
// Imported transcripts

export const ImportTranscript = graphql(`
  mutation ImportTranscript($input: ImportTranscriptInput!) {
    importTranscript(input: $input) {
      task { id name prompt status messageCount headMessage { id } usage { inputTokens outputTokens costUsd } }
      messageCount
      skipped { line reason }
    }
  }
`);

export type TranscriptSource = VariablesOf<typeof ImportTranscript>['input']['source'];
export type Imported = ResultOf<typeof ImportTranscript>['importTranscript'];

/** What the import tests work on: a server of their own, user alice, and her contract that transcripts are imported into. */
export interface ImportServer {
  t: TestServer;
  alice: TestUser;
  contractId: string;
  /** Imports `content` into alice's contract: a new task, or the new messages of a session imported before. */
  importAs(source: TranscriptSource, content: string): Promise<Imported>;
}

export async function startImportServer(): Promise<ImportServer> {
  const t = await startTestServer();
  const alice = await t.createUser('alice');
  const contractId = (await createContract(alice, await t.makeRepo())).id;
  const importAs = async (source: TranscriptSource, content: string) =>
    (await alice.ok(ImportTranscript, { input: { contractId, source, content } })).importTranscript;
  return { t, alice, contractId, importAs };
}

// ---------------------------------------------------------------------------------------------
// History events

/** The task's history events, oldest first (read from the database). */
export async function taskHistory(t: TestServer, taskId: string) {
  return t.db.prisma.historyEvent.findMany({ where: { taskId: rawId(taskId) }, orderBy: { seq: 'asc' } });
}

export async function subtypes(t: TestServer, taskId: string): Promise<(string | null)[]> {
  return (await taskHistory(t, taskId)).map((e) => e.eventSubtype);
}

/** The live timeline, as the live tests subscribe to it. */
export const LiveTimeline = graphql(`
  subscription LiveTimeline($filter: HistoryFilter, $after: String) {
    timeline(filter: $filter, after: $after) { id seq cursor eventType eventSubtype contract { id } }
  }
`);

/**
 * Before every event: a subscription with this cursor catches up on all of the viewer's history, so a
 * fresh user's subscription sees events written before the server registered it (no race).
 */
export const FROM_THE_START = historyCursor(0n);

export type HistoryFilter = NonNullable<VariablesOf<typeof LiveTimeline>['filter']>;

const OldestTaskEvent = graphql(`
  query OldestTaskEvent($id: ID!) { task(id: $id) { history(last: 1) { edges { cursor } } } }
`);

const TaskHistorySubscription = graphql(`
  subscription TaskHistory($taskId: ID!, $after: String!) {
    timeline(filter: { taskId: $taskId, eventTypes: [TASK] }, after: $after) { seq eventType eventSubtype data }
  }
`);

export type TaskHistoryEvent = ResultOf<typeof TaskHistorySubscription>['timeline'];

/**
 * Resolves with the task's first TASK history event of `subtype` as it arrives on a graphql-ws
 * `timeline` subscription: one the server wrote on its own (a lease sweep) or another process made
 * happen (a worker renewing its lease). The subscription starts after the task's oldest event, so
 * it catches up on anything written before it opened: nothing can be missed.
 */
export async function taskEvent(t: TestServer, user: TestUser, taskId: string, subtype: string, timeoutMs = 10_000): Promise<TaskHistoryEvent> {
  const [oldest] = (await user.ok(OldestTaskEvent, { id: taskId })).task!.history.edges;
  const client = wsClient(t.wsUrl, user.token);
  try {
    const stream = collect(client, TaskHistorySubscription, { taskId, after: oldest.cursor }, 'timeline');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no TASK/${subtype} event of task ${taskId} within ${timeoutMs} ms; received ${JSON.stringify(stream.items)}`)), timeoutMs);
    });
    const isIt = (e: TaskHistoryEvent) => e.eventSubtype === subtype;
    try {
      const items = await Promise.race([stream.until((events) => events.some(isIt), `a TASK/${subtype} event of task ${taskId}`), timedOut]);
      return items.find(isIt)!;
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await client.dispose();
  }
}

/** Resolves with the TASK/interrupted event once the task's lapsed lease has been recorded. */
export function interruptedEvent(t: TestServer, user: TestUser, taskId: string): Promise<TaskHistoryEvent> {
  return taskEvent(t, user, taskId, 'interrupted');
}

/** Resolves once the task's lease has expired by the database's clock. */
export async function leaseLapsed(t: TestServer, taskId: string): Promise<void> {
  // Polls, because nothing happens when a lease lapses: no row is written and nothing is notified
  // (these tests run without a lease sweep on purpose). The only thing to wait on is the database's
  // clock passing lease_expires_at, and the database's clock is the one that decides.
  await eventually(async () => {
    const [row] = await t.db.query<{ lapsed: boolean }>('SELECT lease_expires_at < clock_timestamp() AS lapsed FROM tasks WHERE id = $1', [rawId(taskId)]);
    return row?.lapsed;
  }, `the lease of task ${taskId} to lapse`);
}
