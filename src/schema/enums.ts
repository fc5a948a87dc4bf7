// The API's enums, declared once below every module: several domains' types use each of them, and
// the history event details (modules/history/details.ts) refer to them by name.
import { AssignmentReason, ContractPhase, HistoryEventType, MessageRole, SnapshotType, TaskEventType, TaskStatus } from '../generated/prisma/enums.js';
import { builder } from './builder.js';

/** The values of a database enum, each with its description (every enum value is described: test/schema-lint.test.ts). */
const described = <V extends string>(values: Record<V, string>) =>
  Object.fromEntries(Object.entries(values).map(([value, description]) => [value, { description: description as string }])) as Record<V, { description: string }>;

export const ContractPhaseEnum = builder.enumType('ContractPhase', {
  description: 'The phase of a contract. Phases only move forward (advanceContractPhase), in this order',
  values: described<ContractPhase>({
    RESEARCH: 'Learning the problem and the code (the phase a new contract starts in)',
    SPECIFY: 'Writing down what is to be built',
    PLAN: 'Planning how to build it',
    EXECUTE: 'Building it',
    REVIEW: 'Reviewing what was built',
    DONE: 'Finished; no phase follows',
  }),
});
export const TaskStatusEnum = builder.enumType('TaskStatus', {
  description: 'Where a task is in its life: PENDING → RUNNING → COMPLETED or FAILED; a lapsed lease makes it INTERRUPTED; resumeTask makes an INTERRUPTED or FAILED one PENDING again',
  values: described<TaskStatus>({
    PENDING: 'Waiting for a worker: the next claimTask receives it (pendingReason says why)',
    RUNNING: 'Claimed by a worker (workerId) that holds a lease until leaseExpiresAt',
    INTERRUPTED: "Its worker's lease lapsed before the task finished; resumable",
    COMPLETED: 'Finished by its worker (completeTask)',
    FAILED: 'Given up by its worker (failTask; lastError says why); resumable',
    CANCELLED: 'Stopped by its owner; never claimed again',
  }),
});
export const MessageRoleEnum = builder.enumType('MessageRole', {
  description: 'Who wrote a conversation message',
  values: described<MessageRole>({
    SYSTEM: 'Instructions that frame the conversation',
    USER: 'The person (or the supervisor) speaking to the agent',
    ASSISTANT: 'The agent',
    TOOL: 'The result of a tool the agent called',
  }),
});
export const SnapshotTypeEnum = builder.enumType('SnapshotType', {
  description: 'Why a conversation snapshot was taken',
  values: described<SnapshotType>({
    AUTO: 'Taken by the server: every MAKIMA_SNAPSHOT_EVERY messages, and of the old head before every conversation rewind',
    MANUAL: 'Taken on request (createSnapshot)',
    CHECKPOINT: 'Taken with a checkpoint (createCheckpoint, and the backup checkpoint of a rewind)',
  }),
});
export const TaskEventTypeEnum = builder.enumType('TaskEventType', {
  description: "The kind of an entry in a task's raw event stream (recordTaskEvents)",
  values: described<TaskEventType>({
    OUTPUT: "The agent's output (text or JSON)",
    TOOL_CALL: 'A tool the agent called, with its arguments',
    TOOL_RESULT: 'What a tool call returned',
    ERROR: 'An error the agent or its worker ran into',
    STATUS: 'A status line from the worker',
  }),
});
export const HistoryEventTypeEnum = builder.enumType('HistoryEventType', {
  description: 'The family of a history event; eventSubtype names the event within it (docs/api.md lists every kind)',
  values: described<HistoryEventType>({
    TASK: 'A task was created, continued, forked, claimed, renewed, interrupted, completed, failed, resumed or recovered, or recorded output',
    CHAT: 'A conversation changed: messages appended, a snapshot taken, a rewind',
    CHECKPOINT: 'A checkpoint was created, rewound to, or branched from',
    PHASE: 'A contract was created or advanced to another phase',
    FILE: 'A checkpoint changed files (their paths and how)',
  }),
});
export const AssignmentReasonEnum = builder.enumType('AssignmentReason', {
  description: 'Why a worker receives a task: a new task, a resume, a resume from a checkpoint, or a fork',
  values: described<AssignmentReason>({
    NEW: 'The task has never run',
    RESUME: 'The task was resumed (resumeTask, resumeSupervisor) after it was INTERRUPTED or FAILED',
    RESUME_FROM_CHECKPOINT: 'The task was rewound to a checkpoint and resumed (resumeTaskFromCheckpoint)',
    FORK: 'The task is a fork of another (forkTask) and has never run',
  }),
});
export const RewindModeEnum = builder.enumType('RewindMode', {
  description: 'What rewindTask moves back to the checkpoint; whatever it moves is saved first (backupCheckpoint, backupSnapshot)',
  values: {
    CODE: { description: 'The worktree and branch only (the conversation stays)' },
    CONVERSATION: { description: 'The conversation head only (files stay untouched)' },
    BOTH: { description: 'Code and conversation together' },
  } as const,
});

export const FileChangeStatusEnum = builder.enumType('FileChangeStatus', {
  description:
    'How a file differs between two commits, as `git diff --name-status --no-renames` reports it. A rename is a DELETED ' +
    'path and an ADDED one. (Until this enum, FileChange.status was a String in lower case: added, modified, deleted, type_changed.)',
  // The values are stored (checkpoints' filesChanged, FILE/changed data) in git's lower-case words.
  values: {
    ADDED: { value: 'added', description: 'The file is new (git status A)' },
    MODIFIED: { value: 'modified', description: 'The content changed (git status M)' },
    DELETED: { value: 'deleted', description: 'The file was removed (git status D)' },
    TYPE_CHANGED: { value: 'type_changed', description: 'The file changed kind: regular file, symbolic link or submodule (git status T)' },
  } as const,
});

/** Every API enum by name. */
export const API_ENUMS = {
  ContractPhase: ContractPhaseEnum,
  TaskStatus: TaskStatusEnum,
  MessageRole: MessageRoleEnum,
  SnapshotType: SnapshotTypeEnum,
  TaskEventType: TaskEventTypeEnum,
  HistoryEventType: HistoryEventTypeEnum,
  AssignmentReason: AssignmentReasonEnum,
  RewindMode: RewindModeEnum,
  FileChangeStatus: FileChangeStatusEnum,
} as const;
