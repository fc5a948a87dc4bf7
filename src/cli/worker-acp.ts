// `makima worker --acp`: drives an agent that speaks the Agent Client Protocol (docs/design.md §15).
// One claimed task is one ACP session (new, loaded, or new with the conversation replayed) and one
// prompt turn. What the agent reports (session/update) becomes the task's history as it comes: chunks
// coalesced into one message per turn and role, tool calls as TOOL_CALL / TOOL_RESULT events, plans
// and the rest as STATUS events. The driver needs only a working directory and the run's ordered
// reports (AcpHost), so it does not care whether that directory is on the server's disk.
import type { ChildProcess } from 'node:child_process';
import * as acp from '@agentclientprotocol/sdk';
import { graphql } from '../generated/gql/index.js';
import { AcpClientSide } from './worker-acp-client.js';
import { AcpTurn } from './worker-acp-turn.js';
import { agentWire, sdkWireChecks } from './worker-acp-wire.js';
import type { AcpHost, AcpOptions, Assignment } from './worker-acp-host.js';
import { VERSION } from './version.js';

const TaskAgentSession = graphql(`
  query CliTaskAgentSession($id: ID!) { task(id: $id) { id agentSession { protocol sessionId } } }
`);
const RecordAgentSession = graphql(`
  mutation CliRecordAgentSession($input: RecordAgentSessionInput!) { recordAgentSession(input: $input) { task { id } } }
`);

/** How long a cancelled agent may take to end its turn before it is killed. */
const CANCEL_GRACE_MS = 3000;
const FAILING_STOP_REASONS: Record<string, string> = {
  refusal: 'the agent refused to continue (stopReason refusal)',
  max_tokens: 'the agent reached its token limit (stopReason max_tokens)',
  max_turn_requests: 'the agent reached its limit of model requests in one turn (stopReason max_turn_requests)',
};

class Timeout extends Error {}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Timeout(`the agent did not answer ${what} within ${Math.round(ms / 1000)}s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Runs the task's session on the agent `child` (spawned by the run, stdio piped) until its turn ends,
 * the agent exits, or the run interrupts it; the verdict is declared to the host. The agent itself
 * is stopped by the caller afterwards.
 */
export async function driveAcpAgent(child: ChildProcess, host: AcpHost, options: AcpOptions): Promise<void> {
  const exited = new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('close', () => resolve())));
  const turn = new AcpTurn(host, options.checkpointEvery);
  let failure: string | undefined;
  const side = new AcpClientSide(host, options.permissions, () => turn.settled());
  const app = acp
    .client({ name: 'makima' })
    // The requests served: worker-acp-wire.ts's SERVED_REQUESTS names the same ones.
    .onRequest(acp.methods.client.fs.readTextFile, ({ params }) => side.readTextFile(params))
    .onRequest(acp.methods.client.fs.writeTextFile, ({ params }) => side.writeTextFile(params))
    .onRequest(acp.methods.client.session.requestPermission, ({ params, agent }) =>
      side.requestPermission(params, (reason) => {
        failure ??= reason;
        if (turn.sessionId) void agent.notify(acp.methods.agent.session.cancel, { sessionId: turn.sessionId }).catch(() => {});
      }),
    )
    .onRequest(acp.methods.client.terminal.create, ({ params }) => side.createTerminal(params))
    .onRequest(acp.methods.client.terminal.output, ({ params }) => side.terminalOutput(params))
    .onRequest(acp.methods.client.terminal.waitForExit, ({ params }) => side.waitForTerminalExit(params))
    .onRequest(acp.methods.client.terminal.kill, ({ params }) => side.killTerminal(params))
    .onRequest(acp.methods.client.terminal.release, ({ params }) => side.releaseTerminal(params));
  // The worker reads the agent's lines itself, so that updates and the agent's mistakes are recorded
  // in wire order; session/update goes to the turn from there, the rest to the SDK (worker-acp-wire.ts).
  const stream = agentWire(child, host, await sdkWireChecks(), (notification) => turn.update(notification), options.maxMessageBytes);
  try {
    const stopReason = await app.connectWith(stream, (ctx) => session(ctx, host, options, turn));
    if (host.gone()) return;
    failure ??= stopReason === 'end_turn' ? undefined : (FAILING_STOP_REASONS[stopReason] ?? `the agent ended its turn with stopReason ${stopReason}`);
  } catch (err) {
    if (err instanceof acp.MessageTooLargeError && !host.gone()) {
      const reason = `the agent sent a message longer than ${options.maxMessageBytes} bytes (--max-message-mib); the worker stopped reading it and stopped the agent`;
      host.event('ERROR', { message: `makima worker: ${reason}`, acp: 'message_too_large', maxMessageBytes: options.maxMessageBytes });
      failure ??= reason;
    }
    await turn.end(null);
    if (host.gone()) return;
    if (err instanceof Timeout) failure ??= err.message;
    else {
      // The agent exited or broke the protocol mid-turn: say so, with the end of its stderr.
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
      const how = child.exitCode !== null ? `exited with status ${child.exitCode}` : child.signalCode ? `was killed by ${child.signalCode}` : `failed: ${(err as Error).message}`;
      const tail = host.stderrTail().trim();
      failure ??= `the agent ${how} before its turn ended${tail ? `; the end of its stderr:\n${tail}` : ''}`;
    }
  } finally {
    side.stopAll();
    await host.inOrder(async () => {});
  }
  host.declare(failure === undefined ? { kind: 'done' } : { kind: 'fail', error: failure });
}

/** initialize, then a session (loaded or new), then the prompt turn; returns its stopReason. */
async function session(ctx: acp.ClientContext, host: AcpHost, options: AcpOptions, turn: AcpTurn): Promise<acp.StopReason> {
  const { assignment } = host;
  const init = await within(
    ctx.request(acp.methods.agent.initialize, {
      protocolVersion: acp.PROTOCOL_VERSION,
      // Only what makima serves: text files and terminals in the worktree. No auth, no elicitation.
      clientCapabilities: { fs: { readTextFile: true, writeTextFile: true }, terminal: true },
      clientInfo: { name: 'makima', title: 'makima worker', version: VERSION },
    }),
    options.initTimeoutMs,
    'initialize',
  );
  const known = assignment.reason === 'RESUME' ? await knownSession(host) : undefined;
  let how: 'new' | 'load' | 'replay';
  let sessionId: string;
  if (known && init.agentCapabilities?.loadSession) {
    // The agent replays the session as updates: they are already in the history, so not recorded.
    turn.replaying = true;
    try {
      await within(ctx.request(acp.methods.agent.session.load, { sessionId: known, cwd: host.workdir, mcpServers: [] }), options.initTimeoutMs, 'session/load');
    } finally {
      turn.replaying = false;
    }
    how = 'load';
    sessionId = known;
  } else {
    const created = await within(ctx.request(acp.methods.agent.session.new, { cwd: host.workdir, mcpServers: [] }), options.initTimeoutMs, 'session/new');
    how = assignment.conversation.length ? 'replay' : 'new';
    sessionId = created.sessionId;
  }
  turn.sessionId = sessionId;
  host.onInterrupt(() => {
    void ctx.notify(acp.methods.agent.session.cancel, { sessionId }).catch(() => {});
    setTimeout(() => host.kill(), CANCEL_GRACE_MS).unref();
  });
  const agentInfo = init.agentInfo ?? null;
  host.report('agent_session', { taskId: assignment.task.id, sessionId, how, agent: agentInfo }, `  ACP session ${sessionId} (${how}) with ${agentInfo ? `${agentInfo.name} ${agentInfo.version}` : 'an unnamed agent'}`);
  void host.inOrder(async () => {
    await host.request((client) =>
      client.request(RecordAgentSession, {
        input: {
          taskId: assignment.task.id,
          workerId: host.workerId,
          protocol: 'acp',
          sessionId,
          how,
          agentName: agentInfo?.name ?? null,
          agentVersion: agentInfo?.version ?? null,
          capabilities: init.agentCapabilities ?? null,
        },
      }),
    );
  });
  const prompt = promptFor(assignment, how);
  await turn.begin(prompt.recorded);
  const response = await ctx.request(acp.methods.agent.session.prompt, { sessionId, prompt: prompt.sent });
  await turn.end(response);
  return response.stopReason;
}

async function knownSession(host: AcpHost): Promise<string | undefined> {
  const data = await host.request((client) => client.request(TaskAgentSession, { id: host.assignment.task.id }));
  const session = data?.task?.agentSession;
  return session?.protocol === 'acp' ? session.sessionId : undefined;
}

/** What a resumed or forked task's first prompt says when the server gave no note. */
const NOTES: Record<Assignment['reason'], string> = {
  NEW: 'A new task.',
  RESUME: 'Resumed.',
  RESUME_FROM_CHECKPOINT: 'Resumed from a checkpoint: the code and the conversation are as they were then.',
  FORK: "A fork of another task: the code and the conversation are that task's at the fork point.",
};

/**
 * What the agent is asked: the task's prompt (for a supervisor, with its contract), or on a resume
 * the resume note — preceded, when the agent starts a new session, by the conversation so far.
 * `recorded` is the part that is new to the history (the conversation is already there).
 */
function promptFor(assignment: Assignment, how: 'new' | 'load' | 'replay'): { sent: acp.ContentBlock[]; recorded: acp.ContentBlock[] } {
  const { task } = assignment;
  const text = (t: string): acp.ContentBlock => ({ type: 'text', text: t });
  if (how === 'new') {
    const prompt = task.prompt ?? task.name;
    const c = task.contract;
    const ask = task.isSupervisor && c ? `You supervise the contract "${c.name}" (phase ${c.phase})${c.description ? `: ${c.description}` : ''}.\n\n${prompt}` : prompt;
    return { sent: [text(ask)], recorded: [text(ask)] };
  }
  const note = text(`${assignment.resumeNote ?? NOTES[assignment.reason]}\nContinue the task from where the conversation ends.`);
  if (how === 'load') return { sent: [note], recorded: [note] };
  const lines = assignment.conversation.map((m) => `[${m.role.toLowerCase()}] ${plain(m.content)}`);
  const context = text(`You are continuing the task "${task.name}". Its prompt was:\n${task.prompt ?? task.name}\n\nThe conversation so far:\n${lines.join('\n\n')}`);
  return { sent: [context, note], recorded: [note] };
}

/** A stored message's content as text for a replayed context: ACP blocks' text, else JSON. */
function plain(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((b) => (typeof b?.text === 'string' ? (b.type === 'thought' ? `(thought) ${b.text}` : b.text) : JSON.stringify(b))).join('\n');
  const t = (content as { text?: unknown } | null)?.text;
  return typeof t === 'string' ? t : JSON.stringify(content);
}
