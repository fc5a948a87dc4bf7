// The client side an ACP agent calls back (docs/design.md §15): text files read and written only
// inside the task's working directory, terminals run there with bounded output and stopped with the
// agent, and permission requests answered by the worker's policy. Every refusal and every decision
// is recorded as a task event, so the history shows what the agent asked and what it was told.
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as acp from '@agentclientprotocol/sdk';
import type { AcpHost, PermissionPolicy } from './worker-acp-host.js';

/** A terminal's output kept by default (the agent may ask for less with outputByteLimit). */
const TERMINAL_OUTPUT_BYTES = 1024 * 1024;
const TERMINAL_KILL_GRACE_MS = 2000;

interface Terminal {
  child: ChildProcess;
  output: string;
  truncated: boolean;
  limit: number;
  exit: Promise<acp.TerminalExitStatus>;
  status: acp.TerminalExitStatus | undefined;
}

export class AcpClientSide {
  private readonly root: string;
  private readonly terminals = new Map<string, Terminal>();

  constructor(
    private readonly host: AcpHost,
    private readonly policy: PermissionPolicy,
    /** Resolves once the checkpoints the agent must wait for are made (--checkpoint-every edit). */
    private readonly settled: () => Promise<void>,
  ) {
    this.root = fs.realpathSync(host.workdir);
  }

  /**
   * The real path of `requested` when it lies inside the working directory (and not in its `.git`),
   * else an error to the agent and an ERROR event. A path that does not exist yet is judged by its
   * nearest existing ancestor, so a symlink cannot lead a write outside.
   */
  private confine(method: string, requested: string): string {
    const absolute = path.resolve(this.root, requested);
    let existing = absolute;
    const rest: string[] = [];
    while (!fs.existsSync(existing)) {
      rest.unshift(path.basename(existing));
      existing = path.dirname(existing);
    }
    const real = path.join(fs.realpathSync(existing), ...rest);
    const relative = path.relative(this.root, real);
    const inside = relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
    if (inside && relative.split(path.sep)[0] !== '.git') return real;
    const message = `${method}: ${requested} is outside the task's working directory ${this.root}; refused`;
    this.host.event('ERROR', { message, method, path: requested });
    throw acp.RequestError.invalidParams({ path: requested }, message);
  }

  async readTextFile(params: acp.ReadTextFileRequest): Promise<acp.ReadTextFileResponse> {
    const file = this.confine('fs/read_text_file', params.path);
    let content: string;
    try {
      content = await fs.promises.readFile(file, 'utf8');
    } catch (err) {
      throw acp.RequestError.resourceNotFound?.(params.path) ?? acp.RequestError.invalidParams({ path: params.path }, (err as Error).message);
    }
    if (params.line == null && params.limit == null) return { content };
    const lines = content.split('\n');
    const start = Math.max(0, (params.line ?? 1) - 1);
    return { content: lines.slice(start, params.limit == null ? undefined : start + params.limit).join('\n') };
  }

  async writeTextFile(params: acp.WriteTextFileRequest): Promise<acp.WriteTextFileResponse> {
    await this.settled();
    const file = this.confine('fs/write_text_file', params.path);
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    await fs.promises.writeFile(file, params.content);
    return {};
  }

  /**
   * The policy's answer: `allow` picks an allow option, `reject` a reject option, `default` allows
   * when every location the tool call names is inside the working directory, `ask-fail` has nobody to
   * ask, so it cancels the request and fails the task (the caller is told through `onAskFail`).
   */
  async requestPermission(params: acp.RequestPermissionRequest, onAskFail: (reason: string) => void): Promise<acp.RequestPermissionResponse> {
    await this.settled();
    const { toolCall } = params;
    const outside = (toolCall.locations ?? []).map((l) => l.path).filter((p) => !this.isInside(p));
    let allow: boolean | undefined;
    let reason: string;
    switch (this.policy) {
      case 'allow':
        allow = true;
        reason = '--permissions allow';
        break;
      case 'reject':
        allow = false;
        reason = '--permissions reject';
        break;
      case 'ask-fail':
        reason = '--permissions ask-fail: nobody can be asked';
        break;
      default:
        allow = outside.length === 0;
        reason = allow ? 'inside the working directory' : `outside the working directory: ${outside.join(', ')}`;
    }
    const wanted: acp.PermissionOptionKind[] = allow === undefined ? [] : allow ? ['allow_once', 'allow_always'] : ['reject_once', 'reject_always'];
    const option = wanted.map((kind) => params.options.find((o) => o.kind === kind)).find((o) => o !== undefined);
    const decision = option ? (allow ? 'allowed' : 'rejected') : 'cancelled';
    this.host.event('STATUS', { acp: 'permission', toolCallId: toolCall.toolCallId, title: toolCall.title ?? null, decision, optionId: option?.optionId ?? null, policy: this.policy, reason });
    if (allow === undefined) onAskFail(`the agent asked permission for "${toolCall.title ?? toolCall.toolCallId}" and ${reason}`);
    return { outcome: option ? { outcome: 'selected', optionId: option.optionId } : { outcome: 'cancelled' } };
  }

  /** Whether a path the agent names lies inside the working directory, as written (for the default policy). */
  private isInside(requested: string): boolean {
    const relative = path.relative(this.root, path.resolve(this.root, requested));
    return !relative.startsWith('..') && !path.isAbsolute(relative);
  }

  async createTerminal(params: acp.CreateTerminalRequest): Promise<acp.CreateTerminalResponse> {
    await this.settled();
    const cwd = this.confine('terminal/create', params.cwd ?? this.root);
    // The run's ids, as the agent has them: they mark the terminal's processes as this run's (worker-agents.ts).
    const ids = { MAKIMA_TASK_ID: this.host.assignment.task.id, MAKIMA_WORKER_ID: this.host.workerId };
    const env = { ...process.env, ...Object.fromEntries((params.env ?? []).map((v) => [v.name, v.value])), ...ids };
    // Its own process group, so that stopping it stops what it started; all are stopped with the agent,
    // and by the reaper if the worker dies.
    const child = spawn(params.command, params.args ?? [], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    if (child.pid) this.host.watchGroup(child.pid);
    const id = `term-${crypto.randomUUID()}`;
    const terminal: Terminal = {
      child,
      output: '',
      truncated: false,
      limit: Math.min(params.outputByteLimit ?? TERMINAL_OUTPUT_BYTES, TERMINAL_OUTPUT_BYTES),
      status: undefined,
      exit: new Promise((resolve) => {
        child.once('error', (err) => {
          terminal.output += `${err.message}\n`;
          resolve((terminal.status = { exitCode: 127, signal: null }));
        });
        child.once('close', (code, signal) => {
          resolve((terminal.status = { exitCode: code, signal }));
          this.host.groupEnded();
        });
      }),
    };
    const append = (chunk: Buffer) => {
      terminal.output += chunk.toString();
      if (Buffer.byteLength(terminal.output) > terminal.limit) {
        // Keep the end: it is what says how a command finished. Cut at a character boundary.
        const bytes = Buffer.from(terminal.output);
        terminal.output = bytes.subarray(bytes.length - terminal.limit).toString().replace(/^\uFFFD/, '');
        terminal.truncated = true;
      }
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    this.terminals.set(id, terminal);
    this.host.event('STATUS', { acp: 'terminal', terminalId: id, command: params.command, args: params.args ?? [], cwd, pid: child.pid ?? null });
    return { terminalId: id };
  }

  private terminal(id: string): Terminal {
    const terminal = this.terminals.get(id);
    if (!terminal) throw acp.RequestError.invalidParams({ terminalId: id }, `no terminal ${id}`);
    return terminal;
  }

  terminalOutput(params: acp.TerminalOutputRequest): acp.TerminalOutputResponse {
    const t = this.terminal(params.terminalId);
    return { output: t.output, truncated: t.truncated, exitStatus: t.status ?? null };
  }

  async waitForTerminalExit(params: acp.WaitForTerminalExitRequest): Promise<acp.WaitForTerminalExitResponse> {
    return this.terminal(params.terminalId).exit;
  }

  killTerminal(params: acp.KillTerminalRequest): acp.KillTerminalResponse {
    stopGroup(this.terminal(params.terminalId));
    return {};
  }

  releaseTerminal(params: acp.ReleaseTerminalRequest): acp.ReleaseTerminalResponse {
    const t = this.terminal(params.terminalId);
    stopGroup(t);
    this.terminals.delete(params.terminalId);
    return {};
  }

  /** The agent is gone: every terminal it left running goes with it. */
  stopAll(): void {
    for (const t of this.terminals.values()) stopGroup(t);
    this.terminals.clear();
  }
}

function stopGroup(t: Terminal): void {
  const pid = t.child.pid;
  if (!pid || t.status) return;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      // ESRCH: already gone.
    }
  };
  signal('SIGTERM');
  const force = setTimeout(() => signal('SIGKILL'), TERMINAL_KILL_GRACE_MS);
  force.unref();
  void t.exit.then(() => clearTimeout(force));
}
