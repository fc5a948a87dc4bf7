// The API's enums, declared once below every module: several domains' types use each of them, and
// the history event details (modules/history/details.ts) refer to them by name.
import { AssignmentReason, ContractPhase, HistoryEventType, MessageRole, SnapshotType, TaskEventType, TaskStatus } from '../generated/prisma/enums.js';
import { builder } from './builder.js';

export const ContractPhaseEnum = builder.enumType(ContractPhase, { name: 'ContractPhase' });
export const TaskStatusEnum = builder.enumType(TaskStatus, { name: 'TaskStatus' });
export const MessageRoleEnum = builder.enumType(MessageRole, { name: 'MessageRole' });
export const SnapshotTypeEnum = builder.enumType(SnapshotType, { name: 'SnapshotType' });
export const TaskEventTypeEnum = builder.enumType(TaskEventType, { name: 'TaskEventType' });
export const HistoryEventTypeEnum = builder.enumType(HistoryEventType, { name: 'HistoryEventType' });
export const AssignmentReasonEnum = builder.enumType(AssignmentReason, {
  name: 'AssignmentReason',
  description: 'Why a worker receives a task: a new task, a resume, a resume from a checkpoint, or a fork',
});
export const RewindModeEnum = builder.enumType('RewindMode', {
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
