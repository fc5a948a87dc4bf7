// The catalogue of history events (docs/design.md §10): every event type and subtype a change can
// record, with the shape of its data. Types are inferred from it, so a record with an unknown
// subtype or the wrong data does not compile; the GraphQL `HistoryEvent.details` union
// (history/details.ts) and the README's event table (scripts/event-table.ts) are generated from it.
import { z } from 'zod';
import type { HistoryEventDraft } from '../../db/change.js';

/** Which GraphQL node type an id field names (its value is a raw UUID in `data`, a global ID in `details`). */
export const nodeIds = z.registry<{ node: 'Task' | 'Checkpoint' | 'ConversationSnapshot' | 'ConversationMessage' }>();
const idOf = (node: 'Task' | 'Checkpoint' | 'ConversationSnapshot' | 'ConversationMessage', description: string) =>
  z.string().describe(description).register(nodeIds, { node });

/** Enums shared with the API: details fields of these types use the API's enum of that name. */
export const apiEnums = z.registry<{ name: string }>();
const phase = z.enum(['RESEARCH', 'SPECIFY', 'PLAN', 'EXECUTE', 'REVIEW', 'DONE']).register(apiEnums, { name: 'ContractPhase' });
const status = z.enum(['PENDING', 'RUNNING', 'INTERRUPTED', 'COMPLETED', 'FAILED', 'CANCELLED']).register(apiEnums, { name: 'TaskStatus' });
const reason = z.enum(['NEW', 'RESUME', 'RESUME_FROM_CHECKPOINT', 'FORK']).register(apiEnums, { name: 'AssignmentReason' });
const role = z.enum(['SYSTEM', 'USER', 'ASSISTANT', 'TOOL']).register(apiEnums, { name: 'MessageRole' });
const taskEventType = z.enum(['OUTPUT', 'TOOL_CALL', 'TOOL_RESULT', 'ERROR', 'STATUS']).register(apiEnums, { name: 'TaskEventType' });
const snapshotType = z.enum(['AUTO', 'MANUAL', 'CHECKPOINT']).register(apiEnums, { name: 'SnapshotType' });
const rewindMode = z.enum(['CODE', 'CONVERSATION', 'BOTH']).register(apiEnums, { name: 'RewindMode' });
const fileStatus = z.enum(['added', 'modified', 'deleted', 'type_changed']);

const int = z.number().int();
const time = z.iso.datetime().describe('an ISO 8601 time');
const sha = z.string().describe('a commit sha');

const taskRow = {
  name: z.string(),
  branch: z.string().describe("the task's own branch"),
  baseCommit: sha,
  isSupervisor: z.boolean(),
};

const resumeExtras = {
  fromSnapshotId: idOf('ConversationSnapshot', 'resumeSupervisor: the snapshot the conversation was rewound to').optional(),
  checkpointId: idOf('Checkpoint', 'resumeTaskFromCheckpoint: the checkpoint rewound to').optional(),
  checkpointNumber: int.optional(),
  commitSha: sha.optional(),
  backupCheckpointId: idOf('Checkpoint', 'the worktree before the rewind').nullable().optional(),
  backupSnapshotId: idOf('ConversationSnapshot', 'the conversation before the rewind').nullable().optional(),
};

export const CATALOGUE = {
  PHASE: {
    created: { when: 'a contract is created', data: z.object({ name: z.string(), to: phase, repositoryPath: z.string() }) },
    changed: { when: "a contract's phase is advanced", data: z.object({ from: phase, to: phase }) },
    archived: {
      when: 'a contract is archived (after the TASK/archived of each of its tasks)',
      data: z.object({ tasks: int.describe('how many of its tasks were archived by it'), retention: z.boolean().describe('true when the retention archived it') }),
    },
  },
  TASK: {
    created: { when: 'a task is created (a new task, a supervisor, a fork)', data: z.object(taskRow) },
    continued: {
      when: "a task is created that continues from another task's code",
      data: z.object({ ...taskRow, fromTaskId: idOf('Task', 'the task continued from'), commit: sha }),
    },
    forked: {
      when: 'a task is forked from a checkpoint or a message (after its TASK/created)',
      data: z.object({
        fromTaskId: idOf('Task', 'the original task'),
        atCheckpointId: idOf('Checkpoint', 'the fork point, for a fork at a checkpoint').nullable(),
        atCheckpointNumber: int.nullable(),
        atMessageId: idOf('ConversationMessage', 'the fork point, for a fork at a message').nullable(),
        commitSha: sha.describe("the commit the fork's worktree starts at"),
        codeFromCheckpointId: idOf('Checkpoint', 'the checkpoint whose code the fork starts from').nullable(),
        headMessageId: idOf('ConversationMessage', "the fork's conversation head").nullable(),
        messageCount: int,
      }),
    },
    status_changed: {
      when: 'a worker claims a task',
      data: z.object({ from: status, to: status, workerId: z.string(), reason, leaseExpiresAt: time }),
    },
    lease_renewed: { when: 'a worker renews its lease', data: z.object({ workerId: z.string(), leaseExpiresAt: time }) },
    interrupted: {
      when: "a worker's lease lapsed",
      data: z.object({ from: status, to: status, workerId: z.string().nullable(), leaseExpiredAt: time, detectedBy: z.string() }),
    },
    cancel_requested: {
      when: 'cancelTask on a RUNNING task: its worker is told at its next renew or report',
      data: z.object({ reason: z.string().nullable(), workerId: z.string().nullable() }),
    },
    cancelled: {
      when: 'a task is cancelled: at once when PENDING, INTERRUPTED or FAILED; when RUNNING, once its worker is told or its lease lapses',
      data: z.object({ from: status, to: status, reason: z.string().nullable(), workerId: z.string().nullable(), detectedBy: z.string() }),
    },
    archived: {
      when: "a task is archived: its worktree and branch removed, its checkpoints kept under refs/makima/",
      data: z.object({
        branch: z.string().nullable().describe('the branch removed'),
        worktreePath: z.string().nullable().describe('the worktree removed'),
        headCommit: sha.nullable().describe('the commit the branch was at, kept under refs/makima/'),
        retention: z.boolean().describe('true when the retention archived it'),
      }),
    },
    completed: { when: 'a worker completes a task', data: z.object({ from: status, to: status, workerId: z.string() }) },
    failed: { when: 'a worker fails a task', data: z.object({ from: status, to: status, workerId: z.string(), error: z.string() }) },
    resumed: {
      when: 'a task or supervisor is resumed (also from a checkpoint)',
      data: z.object({ from: status, to: status, reason, note: z.string(), ...resumeExtras }),
    },
    recovered: {
      when: 'at start, a change that moved git and died before committing was rolled back',
      data: z.object({
        change: z.string().describe('what the change was doing, e.g. "rewind task"'),
        startedAt: time,
        undone: z.array(z.string()).describe('the git steps undone, last first'),
        journalId: z.string(),
      }),
    },
    output: {
      when: 'a batch of task events is recorded',
      data: z.object({ count: int, types: z.array(taskEventType), firstSeq: int, lastSeq: int }),
    },
  },
  CHAT: {
    message: {
      when: 'messages are appended',
      data: z.object({ count: int, headId: idOf('ConversationMessage', 'the new head'), messageCount: int, roles: z.array(role) }),
    },
    snapshot: {
      when: 'a manual snapshot is taken',
      data: z.object({
        snapshotId: idOf('ConversationSnapshot', 'the snapshot'),
        messageCount: int,
        headId: idOf('ConversationMessage', 'the head it points at').nullable(),
        type: snapshotType,
      }),
    },
    rewound: {
      when: 'a conversation is rewound (also as part of a task rewind or resume)',
      data: z.object({
        fromHeadId: idOf('ConversationMessage', 'the head before').nullable(),
        fromMessageCount: int,
        toHeadId: idOf('ConversationMessage', 'the head after').nullable(),
        toMessageCount: int,
        backupSnapshotId: idOf('ConversationSnapshot', 'the old head; rewind to it to undo'),
        toMessageId: idOf('ConversationMessage', 'rewound to this message').optional(),
        toSnapshotId: idOf('ConversationSnapshot', 'rewound to this snapshot').optional(),
        checkpointId: idOf('Checkpoint', "rewound to this checkpoint's snapshot").optional(),
        checkpointNumber: int.optional(),
        snapshotId: idOf('ConversationSnapshot', 'resumeSupervisor: rewound to this snapshot').optional(),
        reason: z.string().optional(),
      }),
    },
  },
  CHECKPOINT: {
    created: {
      when: 'a checkpoint is created (also the backup before a rewind)',
      data: z.object({
        checkpointId: idOf('Checkpoint', 'the checkpoint'),
        number: int,
        commitSha: sha,
        branch: z.string(),
        message: z.string(),
        isBackup: z.boolean(),
        newCommit: z.boolean().describe('false when nothing had changed since HEAD'),
        snapshotId: idOf('ConversationSnapshot', 'the conversation at this checkpoint'),
        messageCount: int,
        filesChanged: int,
      }),
    },
    rewound: {
      when: "a task's code (and/or conversation) is rewound to a checkpoint",
      data: z.object({
        checkpointId: idOf('Checkpoint', 'the checkpoint rewound to'),
        number: int,
        mode: rewindMode,
        commitSha: sha.nullable(),
        fromCommit: sha.nullable(),
        backupCheckpointId: idOf('Checkpoint', 'the worktree before; rewind to it to undo').nullable(),
        backupCheckpointNumber: int.nullable(),
        backupSnapshotId: idOf('ConversationSnapshot', 'the conversation before').nullable(),
      }),
    },
    branched: {
      when: 'a branch is created from a checkpoint',
      data: z.object({ checkpointId: idOf('Checkpoint', 'the checkpoint'), number: int, branchName: z.string(), commitSha: sha }),
    },
  },
  FILE: {
    changed: {
      when: 'a checkpoint changed files (at most 1,000 paths listed)',
      data: z.object({
        checkpointId: idOf('Checkpoint', 'the checkpoint'),
        number: int,
        since: sha.describe('the commit compared against'),
        files: z.array(z.object({ path: z.string(), status: fileStatus })),
        truncated: z.boolean(),
      }),
    },
  },
} as const;

export type EventType = keyof typeof CATALOGUE;
export type EventSubtype<T extends EventType> = keyof (typeof CATALOGUE)[T] & string;
type Entry<T extends EventType, S extends EventSubtype<T>> = (typeof CATALOGUE)[T][S] extends { data: infer D extends z.ZodType } ? D : never;
export type EventData<T extends EventType, S extends EventSubtype<T>> = z.input<Entry<T, S>>;

/** What an event is about: its owner, and the contract and task it concerns. */
export interface EventSubject {
  ownerId: string;
  contractId?: string | null;
  taskId?: string | null;
}

/** The subject of an event about a task (or a task-like row). */
export function aboutTask(task: { ownerId: string; contractId: string | null; id: string }): EventSubject {
  return { ownerId: task.ownerId, contractId: task.contractId, taskId: task.id };
}

/** A history event for `record`, typed by the catalogue. */
export function historyEvent<T extends EventType, S extends EventSubtype<T>>(subject: EventSubject, type: T, subtype: S, data: EventData<T, S>): HistoryEventDraft {
  return { ...subject, eventType: type, eventSubtype: subtype, data: data as Record<string, unknown> };
}

/** Every (type, subtype, entry) of the catalogue, in declaration order. */
export function catalogueEntries(): { type: EventType; subtype: string; when: string; data: z.ZodObject }[] {
  return Object.entries(CATALOGUE).flatMap(([type, subtypes]) =>
    Object.entries(subtypes).map(([subtype, entry]) => ({ type: type as EventType, subtype, when: entry.when, data: entry.data as z.ZodObject })),
  );
}

/** The catalogue's schema for an event, or undefined for a (type, subtype) it does not declare. */
export function eventSchema(type: string, subtype: string | null): z.ZodObject | undefined {
  const subtypes = (CATALOGUE as Record<string, Record<string, { data: z.ZodObject }>>)[type];
  return subtype ? subtypes?.[subtype]?.data : undefined;
}

/** The catalogue as a Markdown table (the README's "History events written" is generated from it). */
export function catalogueTable(): string {
  const rows = catalogueEntries().map(({ type, subtype, when, data }) => {
    const fields = Object.entries(data.shape as Record<string, z.ZodType>).map(([k, s]) => (s.safeParse(undefined).success ? `${k}?` : k));
    return `| \`${type}\` / \`${subtype}\` | ${when} | ${fields.map((f) => `\`${f}\``).join(', ')} |`;
  });
  return ['| event type / subtype | written when | data (`?`: not always present) |', '|---|---|---|', ...rows].join('\n');
}
