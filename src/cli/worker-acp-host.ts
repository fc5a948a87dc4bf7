// What `makima worker --acp` (worker-acp.ts) needs from the run that claimed the task, and its options
// (docs/design.md §15): a working directory and callbacks, so that the driver works wherever that
// directory is. Types only; the run (worker-run.ts) implements the host.
import type { ApiClient } from './client.js';
import type { CliClaimTaskMutation } from '../generated/gql/graphql.js';
import type { MessageRole, TaskEventType } from './worker-protocol.js';

/** The claimed task with its context (worker-run's ClaimTask). */
export type Assignment = NonNullable<CliClaimTaskMutation['claimTask']['assignment']>;

/** How the worker tells its operator what happens: an event name, details for --json, a line for people. */
export type Report = (event: string, details: Record<string, unknown>, text: string) => void;

export type PermissionPolicy = 'allow' | 'reject' | 'ask-fail' | 'default';
export type CheckpointEvery = 'turn' | 'edit';

export interface AcpOptions {
  permissions: PermissionPolicy;
  checkpointEvery: CheckpointEvery;
  /** How long initialize, session/new and session/load may take. */
  initTimeoutMs: number;
  /** The longest line (one JSON-RPC message) read from the agent: memory the agent can make the worker hold. */
  maxMessageBytes: number;
}

/** What a run gives the driver: where the agent works, and its reports to the API, kept in order. */
export interface AcpHost {
  workdir: string;
  assignment: Assignment;
  workerId: string;
  report: Report;
  /** A task event, batched with the others (it never overtakes work queued before it). */
  event(type: TaskEventType, data: unknown): void;
  /** Runs `work` after every event and report before it. */
  inOrder(work: () => Promise<void>): Promise<void>;
  /** One API call for the held task; undefined when the task is not this worker's any more. */
  request<T>(send: (client: ApiClient) => Promise<T>): Promise<T | undefined>;
  appendMessage(message: { role: MessageRole; content: unknown; toolCalls?: unknown }): Promise<string | undefined>;
  checkpoint(message: string): Promise<void>;
  recordError(message: string): Promise<void>;
  declare(outcome: { kind: 'done' } | { kind: 'fail'; error: string }): void;
  stderrTail(): string;
  /** The task was lost (lapsed, cancelled) or the worker is stopping: nothing more to start. */
  gone(): boolean;
  /** How to ask the agent to stop before it is killed (cancelTask, Ctrl-C). */
  onInterrupt(interrupt: () => void): void;
  kill(): void;
  /** A process group the worker started for the agent (a terminal): stopped by the reaper too if the worker dies. */
  watchGroup(pgid: number): void;
  /** A group named to watchGroup may have ended (its leader exited): the worker's record of it goes once it has. */
  groupEnded(): void;
}

