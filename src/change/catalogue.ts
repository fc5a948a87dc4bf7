// The catalogue of history events (docs/design.md §10): every event type and subtype a change can
// record, with the shape of its data. Types are inferred from it, so a record with an unknown
// subtype or the wrong data does not compile; the GraphQL `HistoryEvent.details` union
// (history/details.ts) and the event table of docs/api.md (scripts/event-table.ts) are generated from it.
import { z } from 'zod';
import type { HistoryEventDraft } from '../db/change.js';
import { ContractPhase } from '../generated/prisma/enums.js';

/** Which GraphQL node type an id field names (its value is a raw UUID in `data`, a global ID in `details`). */
export const nodeIds = z.registry<{ node: 'Task' | 'Checkpoint' | 'ConversationSnapshot' | 'ConversationMessage' }>();
const idOf = (node: 'Task' | 'Checkpoint' | 'ConversationSnapshot' | 'ConversationMessage', description: string) =>
  z.string().describe(description).register(nodeIds, { node });

/**
 * Enums shared with the API: details fields of these types use the API's enum of that name. Each
 * field makes its own (described) schema: a registry entry belongs to one schema instance, and
 * `.describe()` makes a new one.
 */
export const apiEnums = z.registry<{ name: string }>();
const apiEnum = <const V extends readonly [string, ...string[]]>(name: string, values: V) => (description: string) =>
  z.enum(values).describe(description).register(apiEnums, { name });
const phase = apiEnum('ContractPhase', Object.values(ContractPhase) as [ContractPhase, ...ContractPhase[]]);
const status = apiEnum('TaskStatus', ['PENDING', 'RUNNING', 'INTERRUPTED', 'COMPLETED', 'FAILED', 'CANCELLED']);
const reason = apiEnum('AssignmentReason', ['NEW', 'RESUME', 'RESUME_FROM_CHECKPOINT', 'FORK']);
const role = apiEnum('MessageRole', ['SYSTEM', 'USER', 'ASSISTANT', 'TOOL']);
const taskEventType = apiEnum('TaskEventType', ['OUTPUT', 'TOOL_CALL', 'TOOL_RESULT', 'ERROR', 'STATUS']);
const snapshotType = apiEnum('SnapshotType', ['AUTO', 'MANUAL', 'CHECKPOINT']);
const rewindMode = apiEnum('RewindMode', ['CODE', 'CONVERSATION', 'BOTH']);
const fileStatus = apiEnum('FileChangeStatus', ['added', 'modified', 'deleted', 'type_changed']);

const int = (description: string) => z.number().int().describe(description);
const text = (description: string) => z.string().describe(description);
const flag = (description: string) => z.boolean().describe(description);
const time = (description: string) => z.iso.datetime().describe(`${description} (ISO 8601)`);
const sha = (description: string) => z.string().describe(description);

const taskRow = {
  name: text("The task's name"),
  branch: text("The task's own branch (null for an imported or captured session, which gets one when first claimed)").nullable(),
  baseCommit: sha('The commit its worktree started at'),
  isSupervisor: flag("Whether it is its contract's supervisor"),
};

const resumeExtras = {
  fromSnapshotId: idOf('ConversationSnapshot', 'ResumeSupervisor: the snapshot the conversation was rewound to').optional(),
  checkpointId: idOf('Checkpoint', 'ResumeTaskFromCheckpoint: the checkpoint rewound to').optional(),
  checkpointNumber: int('ResumeTaskFromCheckpoint: its number').optional(),
  commitSha: sha('ResumeTaskFromCheckpoint: its commit').optional(),
  backupCheckpointId: idOf('Checkpoint', 'The worktree before the rewind').nullable().optional(),
  backupSnapshotId: idOf('ConversationSnapshot', 'The conversation before the rewind').nullable().optional(),
};

export const CATALOGUE = {
  PHASE: {
    created: {
      when: 'a contract is created',
      data: z.object({ name: text("The contract's name"), to: phase('The phase it starts in'), repositoryPath: text('Its git repository') }),
    },
    changed: { when: "a contract's phase is advanced", data: z.object({ from: phase('The phase before'), to: phase('The phase after') }) },
    archived: {
      when: 'a contract is archived (after the TASK/archived of each of its tasks)',
      data: z.object({ tasks: int('How many of its tasks were archived by it'), retention: flag('True when the retention archived it') }),
    },
  },
  TASK: {
    created: { when: 'a task is created (a new task, a supervisor, a fork)', data: z.object(taskRow) },
    continued: {
      when: "a task is created that continues from another task's code",
      data: z.object({ ...taskRow, fromTaskId: idOf('Task', 'The task continued from'), commit: sha("That task's commit the new one starts at") }),
    },
    forked: {
      when: 'a task is forked from a checkpoint or a message (after its TASK/created)',
      data: z.object({
        fromTaskId: idOf('Task', 'The original task'),
        atCheckpointId: idOf('Checkpoint', 'The fork point, for a fork at a checkpoint').nullable(),
        atCheckpointNumber: int("That checkpoint's number").nullable(),
        atMessageId: idOf('ConversationMessage', 'The fork point, for a fork at a message').nullable(),
        commitSha: sha("The commit the fork's worktree starts at"),
        codeFromCheckpointId: idOf('Checkpoint', 'The checkpoint whose code the fork starts from').nullable(),
        headMessageId: idOf('ConversationMessage', "The fork's conversation head").nullable(),
        messageCount: int("Messages in the fork's conversation"),
      }),
    },
    status_changed: {
      when: 'a worker claims a task',
      data: z.object({
        from: status('The status before'),
        to: status('The status after'),
        workerId: text('The worker that claimed it'),
        reason: reason('Why the worker received it'),
        leaseExpiresAt: time('When its lease lapses unless renewed'),
      }),
    },
    lease_renewed: {
      when: 'no longer written (a renewal is not history since 0.2; older databases have these)',
      data: z.object({ workerId: text('The worker that renewed'), leaseExpiresAt: time('When the lease now lapses') }),
    },
    interrupted: {
      when: "a worker's lease lapsed",
      data: z.object({
        from: status('The status before'),
        to: status('The status after'),
        workerId: text('The worker whose lease lapsed').nullable(),
        leaseExpiredAt: time('When the lease lapsed'),
        detectedBy: text('What noticed the lapse: the sweep, or the call that touched the task'),
      }),
    },
    completed: {
      when: 'a worker completes a task',
      data: z.object({ from: status('The status before'), to: status('The status after'), workerId: text('The worker that completed it') }),
    },
    failed: {
      when: 'a worker fails a task',
      data: z.object({ from: status('The status before'), to: status('The status after'), workerId: text('The worker that failed it'), error: text('Why it failed') }),
    },
    cancel_requested: {
      when: 'cancelTask on a RUNNING task: its worker is told at its next renew or report',
      data: z.object({ reason: text('Why, as given to cancelTask').nullable(), workerId: text('The worker running it').nullable() }),
    },
    cancelled: {
      when: 'a task is cancelled: at once when PENDING, INTERRUPTED or FAILED; when RUNNING, once its worker is told or its lease lapses',
      data: z.object({
        from: status('The status before'),
        to: status('The status after'),
        reason: text('Why, as given to cancelTask').nullable(),
        workerId: text('The worker that was running it').nullable(),
        detectedBy: text('What ended it: cancelTask, the worker call that was told, or the sweep'),
      }),
    },
    archived: {
      when: 'a task is archived: its worktree and branch removed, its checkpoints kept under refs/makima/',
      data: z.object({
        branch: text('The branch removed').nullable(),
        worktreePath: text('The worktree removed').nullable(),
        headCommit: sha('The commit the branch was at, kept under refs/makima/').nullable(),
        retention: flag('True when the retention archived it'),
      }),
    },
    resumed: {
      when: 'a task or supervisor is resumed (also from a checkpoint)',
      data: z.object({
        from: status('The status before'),
        to: status('The status after'),
        reason: reason('Why the next worker receives it'),
        note: text('The resume note the next worker receives'),
        ...resumeExtras,
      }),
    },
    recovered: {
      when: 'at start, a change that moved git and died before committing was rolled back',
      data: z.object({
        change: text('What the change was doing, e.g. "rewind task"'),
        startedAt: time('When the change started'),
        undone: z.array(z.string()).describe('The git steps undone, last first'),
        journalId: text('The journal entry of the change'),
      }),
    },
    agent_session: {
      when: 'a worker opens (or loads) an agent session for the task: makima worker --acp (docs/design.md §15)',
      data: z.object({
        protocol: text('The protocol, "acp"'),
        sessionId: text("The agent's session id"),
        how: text('"new" (a new session), "load" (session/load of the known one) or "replay" (a new session given the conversation so far)'),
        agentName: text("The agent's name, as it reported it").nullable(),
        agentVersion: text("The agent's version, as it reported it").nullable(),
        workerId: text('The worker that drives it'),
      }),
    },
    usage: {
      when: 'a worker reports the tokens and cost of an agent turn, or an import brings token usage (summed in Task.usage)',
      data: z.object({
        inputTokens: int('Input tokens of the turn').nullable(),
        outputTokens: int('Output tokens of the turn').nullable(),
        costUsd: z.number().describe('Cost of the turn in US dollars').nullable(),
        messageId: idOf('ConversationMessage', 'The message of the turn it belongs to (null for an import)').nullable(),
      }),
    },
    output: {
      when: 'a batch of task events is recorded',
      data: z.object({
        count: int('Events in the batch'),
        types: z.array(taskEventType('A type')).describe('Their types, each once'),
        firstSeq: int('The seq of the first'),
        lastSeq: int('The seq of the last'),
      }),
    },
  },
  CHAT: {
    message: {
      when: 'messages are appended',
      data: z.object({
        count: int('Messages appended'),
        headId: idOf('ConversationMessage', 'The new head'),
        messageCount: int('Messages in the conversation now'),
        roles: z.array(role('A role')).describe('The roles of the messages appended'),
      }),
    },
    snapshot: {
      when: 'a manual snapshot is taken',
      data: z.object({
        snapshotId: idOf('ConversationSnapshot', 'The snapshot'),
        messageCount: int('Messages in the snapshot'),
        headId: idOf('ConversationMessage', 'The head it points at').nullable(),
        type: snapshotType('Its type'),
      }),
    },
    rewound: {
      when: 'a conversation is rewound (also as part of a task rewind or resume)',
      data: z.object({
        fromHeadId: idOf('ConversationMessage', 'The head before').nullable(),
        fromMessageCount: int('Messages before'),
        toHeadId: idOf('ConversationMessage', 'The head after').nullable(),
        toMessageCount: int('Messages after'),
        backupSnapshotId: idOf('ConversationSnapshot', 'The old head; rewind to it to undo'),
        toMessageId: idOf('ConversationMessage', 'Rewound to this message').optional(),
        toSnapshotId: idOf('ConversationSnapshot', 'Rewound to this snapshot').optional(),
        checkpointId: idOf('Checkpoint', "Rewound to this checkpoint's snapshot").optional(),
        checkpointNumber: int("That checkpoint's number").optional(),
        snapshotId: idOf('ConversationSnapshot', 'ResumeSupervisor: rewound to this snapshot').optional(),
        reason: text('Which operation rewound it, when not rewindConversation').optional(),
        forgottenAgentSessionId: text("The task's agent session, which holds the turns rewound away: forgotten, so that the next run starts a new one").optional(),
      }),
    },
  },
  CHECKPOINT: {
    created: {
      when: 'a checkpoint is created (also the backup before a rewind)',
      data: z.object({
        checkpointId: idOf('Checkpoint', 'The checkpoint'),
        number: int('Its number'),
        commitSha: sha('Its commit'),
        branch: text('The branch it was made on'),
        message: text('Its message'),
        isBackup: flag('Whether it is the backup saved before a rewind'),
        newCommit: flag('False when nothing had changed since HEAD'),
        snapshotId: idOf('ConversationSnapshot', 'The conversation at this checkpoint'),
        messageCount: int('Messages in that conversation'),
        filesChanged: int('Files it changed'),
      }),
    },
    rewound: {
      when: "a task's code (and/or conversation) is rewound to a checkpoint",
      data: z.object({
        checkpointId: idOf('Checkpoint', 'The checkpoint rewound to'),
        number: int('Its number'),
        mode: rewindMode('What was rewound'),
        commitSha: sha('The commit the worktree is now at').nullable(),
        fromCommit: sha('The commit it was at before').nullable(),
        backupCheckpointId: idOf('Checkpoint', 'The worktree before; rewind to it to undo').nullable(),
        backupCheckpointNumber: int("That backup's number").nullable(),
        backupSnapshotId: idOf('ConversationSnapshot', 'The conversation before').nullable(),
      }),
    },
    branched: {
      when: 'a branch is created from a checkpoint',
      data: z.object({
        checkpointId: idOf('Checkpoint', 'The checkpoint'),
        number: int('Its number'),
        branchName: text('The new branch'),
        commitSha: sha('The commit it points at'),
      }),
    },
  },
  FILE: {
    changed: {
      when: 'a checkpoint changed files (at most 1,000 paths listed)',
      data: z.object({
        checkpointId: idOf('Checkpoint', 'The checkpoint'),
        number: int('Its number'),
        since: sha('The commit compared against'),
        files: z
          .array(z.object({ path: text('The path in the repository'), status: fileStatus('How it changed') }).describe('A changed file'))
          .describe('The changed files, at most 1,000'),
        truncated: flag('Whether more files changed than are listed'),
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

/** The catalogue as a Markdown table (docs/api.md's "History events written" is generated from it). */
export function catalogueTable(): string {
  const rows = catalogueEntries().map(({ type, subtype, when, data }) => {
    const fields = Object.entries(data.shape as Record<string, z.ZodType>).map(([k, s]) => (s.safeParse(undefined).success ? `${k}?` : k));
    return `| \`${type}\` / \`${subtype}\` | ${when} | ${fields.map((f) => `\`${f}\``).join(', ')} |`;
  });
  return ['| event type / subtype | written when | data (`?`: not always present) |', '|---|---|---|', ...rows].join('\n');
}
