// `makima worker --acp` against a real server, driving a scripted ACP agent (test/fixtures/acp-agent.ts,
// a real child process speaking the Agent Client Protocol over stdio through the SDK's agent side):
// a full turn recorded as conversation, events, checkpoints, agent session and usage; the permission
// policy; fs confined to the worktree; refusal, crash and cancel; resume by session/load and by replay;
// a resume from a checkpoint, a fork and a resume after a rewind each start a new session carrying
// only the conversation kept; what the agent gets wrong on the wire (malformed and unknown
// notifications too) is an ERROR event and the worker lives on; the reaper stops the agent and its
// terminals when the worker is killed with SIGKILL, and when the reaper was killed too, the next
// worker started with the same state directory does.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../../src/generated/gql/index.js';
import { eventually, startTestServer, tempDir, type TestServer, type TestUser } from '../harness.js';
import { claim, CompleteTask, createContract, createTask, ForkTask, interruptedEvent, ResumeTask, RewindTask } from '../fixtures.js';
import { runMakima, spawnMakima, type Spawned } from './run.js';

const AGENT = fileURLToPath(new URL('../fixtures/acp-agent.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const ACP = `'${process.execPath}' --import '${TSX}' '${AGENT}'`;

let t: TestServer;
let dir: string;
const workers: Spawned[] = [];
/** Processes a test saw started, killed at the end in case a failing test left them running. */
const started: number[] = [];
beforeAll(async () => {
  t = await startTestServer({ MAKIMA_LEASE_SWEEP_MS: '100' });
  dir = tempDir();
});
afterAll(async () => {
  for (const w of workers) await w.stop('SIGKILL');
  for (const pid of started.filter(running)) process.kill(pid, 'SIGKILL');
  await t?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

let runs = 0;
/** A worker's environment: the server, the token, the agent's script and its log file. */
function agentEnv(user: TestUser, mode: string, extra: Record<string, string> = {}) {
  const log = path.join(dir, `agent-${++runs}.jsonl`);
  return { env: { MAKIMA_URL: t.url, MAKIMA_TOKEN: user.token, ACP_AGENT_MODE: mode, ACP_AGENT_LOG: log, ...extra }, log };
}

function agentLog(file: string): Record<string, unknown>[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

function startWorker(args: string[], env: Record<string, string>): Spawned {
  const worker = spawnMakima(['worker', '--acp', ACP, ...args], env);
  workers.push(worker);
  return worker;
}

const Recorded = graphql(`
  query AcpRecorded($id: ID!) {
    task(id: $id) {
      status lastError
      agentSession { protocol sessionId agentName agentVersion capabilities }
      usage { inputTokens outputTokens costUsd }
      conversation(first: 100) { edges { node { role content toolCalls } } }
      events(first: 100) { edges { node { type data } } }
      checkpoints(first: 10) { edges { node { number message filesChanged { path status } } } }
      history(first: 100) { edges { node { eventType eventSubtype data } } }
    }
  }
`);

const CancelTask = graphql(`
  mutation AcpCancelTask($input: CancelTaskInput!) { cancelTask(input: $input) { task { id status } } }
`);

const FirstRecorded = graphql(`
  query AcpFirstRecorded($id: ID!) {
    task(id: $id) { conversation(first: 1) { edges { node { createdAt } } } events(first: 1) { edges { node { type createdAt } } } }
  }
`);

const Checkpoints = graphql(`
  query AcpCheckpoints($id: ID!) { task(id: $id) { checkpoints(first: 10) { edges { node { id number commitSha } } } } }
`);

const ResumeFromCheckpoint = graphql(`
  mutation AcpResumeFromCheckpoint($input: ResumeTaskFromCheckpointInput!) { resumeTaskFromCheckpoint(input: $input) { task { id pendingReason } } }
`);

/** The task's checkpoint `number`. */
async function checkpointNumber(user: TestUser, taskId: string, number: number) {
  const checkpoints = (await user.ok(Checkpoints, { id: taskId })).task!.checkpoints.edges.map((e) => e.node);
  return checkpoints.find((c) => c.number === number)!;
}

async function recorded(user: TestUser, taskId: string) {
  const task = (await user.ok(Recorded, { id: taskId })).task!;
  return {
    ...task,
    messages: task.conversation.edges.map((e) => e.node),
    events: task.events.edges.map((e) => e.node) as { type: string; data: Record<string, unknown> }[],
    checkpoints: task.checkpoints.edges.map((e) => e.node),
    history: task.history.edges.map((e) => ({ ...e.node, data: e.node.data as Record<string, unknown> })),
  };
}

/** A contract whose supervisor is out of the way, and one PENDING task of it with `prompt`. */
async function plainTask(user: TestUser, prompt: string) {
  const contract = await createContract(user, await t.makeRepo());
  const supervisor = await claim(user, 'setup');
  await user.ok(CompleteTask, { input: { taskId: supervisor!.task.id, workerId: 'setup' } });
  const task = await createTask(user, contract.id, 'acp task', { prompt });
  return { id: task.id, worktreePath: task.worktreePath! };
}

// Each test starts real workers and agents (TypeScript, through tsx): slower than most on a busy machine.
describe('makima worker --acp', { timeout: 240_000 }, () => {
  it('records a full turn: coalesced messages with thoughts, tool calls with diffs, a terminal, checkpoints per edit and per turn, the session and usage', async () => {
    const user = await t.createUser();
    const task = await plainTask(user, 'Write a, b and c.');
    const { env, log } = agentEnv(user, 'work');
    const result = await runMakima(['worker', '--acp', ACP, '--once', '--worker-id', 'w1', '--checkpoint-every', 'edit'], env);
    // The worker warns about nothing; the agent's SDK says on its stderr (passed through) that it got
    // the worker's answer to its non-JSON line, an error response of id null.
    expect(result.stderr).toBe('Got response to unknown request null\n');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`completed acp task (${task.id})`);

    const r = await recorded(user, task.id);
    expect(r.status).toBe('COMPLETED');
    // The prompt is recorded before anything the agent answers, so every view of the history shows it first.
    const first = (await user.ok(FirstRecorded, { id: task.id })).task!;
    expect(Date.parse(first.conversation.edges[0].node.createdAt)).toBeLessThanOrEqual(Date.parse(first.events.edges[0].node.createdAt));
    expect(r.messages).toEqual([
      { role: 'USER', content: [{ type: 'text', text: 'Write a, b and c.' }], toolCalls: null },
      {
        role: 'ASSISTANT',
        content: [
          { type: 'thought', text: 'Thinking hard.' },
          { type: 'text', text: 'Hello, world. Done.' },
        ],
        toolCalls: [
          { toolCallId: 'edit-1', kind: 'edit', title: 'Write a.txt', status: 'completed' },
          { toolCallId: 'edit-2', kind: 'edit', title: 'Write b.txt', status: 'completed' },
          { toolCallId: 'exec-1', kind: 'execute', title: 'Run a command', status: 'completed' },
        ],
      },
    ]);
    // Each tool call once as TOOL_CALL and once as TOOL_RESULT, keyed by toolCallId, in the order they came.
    const calls = r.events.filter((e) => e.type === 'TOOL_CALL' || e.type === 'TOOL_RESULT').map((e) => [e.type, e.data.toolCallId, e.data.status]);
    expect(calls).toEqual([
      ['TOOL_CALL', 'edit-1', 'pending'],
      ['TOOL_RESULT', 'edit-1', 'completed'],
      ['TOOL_CALL', 'edit-2', 'pending'],
      ['TOOL_RESULT', 'edit-2', 'completed'],
      ['TOOL_CALL', 'exec-1', 'in_progress'],
      ['TOOL_RESULT', 'exec-1', 'completed'],
    ]);
    const editResult = r.events.find((e) => e.type === 'TOOL_RESULT' && e.data.toolCallId === 'edit-1')!.data;
    expect(editResult).toMatchObject({ kind: 'edit', title: 'Write a.txt', content: [{ type: 'diff', path: path.join(task.worktreePath, 'a.txt'), oldText: null, newText: 'alpha\n' }] });
    const status = r.events.filter((e) => e.type === 'STATUS').map((e) => e.data.acp);
    expect(status).toEqual(['plan', 'permission', 'terminal', 'current_mode_update', 'usage_update']);
    expect(r.events.find((e) => e.data.acp === 'permission')!.data).toMatchObject({ toolCallId: 'edit-1', decision: 'allowed', optionId: 'yes', policy: 'default' });
    expect(r.events.find((e) => e.data.acp === 'plan')!.data).toEqual({ acp: 'plan', entries: [{ content: 'write a and b', priority: 'high', status: 'in_progress' }] });
    const outputs = r.events.filter((e) => e.type === 'OUTPUT').map((e) => e.data.acp);
    expect(outputs).toEqual(['agent_thought_chunk', 'agent_thought_chunk', 'agent_message_chunk', 'agent_message_chunk', 'agent_message_chunk']);
    // The write outside the worktree: an error to the agent, an ERROR event in the history, no file.
    const errors = r.events.filter((e) => e.type === 'ERROR');
    expect(errors).toHaveLength(2);
    // A line that is not JSON: the agent is told (-32700), the history says so where the line stood
    // (after the third chunk, before the fourth), the turn goes on.
    expect(errors[0].data).toMatchObject({ acp: 'protocol_error', error: { code: -32700 }, line: 'this line is not JSON' });
    const wire = r.events.filter((e) => e.type === 'OUTPUT' || e.type === 'ERROR').slice(0, 5).map((e) => e.data.acp);
    expect(wire).toEqual(['agent_thought_chunk', 'agent_thought_chunk', 'agent_message_chunk', 'protocol_error', 'agent_message_chunk']);
    expect(errors[1].data.message).toMatch(/^fs\/write_text_file: .*outside\.txt is outside the task's working directory/);
    expect(fs.existsSync(path.join(task.worktreePath, '..', 'outside.txt'))).toBe(false);
    const agent = agentLog(log);
    expect(agent.find((e) => e.event === 'outside')).toMatchObject({ outcome: 'refused' });
    expect(agent.find((e) => e.event === 'terminal')).toMatchObject({ exit: { exitCode: 0 }, output: `ran in ${fs.realpathSync(task.worktreePath)}\n` });
    expect(agent.find((e) => e.event === 'new')).toMatchObject({ cwd: task.worktreePath });

    // A checkpoint after each finished edit, holding exactly what it wrote, and one after the turn.
    expect(r.checkpoints).toEqual([
      { number: 1, message: 'edit 1: Write a.txt', filesChanged: [{ path: 'a.txt', status: 'ADDED' }] },
      { number: 2, message: 'edit 2: Write b.txt', filesChanged: [{ path: 'b.txt', status: 'ADDED' }] },
      { number: 3, message: 'turn ended: end_turn', filesChanged: [{ path: 'c.txt', status: 'ADDED' }] },
    ]);
    const sessionId = agent.find((e) => e.event === 'new')!.sessionId;
    expect(r.agentSession).toEqual({ protocol: 'acp', sessionId, agentName: 'scripted-acp-agent', agentVersion: '1.2.3', capabilities: { loadSession: false } });
    expect(r.usage).toEqual({ inputTokens: 100, outputTokens: 20, costUsd: 0.25 });
    const kinds = r.history.map((h) => `${h.eventType}/${h.eventSubtype}`);
    expect(kinds).toContain('TASK/agent_session');
    expect(r.history.find((h) => h.eventSubtype === 'usage')!.data).toMatchObject({ inputTokens: 100, outputTokens: 20, costUsd: 0.25 });
    expect(r.history.find((h) => h.eventSubtype === 'agent_session')!.data).toMatchObject({ protocol: 'acp', sessionId, how: 'new', agentName: 'scripted-acp-agent', workerId: 'w1' });

    // The Markdown export: the thought folded, the reply once (not again as its streamed chunks),
    // each tool call once under its title, with its result.
    const md: string = (await user.ok(`query($id: ID!) { task(id: $id) { transcript(format: MARKDOWN) } }`, { id: task.id })).task.transcript;
    const count = (text: string) => md.split(text).length - 1;
    expect(count('<details><summary>thinking… (14 chars)</summary>')).toBe(1);
    expect(count('Hello, world. Done.')).toBe(1);
    expect(md).not.toContain('agent_message_chunk');
    expect(md).not.toContain('agent_thought_chunk');
    for (const title of ['Write a.txt', 'Write b.txt', 'Run a command']) expect(count(`**Tool call** \`${title}\``), title).toBe(1);
    expect(count('**Tool result**')).toBe(3);
    expect(md).toContain(`new file ${path.join(task.worktreePath, 'a.txt')}:\n> alpha`); // inside the result's quote
  });

  it('answers permission requests by --permissions: reject refuses the edit, ask-fail fails the task; each decision is an event', async () => {
    const user = await t.createUser();
    const task = await plainTask(user, 'Write a.');
    const rejecting = await runMakima(['worker', '--acp', ACP, '--once', '--permissions', 'reject'], agentEnv(user, 'work').env);
    expect(rejecting.code).toBe(0);
    const r = await recorded(user, task.id);
    expect(r.events.find((e) => e.data.acp === 'permission')!.data).toMatchObject({ toolCallId: 'edit-1', decision: 'rejected', optionId: 'no', policy: 'reject' });
    expect(r.events.find((e) => e.type === 'TOOL_RESULT' && e.data.toolCallId === 'edit-1')!.data).toMatchObject({ status: 'failed', rawOutput: { error: 'permission denied' } });
    expect(fs.existsSync(path.join(task.worktreePath, 'a.txt'))).toBe(false);
    expect(r.checkpoints.map((c) => c.filesChanged.map((f) => f.path))).toEqual([['b.txt', 'c.txt']]);

    const asking = await plainTask(user, 'Write a, ask first.');
    const { env, log } = agentEnv(user, 'work');
    const failed = await runMakima(['worker', '--acp', ACP, '--once', '--permissions', 'ask-fail'], env);
    expect(failed.code).toBe(1);
    const a = await recorded(user, asking.id);
    expect(a.status).toBe('FAILED');
    expect(a.lastError).toBe('the agent asked permission for "Write a.txt" and --permissions ask-fail: nobody can be asked');
    expect(a.events.find((e) => e.data.acp === 'permission')!.data).toMatchObject({ decision: 'cancelled', optionId: null, policy: 'ask-fail' });
    expect(agentLog(log).find((e) => e.event === 'permission')).toMatchObject({ outcome: { outcome: 'cancelled' } });
  });

  it('fails the task on stopReason refusal, and with the end of stderr when the agent crashes mid-turn; what it said is kept', async () => {
    const user = await t.createUser();
    const refused = await plainTask(user, 'Do something bad.');
    const refusal = await runMakima(['worker', '--acp', ACP, '--once'], agentEnv(user, 'refuse').env);
    expect(refusal.code).toBe(1);
    const r = await recorded(user, refused.id);
    expect(r).toMatchObject({ status: 'FAILED', lastError: 'the agent refused to continue (stopReason refusal)' });
    expect(r.messages.map((m) => m.content)).toEqual([[{ type: 'text', text: 'Do something bad.' }], [{ type: 'text', text: 'I will not.' }]]);
    expect(r.checkpoints.map((c) => c.message)).toEqual(['turn ended: refusal']);

    const crashing = await plainTask(user, 'Crash.');
    const crash = await runMakima(['worker', '--acp', ACP, '--once'], agentEnv(user, 'crash').env);
    expect(crash.code).toBe(1);
    const c = await recorded(user, crashing.id);
    expect(c.status).toBe('FAILED');
    expect(c.lastError).toBe('the agent exited with status 3 before its turn ended; the end of its stderr:\npanic: the scripted agent crashed\nat step 2');
    expect(c.messages.map((m) => m.content)).toEqual([[{ type: 'text', text: 'Crash.' }], [{ type: 'text', text: 'About to fall over.' }]]);
  });

  it('fails the task with a clear reason when the agent never answers initialize; --command and --acp together are refused', async () => {
    const user = await t.createUser();
    const task = await plainTask(user, 'Hello?');
    const { env } = agentEnv(user, 'mute');
    const result = await runMakima(['worker', '--acp', ACP, '--once', '--init-timeout-seconds', '15'], env);
    expect(result.code).toBe(1);
    expect(await recorded(user, task.id)).toMatchObject({ status: 'FAILED', lastError: 'the agent did not answer initialize within 15s', agentSession: null });

    const both = await runMakima(['worker', '--acp', ACP, '--command', 'true'], env);
    expect(both).toMatchObject({ code: 2, stderr: 'makima: give either --command or --acp, not both\n' });
  });

  it('cancelTask reaches the agent as session/cancel; the task ends CANCELLED', async () => {
    const user = await t.createUser();
    const task = await plainTask(user, 'Take your time.');
    const { env, log } = agentEnv(user, 'slow');
    const worker = startWorker(['--once', '--lease-seconds', '6'], env);
    await worker.waitFor(/ACP session \S+ \(new\)/, 150_000);
    await eventually(async () => agentLog(log).some((e) => e.event === 'prompt'), 'the agent to be prompted', 150_000);
    await user.ok(CancelTask, { input: { taskId: task.id, reason: 'changed my mind' } });
    await worker.waitFor(/cancelled acp task/, 150_000);
    const sessionId = agentLog(log).find((e) => e.event === 'new')!.sessionId;
    expect(agentLog(log).filter((e) => e.event === 'cancel')).toEqual([{ event: 'cancel', sessionId }]);
    expect((await recorded(user, task.id)).status).toBe('CANCELLED');
  });

  /** Runs `mode` with the agent hanging mid-turn, kills the worker, and waits for the lapse: the task is INTERRUPTED. */
  async function interruptedRun(user: TestUser, load: boolean) {
    const task = await plainTask(user, 'Start, then continue.');
    const { env, log } = agentEnv(user, 'hang', { ACP_AGENT_LOAD: load ? '1' : '0' });
    const worker = startWorker(['--lease-seconds', '6', '--worker-id', 'first'], env);
    const pid = Number((await worker.waitFor(/agent started \(pid (\d+)\)/, 150_000))[1]);
    await worker.waitFor(/ACP session \S+ \(new\)/, 150_000);
    await eventually(async () => agentLog(log).some((e) => e.event === 'hanging'), 'the agent to hang', 150_000);
    await eventually(async () => (await recorded(user, task.id)).messages.length === 1, 'the prompt to be recorded', 150_000);
    await worker.stop('SIGKILL');
    // The reaper stops an ACP agent like any other when its worker dies.
    await eventually(async () => !groupAlive(pid), "the agent's process group to end", 30_000);
    await interruptedEvent(t, user, task.id);
    await user.ok(ResumeTask, { input: { taskId: task.id } });
    return { task, sessionId: agentLog(log).find((e) => e.event === 'new')!.sessionId as string };
  }

  it('resumes with session/load when the agent can load: the replayed updates are not recorded twice', async () => {
    const user = await t.createUser();
    const { task, sessionId } = await interruptedRun(user, true);
    const { env, log } = agentEnv(user, 'work', { ACP_AGENT_LOAD: '1' });
    const second = await runMakima(['worker', '--acp', ACP, '--once', '--worker-id', 'second'], env);
    expect(second.code).toBe(0);
    const agent = agentLog(log);
    expect(agent.filter((e) => e.event === 'load' || e.event === 'new')).toEqual([{ event: 'load', sessionId }]);
    const prompt = agent.find((e) => e.event === 'prompt')!.prompt as string[];
    expect(prompt).toHaveLength(1);
    expect(prompt[0]).toMatch(/^Resumed: the task was INTERRUPTED .*\nContinue the task from where the conversation ends\.$/s);
    const r = await recorded(user, task.id);
    expect(r.status).toBe('COMPLETED');
    expect(r.messages.map((m) => m.role)).toEqual(['USER', 'USER', 'ASSISTANT']);
    expect(JSON.stringify(r.messages)).not.toContain('replayed');
    // History is newest first.
    expect(r.history.filter((h) => h.eventSubtype === 'agent_session').map((h) => [h.data.how, h.data.sessionId]).reverse()).toEqual([
      ['new', sessionId],
      ['load', sessionId],
    ]);
  });

  it('resumes an agent that cannot load with a new session whose prompt carries the conversation so far', async () => {
    const user = await t.createUser();
    const { task, sessionId } = await interruptedRun(user, false);
    const { env, log } = agentEnv(user, 'work');
    const second = await runMakima(['worker', '--acp', ACP, '--once', '--worker-id', 'second'], env);
    expect(second.code).toBe(0);
    const agent = agentLog(log);
    expect(agent.some((e) => e.event === 'load')).toBe(false);
    const newSession = agent.find((e) => e.event === 'new')!.sessionId;
    expect(newSession).not.toBe(sessionId);
    const [context, note] = agent.find((e) => e.event === 'prompt')!.prompt as string[];
    expect(context).toBe('You are continuing the task "acp task". Its prompt was:\nStart, then continue.\n\nThe conversation so far:\n[user] Start, then continue.');
    expect(note).toMatch(/^Resumed: the task was INTERRUPTED /);
    const r = await recorded(user, task.id);
    expect(r.status).toBe('COMPLETED');
    expect(r.agentSession!.sessionId).toBe(newSession);
    expect(r.history.filter((h) => h.eventSubtype === 'agent_session').map((h) => h.data.how)).toEqual(['replay', 'new']);
  });

  /**
   * A task whose one turn (the work script, checkpoint per edit) ended in a refusal: FAILED, its
   * conversation [prompt, answer], checkpoint #1 with a.txt whose snapshot holds only the prompt,
   * #2 with b.txt, #3 with c.txt after the answer. The agent could load its session.
   */
  async function failedTurn(user: TestUser) {
    const task = await plainTask(user, 'Write a, b and c.');
    const { env, log } = agentEnv(user, 'work', { ACP_AGENT_STOP: 'refusal', ACP_AGENT_LOAD: '1' });
    const first = await runMakima(['worker', '--acp', ACP, '--once', '--worker-id', 'first', '--checkpoint-every', 'edit'], env);
    expect(first.code).toBe(1);
    const r = await recorded(user, task.id);
    expect(r.status).toBe('FAILED');
    expect(r.messages.map((m) => m.role)).toEqual(['USER', 'ASSISTANT']);
    return { task, sessionId: agentLog(log).find((e) => e.event === 'new')!.sessionId as string };
  }

  /** The agent's log of a run that started a new session: its one prompt, as text blocks. */
  function newSessionPrompt(log: string): string[] {
    const agent = agentLog(log);
    expect(agent.filter((e) => e.event === 'load')).toEqual([]);
    expect(agent.filter((e) => e.event === 'new')).toHaveLength(1);
    return agent.find((e) => e.event === 'prompt')!.prompt as string[];
  }

  const UP_TO_CHECKPOINT_1 = 'You are continuing the task "acp task". Its prompt was:\nWrite a, b and c.\n\nThe conversation so far:\n[user] Write a, b and c.';

  it('resumes from a checkpoint with a new session whose prompt carries the conversation up to the checkpoint, on its code', async () => {
    const user = await t.createUser();
    const { task, sessionId } = await failedTurn(user);
    const one = await checkpointNumber(user, task.id, 1);
    await user.ok(ResumeFromCheckpoint, { input: { taskId: task.id, checkpointId: one.id } });

    // The agent could load its old session, which holds the answer rewound away: it is not asked to.
    const { env, log } = agentEnv(user, 'prompted', { ACP_AGENT_LOAD: '1' });
    const second = await runMakima(['worker', '--acp', ACP, '--once', '--worker-id', 'second'], env);
    expect(second.code).toBe(0);
    const [context, note] = newSessionPrompt(log);
    expect(context).toBe(UP_TO_CHECKPOINT_1);
    expect(note).toMatch(/^Resumed: the task was FAILED — last error: the agent refused to continue \(stopReason refusal\)\. Its code and conversation were rewound to checkpoint #1 .*\nContinue the task from where the conversation ends\.$/s);
    expect(agentLog(log).find((e) => e.event === 'new')!.sessionId).not.toBe(sessionId);
    // The worktree the agent ran in held the checkpoint's files, not what came after.
    expect(fs.readFileSync(path.join(task.worktreePath, 'a.txt'), 'utf8')).toBe('alpha\n');
    expect(fs.existsSync(path.join(task.worktreePath, 'b.txt'))).toBe(false);
    expect(fs.existsSync(path.join(task.worktreePath, 'c.txt'))).toBe(false);

    const r = await recorded(user, task.id);
    expect(r.status).toBe('COMPLETED');
    expect(r.messages.map((m) => [m.role, m.content])).toEqual([
      ['USER', [{ type: 'text', text: 'Write a, b and c.' }]],
      ['USER', [{ type: 'text', text: note }]],
      ['ASSISTANT', [{ type: 'text', text: 'Still here.' }]],
    ]);
    expect(r.history.filter((h) => h.eventSubtype === 'agent_session').map((h) => h.data.how)).toEqual(['replay', 'new']);
  });

  it('starts a fork with a new session whose prompt carries the conversation up to the fork point and says it is a fork', async () => {
    const user = await t.createUser();
    const { task: original } = await failedTurn(user);
    const two = await checkpointNumber(user, original.id, 2);
    const fork = (await user.ok(ForkTask, { input: { taskId: original.id, checkpointId: two.id } })).forkTask.task;

    const { env, log } = agentEnv(user, 'prompted', { ACP_AGENT_LOAD: '1' });
    const run = await runMakima(['worker', '--acp', ACP, '--once', '--worker-id', 'forked'], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`claimed acp task (fork) (${fork.id}): FORK`);
    const [context, note] = newSessionPrompt(log);
    expect(context).toBe(UP_TO_CHECKPOINT_1.replace('"acp task"', '"acp task (fork)"'));
    expect(note).toBe(
      `Forked from task "acp task" (${original.id}) at its checkpoint #2 (commit ${two.commitSha}): this task starts from that checkpoint's code and the conversation up to it (1 message).\n` +
        'Continue the task from where the conversation ends.',
    );
    expect(agentLog(log).find((e) => e.event === 'new')).toMatchObject({ cwd: fork.worktreePath });
    expect(fs.readdirSync(fork.worktreePath!).filter((f) => f.endsWith('.txt')).sort()).toEqual(['a.txt', 'b.txt']);

    const r = await recorded(user, fork.id);
    expect(r.status).toBe('COMPLETED');
    expect(r.messages.map((m) => m.role)).toEqual(['USER', 'USER', 'ASSISTANT']);
    expect(r.history.filter((h) => h.eventSubtype === 'agent_session').map((h) => h.data.how)).toEqual(['replay']);
  });

  it('forgets the agent session when the conversation is rewound: the resume that follows starts a new session with only what was kept', async () => {
    const user = await t.createUser();
    const { task, sessionId } = await failedTurn(user);
    const one = await checkpointNumber(user, task.id, 1);
    await user.ok(RewindTask, { input: { taskId: task.id, checkpointId: one.id, mode: 'CONVERSATION' } });
    const rewound = await recorded(user, task.id);
    expect(rewound.agentSession).toBeNull();
    expect(rewound.history.find((h) => h.eventType === 'CHAT' && h.eventSubtype === 'rewound')!.data).toMatchObject({ toMessageCount: 1, forgottenAgentSessionId: sessionId });
    await user.ok(ResumeTask, { input: { taskId: task.id } });

    const { env, log } = agentEnv(user, 'prompted', { ACP_AGENT_LOAD: '1' });
    const second = await runMakima(['worker', '--acp', ACP, '--once', '--worker-id', 'second'], env);
    expect(second.code).toBe(0);
    const [context, note] = newSessionPrompt(log);
    expect(context).toBe(UP_TO_CHECKPOINT_1);
    expect(note).toMatch(/^Resumed: the task was FAILED /);
    const r = await recorded(user, task.id);
    expect(r.status).toBe('COMPLETED');
    expect(r.history.filter((h) => h.eventSubtype === 'agent_session').map((h) => h.data.how)).toEqual(['replay', 'new']);
  });

  it('records what the agent gets wrong on the wire as ERROR events; a line over the limit fails its task; the worker serves the next task', async () => {
    const user = await t.createUser();
    const contract = await createContract(user, await t.makeRepo());
    const supervisor = await claim(user, 'setup');
    await user.ok(CompleteTask, { input: { taskId: supervisor!.task.id, workerId: 'setup' } });
    const garbage = await createTask(user, contract.id, 'garbage', { prompt: 'garbage on the wire' });
    const oversized = await createTask(user, contract.id, 'oversized', { prompt: 'oversized line' });
    const plain = await createTask(user, contract.id, 'plain', { prompt: 'hello' });
    const { env } = agentEnv(user, 'prompted', { ACP_AGENT_LINE_MIB: '16' });
    const worker = startWorker(['--max-message-mib', '1', '--worker-id', 'w-wire', '--lease-seconds', '10'], env);
    const finished = async (id: string) => ['COMPLETED', 'FAILED'].includes((await recorded(user, id)).status);
    await eventually(async () => (await finished(garbage.id)) && (await finished(oversized.id)) && (await finished(plain.id)), 'the three tasks to finish', 150_000, 200);
    expect(worker.child.exitCode).toBeNull(); // the worker lives on

    const g = await recorded(user, garbage.id);
    expect(g.status).toBe('COMPLETED');
    // Each mistake is recorded where it stood on the wire, the turn's chunk after them.
    const errors = g.events.filter((e) => e.type === 'ERROR').map((e) => e.data);
    expect(errors.map((e) => [e.acp, e.id ?? null, (e.error as { code: number } | undefined)?.code ?? null])).toEqual([
      ['protocol_error', null, -32700],
      ['protocol_error', null, -32600],
      ['protocol_error', 'bad-params', -32602],
      ['protocol_error', 'no-method', -32601],
      ['malformed_notification', null, null],
      ['unknown_notification', null, null],
    ]);
    expect(errors.slice(0, 4).map((e) => e.message)).toEqual([
      'makima worker: the agent sent a line that is not JSON; it was answered -32700: Parse error',
      expect.stringMatching(/^makima worker: the agent sent a line that is not a JSON-RPC message; it was answered -32600: Invalid request/),
      "makima worker: the agent sent a request whose params do not fit the method's schema; it was answered -32602: Invalid params",
      expect.stringMatching(/^makima worker: the agent sent a request for a method the worker does not serve; it was answered -32601: "Method not found": makima\/nothing/),
    ]);
    expect(errors[2]).toMatchObject({ method: 'fs/read_text_file', issues: expect.arrayContaining([expect.objectContaining({ path: 'path' })]) });
    const kinds = g.events.map((e) => e.type);
    expect(kinds.indexOf('OUTPUT')).toBeGreaterThan(kinds.lastIndexOf('ERROR'));
    // A notification gets no answer: what was wrong with it, and what came, are in the history.
    const notifications = errors.slice(4);
    // Recorded, not only printed: the SDK's own report of a notification it could not handle never shows.
    expect(worker.output()).not.toContain('Error handling notification');
    expect(g.messages.at(-1)).toMatchObject({ role: 'ASSISTANT', content: [{ type: 'text', text: 'Still here.' }] });

    const o = await recorded(user, oversized.id);
    const reason = `the agent sent a message longer than ${1024 * 1024} bytes (--max-message-mib); the worker stopped reading it and stopped the agent`;
    expect(o).toMatchObject({ status: 'FAILED', lastError: reason });
    expect(o.events.filter((e) => e.type === 'ERROR').map((e) => e.data)).toEqual([{ message: `makima worker: ${reason}`, acp: 'message_too_large', maxMessageBytes: 1024 * 1024 }]);

    expect((await recorded(user, plain.id)).status).toBe('COMPLETED');
    await worker.stop('SIGTERM');
  });
});

function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe.runIf(process.platform === 'linux')('makima worker --acp killed with SIGKILL', { timeout: 120_000 }, () => {
  it('has its reaper stop the agent and the terminals the agent opened', async () => {
    const user = await t.createUser();
    const task = await plainTask(user, 'Open a terminal and wait.');
    const { env, log } = agentEnv(user, 'terminal');
    const worker = startWorker(['--json', '--worker-id', 'w-killed', '--lease-seconds', '10'], env);
    const agentPid = Number((await worker.waitFor(/"event":"agent_started"[^\n]*"pid":(\d+)/, 60_000))[1]);
    const terminalPid = Number((await worker.waitFor(/"acp":"terminal"[^\n]*"pid":(\d+)/, 60_000))[1]);
    started.push(agentPid, terminalPid);
    await eventually(async () => agentLog(log).some((e) => e.event === 'terminal started'), 'the terminal to start', 60_000);
    expect(running(agentPid)).toBe(true);
    expect(running(terminalPid)).toBe(true);

    // The worker's output closes when its reaper, which holds its stderr, has done its work and exited.
    const closed = new Promise<void>((resolve) => worker.child.once('close', () => resolve()));
    worker.child.kill('SIGKILL');
    await closed;
    await eventually(async () => !running(agentPid) && !running(terminalPid), 'the agent and its terminal to be gone', 15_000);
    expect(worker.output()).toContain(`is gone; stopped the agent of task ${task.id} (process group ${agentPid})\n`);
    expect(worker.output()).toContain(`is gone; stopped a terminal the agent of task ${task.id} started (process group ${terminalPid})\n`);
  });
});

describe.runIf(process.platform === 'linux')('makima worker --acp killed with its reaper', { timeout: 120_000 }, () => {
  /** The worker state directory's files: the workers that recorded process groups there. */
  const ledgers = (stateDir: string) => (fs.existsSync(stateDir) ? fs.readdirSync(stateDir).filter((f) => f.endsWith('.json')) : []);

  it('leaves the agent and its terminal to the next worker started there, which stops them before it claims anything', async () => {
    const user = await t.createUser();
    const task = await plainTask(user, 'Open a terminal and wait.');
    const stateDir = path.join(dir, 'state-killed-with-reaper');
    const { env, log } = agentEnv(user, 'terminal');
    const first = startWorker(['--json', '--worker-id', 'w-dead', '--lease-seconds', '10', '--state-dir', stateDir], env);
    const [agentLine] = await first.waitFor(/^\{"event":"agent_started".*\}$/m, 60_000);
    const { pid: agentPid, reaperPid } = JSON.parse(agentLine) as { pid: number; reaperPid: number };
    const terminalPid = Number((await first.waitFor(/"acp":"terminal"[^\n]*"pid":(\d+)/, 60_000))[1]);
    started.push(agentPid, terminalPid);
    await eventually(async () => agentLog(log).some((e) => e.event === 'terminal started'), 'the terminal to start', 60_000);

    // The worker has recorded both groups, each with its leader's start time, in its file.
    const [file] = ledgers(stateDir);
    expect(file).toBe(`worker-${first.child.pid}-${startTime(first.child.pid!)}.json`);
    const recorded = JSON.parse(fs.readFileSync(path.join(stateDir, file), 'utf8'));
    expect(recorded).toMatchObject({ workerId: 'w-dead', workerPid: first.child.pid });
    expect(recorded.groups.map((g: { pgid: number; startTime: string; taskId: string }) => [g.pgid, g.startTime, g.taskId])).toEqual([
      [agentPid, startTime(agentPid), task.id],
      [terminalPid, startTime(terminalPid), task.id],
    ]);

    // Worker and reaper both gone without a word: nothing stops the terminal now.
    process.kill(reaperPid, 'SIGKILL');
    const closed = new Promise<void>((resolve) => first.child.once('close', () => resolve()));
    first.child.kill('SIGKILL');
    await closed;
    expect(running(terminalPid)).toBe(true);

    // The next worker started with that state directory stops what the dead one left, then starts.
    const second = startWorker(['--json', '--worker-id', 'w-next', '--state-dir', stateDir], agentEnv(user, 'prompted').env);
    await second.waitFor(/"event":"started"/, 60_000);
    const stopped = second
      .output()
      .split('\n')
      .filter((l) => l.includes('"leftover_stopped"'))
      .map((l) => JSON.parse(l));
    expect(stopped).toContainEqual({ event: 'leftover_stopped', pgid: terminalPid, leftoverTaskId: task.id, leftoverWorkerId: 'w-dead' });
    expect(running(terminalPid)).toBe(false);
    // The agent, whose stdin closed with its worker, may have ended by itself; if not, it was stopped too.
    expect(running(agentPid)).toBe(false);
    // The dead worker's file is gone; the new worker's own is there while it runs and goes when it stops.
    expect(ledgers(stateDir)).toEqual([`worker-${second.child.pid}-${startTime(second.child.pid!)}.json`]);
    expect(await second.stop('SIGTERM')).toBe(0);
    expect(ledgers(stateDir)).toEqual([]);
  });
});

/** A process's start time (clock ticks after boot, /proc/<pid>/stat's 22nd field), as the worker records it. */
function startTime(pid: number): string {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}
