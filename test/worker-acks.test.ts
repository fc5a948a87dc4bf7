// The reference worker answers the agent: instructions marked with an "id" get one ack line on the
// agent's stdin (what was made, or why not), so an agent that waits for its checkpoint gets exactly
// the files it wrote before asking; stdin ends after the verdict; --close-stdin keeps agents that
// read their context to the end working.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../src/generated/gql/index.js';
import { startTestServer, type TestServer } from './harness.js';
import { newContract } from './fixtures.js';
import { runMakima } from './cli/run.js';

const AGENT = fileURLToPath(new URL('./fixtures/agent-acks.mjs', import.meta.url));

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => t?.stop());

const Recorded = graphql(`
  query AckedTask($id: ID!) {
    task(id: $id) {
      status
      conversation(first: 10) { edges { node { id index content } } }
      events(first: 10) { edges { node { type data } } }
      checkpoints(first: 10) { edges { node { id number commitSha message filesChanged { path status } } } }
    }
  }
`);

describe('makima worker: acks', () => {
  it('answers each instruction with an id on stdin; a checkpoint waited for holds exactly the files written before it', async () => {
    const user = await t.createUser();
    const { supervisorId } = await newContract(t, user);
    const acksFile = path.join(t.scratchDir(), 'acks.json');
    const result = await runMakima(['worker', '--command', `'${process.execPath}' '${AGENT}'`, '--once', '--worker-id', 'w1'], {
      MAKIMA_URL: t.url,
      MAKIMA_TOKEN: user.token,
      AGENT_ACKS_FILE: acksFile,
    });
    expect(result.code).toBe(0);

    const task = (await user.ok(Recorded, { id: supervisorId })).task!;
    expect(task.status).toBe('COMPLETED');
    const checkpoints = task.checkpoints.edges.map((e) => e.node);
    expect(checkpoints.map((c) => [c.number, c.message, c.filesChanged])).toEqual([
      [1, 'write a', [{ path: 'a.txt', status: 'ADDED' }]],
      [2, 'write b', [{ path: 'b.txt', status: 'ADDED' }]],
    ]);
    const [message] = task.conversation.edges.map((e) => e.node);
    const { acks, stdinEnded } = JSON.parse(fs.readFileSync(acksFile, 'utf8'));
    expect(acks).toEqual([
      { makima: 'ack', id: 'c1', checkpoint: { id: checkpoints[0].id, number: 1, commitSha: checkpoints[0].commitSha } },
      { makima: 'ack', id: 2, checkpoint: { id: checkpoints[1].id, number: 2, commitSha: checkpoints[1].commitSha } },
      { makima: 'ack', id: 'c3', error: { code: 'INVALID_INSTRUCTION', message: 'a checkpoint needs a non-empty "message"' } },
      { makima: 'ack', id: 'm1', message: { id: message.id, index: 0 } },
      {
        makima: 'ack',
        id: 'm2',
        error: { code: 'BAD_USER_INPUT', message: expect.stringMatching(/^BAD_USER_INPUT: input\.messages\[0\]\.content holds a NUL character/) },
      },
      { makima: 'ack', id: 'x', error: { code: 'INVALID_INSTRUCTION', message: 'unknown instruction "dance"' } },
      { makima: 'ack', id: 'd' },
    ]);
    expect(stdinEnded).toBe(true);
    expect(task.events.edges.map((e) => e.node).find((e) => e.type === 'TOOL_CALL')).toEqual({ type: 'TOOL_CALL', data: { id: 'call_1', tool: 'write' } });
  });

  it('with --close-stdin, an agent that reads its context to the end works as before', async () => {
    const user = await t.createUser();
    const { supervisorId } = await newContract(t, user);
    const agent = `const c = JSON.parse(require('fs').readFileSync(0, 'utf8')); console.log(JSON.stringify({ makima: 'message', id: 'm', role: 'assistant', content: c.task.name })); console.log(JSON.stringify({ makima: 'done' }))`;
    const result = await runMakima(['worker', '--command', `'${process.execPath}' -e "${agent}"`, '--once', '--close-stdin'], { MAKIMA_URL: t.url, MAKIMA_TOKEN: user.token });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const task = (await user.ok(Recorded, { id: supervisorId })).task!;
    expect(task.status).toBe('COMPLETED');
    expect(task.conversation.edges.map((e) => e.node.content)).toEqual(['c supervisor']);
  });
});
