// The worker protocol's GraphQL documents and small helpers shared by test/mesh.test.ts and
// test/resume.test.ts.
import { eventually, rawId, type TestServer, type TestUser } from './harness.js';

export const CLAIM = `mutation($input: ClaimTaskInput!) { claimTask(input: $input) { assignment {
  task { id status workerId leaseExpiresAt pendingReason resumeNote }
  reason conversation { id index role content } worktreePath branch commitSha leaseExpiresAt resumeNote } } }`;
export const RENEW = `mutation($input: RenewLeaseInput!) { renewLease(input: $input) { leaseExpiresAt } }`;
export const COMPLETE = `mutation($input: CompleteTaskInput!) { completeTask(input: $input) { task { id status workerId leaseExpiresAt } } }`;
export const FAIL = `mutation($input: FailTaskInput!) { failTask(input: $input) { task { id status lastError } } }`;
export const APPEND = `mutation($input: AppendMessagesInput!) { appendMessages(input: $input) { task { id messageCount headMessage { id } } messages { id index } } }`;
export const RESUME = `mutation($input: ResumeTaskInput!) { resumeTask(input: $input) { task { id status pendingReason resumeNote workerId } } }`;
export const RESUME_SUPERVISOR = `mutation($input: ResumeSupervisorInput!) { resumeSupervisor(input: $input) {
  task { id status pendingReason resumeNote messageCount } backupSnapshot { id messageCount } } }`;
export const TASK = `query($id: ID!) { task(id: $id) { id status workerId leaseExpiresAt pendingReason resumeNote lastError messageCount } }`;

/** A contract (its supervisor is a PENDING task) and `extraTasks` more PENDING tasks, oldest first. */
export async function newContract(t: TestServer, user: TestUser, extraTasks = 0): Promise<{ contractId: string; supervisorId: string; taskIds: string[] }> {
  const repo = await t.makeRepo();
  const data = await user.ok(`mutation($r: String!) { createContract(input: { name: "c", repositoryPath: $r }) { contract { id supervisor { id } } } }`, { r: repo });
  const contractId = data.createContract.contract.id;
  const taskIds: string[] = [];
  for (let i = 0; i < extraTasks; i++) {
    const r = await user.ok(`mutation($c: ID!, $n: String!) { createTask(input: { contractId: $c, name: $n }) { task { id } } }`, { c: contractId, n: `task ${i}` });
    taskIds.push(r.createTask.task.id);
  }
  return { contractId, supervisorId: data.createContract.contract.supervisor.id, taskIds };
}

export interface Claimed {
  task: { id: string; status: string; workerId: string };
  reason: string;
  conversation: { id: string; index: number; role: string; content: unknown }[];
  worktreePath: string;
  branch: string;
  commitSha: string;
  leaseExpiresAt: string;
  resumeNote: string | null;
}

export async function claim(user: TestUser, workerId: string, extra: { leaseSeconds?: number; waitSeconds?: number } = {}): Promise<Claimed | null> {
  const r = await user.ok(CLAIM, { input: { workerId, ...extra } });
  return r.claimTask.assignment;
}

/** The task's history events, oldest first (read from the database). */
export async function taskHistory(t: TestServer, taskId: string) {
  return t.db.prisma.historyEvent.findMany({ where: { taskId: rawId(taskId) }, orderBy: { seq: 'asc' } });
}

export async function subtypes(t: TestServer, taskId: string): Promise<(string | null)[]> {
  return (await taskHistory(t, taskId)).map((e) => e.eventSubtype);
}

/** Resolves with the TASK/interrupted event once the task's lapsed lease has been recorded. */
export async function interruptedEvent(t: TestServer, taskId: string) {
  return eventually(
    async () => (await taskHistory(t, taskId)).find((e) => e.eventType === 'TASK' && e.eventSubtype === 'interrupted'),
    `task ${taskId} to be interrupted`,
  );
}

/** Resolves once the task's lease has expired by the database's clock. */
export async function leaseLapsed(t: TestServer, taskId: string): Promise<void> {
  await eventually(async () => {
    const [row] = await t.db.query<{ lapsed: boolean }>('SELECT lease_expires_at < clock_timestamp() AS lapsed FROM tasks WHERE id = $1', [rawId(taskId)]);
    return row?.lapsed;
  }, `the lease of task ${taskId} to lapse`);
}
