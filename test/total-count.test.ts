// totalCount on the connections where counting is cheap or bounded (src/schema/total-count.ts):
// it counts the whole list, with the list's own filter, whatever page was asked for.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness.js';
import { checkpoint, createTask, say, snapshot, taskOnRepo } from './fixtures.js';
import { write } from './worktrees.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => t?.stop());

const Counts = `query($task: ID!, $contract: ID!) {
  contracts(first: 1) { totalCount edges { node { id } } }
  contract(id: $contract) {
    tasks(first: 1) { totalCount }
    pending: tasks(first: 1, status: [PENDING]) { totalCount }
    running: tasks(status: [RUNNING]) { totalCount edges { node { id } } }
    supervisorConversation(first: 1) { totalCount }
  }
  task(id: $task) {
    messageCount
    checkpoints(first: 1) { totalCount edges { node { number } } }
    snapshots(first: 1) { totalCount }
    forks { totalCount }
    conversation(first: 2, after: null) { totalCount edges { node { index } } }
  }
}`;

describe('totalCount', () => {
  it('counts the whole list whatever the page, with the list filter applied, for the viewer only', async () => {
    const user = await t.createUser();
    const other = await t.createUser();
    await taskOnRepo(t, other);
    const f = await taskOnRepo(t, user);
    await taskOnRepo(t, user);
    await createTask(user, f.contractId, 'second');
    await say(user, f.taskId, 'one', 'two', 'three');
    await snapshot(user, f.taskId);
    write(f.worktree, { 'a.txt': 'a\n' });
    await checkpoint(user, f.taskId, 'first');
    write(f.worktree, { 'b.txt': 'b\n' });
    await checkpoint(user, f.taskId, 'second');

    const data = await user.ok(Counts, { task: f.taskId, contract: f.contractId });
    expect(data.contracts).toMatchObject({ totalCount: 2, edges: [expect.anything()] });
    // The supervisor, the worker task and "second"; all PENDING, none RUNNING.
    expect(data.contract.tasks.totalCount).toBe(3);
    expect(data.contract.pending.totalCount).toBe(3);
    expect(data.contract.running).toEqual({ totalCount: 0, edges: [] });
    expect(data.contract.supervisorConversation.totalCount).toBe(0);
    expect(data.task.checkpoints).toMatchObject({ totalCount: 2, edges: [{ node: { number: 1 } }] });
    // The manual snapshot and one per checkpoint.
    expect(data.task.snapshots.totalCount).toBe(3);
    expect(data.task.forks.totalCount).toBe(0);
    expect(data.task.conversation.totalCount).toBe(data.task.messageCount);
    expect(data.task.conversation.totalCount).toBe(3);
    expect(data.task.conversation.edges).toHaveLength(2);
  });

  it('is asked alone without loading a page', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    const data = await user.ok(`query($id: ID!) { task(id: $id) { checkpoints { totalCount } } contracts { totalCount } }`, { id: f.taskId });
    expect(data).toEqual({ task: { checkpoints: { totalCount: 0 } }, contracts: { totalCount: 1 } });
  });
});
