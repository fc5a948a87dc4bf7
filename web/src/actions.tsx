// The steering actions of a task, each as a Steering (steer.tsx): what it saves first, the
// mutation it runs, what it saved and how to undo it. The words follow the API's guarantees
// (docs/api.md, "Checkpoints, rewind, branch and fork", and docs/workers.md).
import type { ComponentChildren } from 'preact';
import { gql } from './api';
import { graphql } from './generated';
import type { RewindMode } from './generated/graphql';
import { shortSha } from './format';
import type { Steering } from './steer';

export interface TaskRef {
  id: string;
  name: string;
  status: string;
}

export interface CheckpointRef {
  id: string;
  number: number;
  message: string;
  commitSha: string;
}

export interface MessageRef {
  id: string;
  index: number;
}

const MODES: Record<string, string> = { CODE: 'the code', CONVERSATION: 'the conversation', BOTH: 'the code and the conversation' };

export function rewindTask(task: TaskRef, checkpoint: CheckpointRef, mode: () => RewindMode, modeField: ComponentChildren): Steering {
  return {
    title: `Rewind “${task.name}” to checkpoint #${checkpoint.number}`,
    before: (
      <ul>
        <li>
          <strong>Code:</strong> before the worktree moves, makima saves all of it — committed or not, untracked files included — as a new <em>backup checkpoint</em>. Then the worktree
          and branch are set to checkpoint #{checkpoint.number} ({shortSha(checkpoint.commitSha)}); ignored files stay.
        </li>
        <li>
          <strong>Conversation:</strong> its current head is saved as a <em>snapshot</em>, then the conversation goes back to what it was at checkpoint #{checkpoint.number}. Nothing is
          deleted.
        </li>
        <li>A task that a worker is running cannot be rewound: the API refuses it with CONFLICT.</li>
      </ul>
    ),
    fields: modeField,
    confirmLabel: 'Save a backup and rewind',
    run: async () => {
      const m = mode();
      const { rewindTask: r } = await gql(
        graphql(`mutation Rewind($input: RewindTaskInput!) { rewindTask(input: $input) {
          task { messageCount headCommit } backupCheckpoint { id number commitSha } backupSnapshot { id messageCount } } }`),
        { input: { taskId: task.id, checkpointId: checkpoint.id, mode: m } },
      );
      const saved = [
        r.backupCheckpoint && `backup checkpoint #${r.backupCheckpoint.number} (${shortSha(r.backupCheckpoint.commitSha)})`,
        r.backupSnapshot && `a snapshot of the conversation (${r.backupSnapshot.messageCount} messages)`,
      ].filter(Boolean);
      return {
        done: `Rewound ${MODES[m]} to checkpoint #${checkpoint.number}. Saved first: ${saved.join(' and ')}.`,
        undo: r.backupCheckpoint ? (
          <p>
            Rewind to backup checkpoint #{r.backupCheckpoint.number} with mode {m}: it restores every file byte for byte{m === 'BOTH' ? ', and its snapshot the conversation' : ''}. (CLI:{' '}
            <code>
              makima task-rewind {task.id} '#{r.backupCheckpoint.number}' --mode {m.toLowerCase()}
            </code>
            )
          </p>
        ) : (
          <p>Rewind the conversation to the saved snapshot: the messages are all still there.</p>
        ),
        undoAction: r.backupCheckpoint
          ? {
              label: `Undo: rewind to backup #${r.backupCheckpoint.number}`,
              run: async () => {
                const { rewindTask: u } = await gql(
                  graphql(`mutation UndoRewind($input: RewindTaskInput!) { rewindTask(input: $input) { backupCheckpoint { id number commitSha } backupSnapshot { id messageCount } task { messageCount headCommit } } }`),
                  { input: { taskId: task.id, checkpointId: r.backupCheckpoint!.id, mode: m } },
                );
                return `Undone: back at backup checkpoint #${r.backupCheckpoint!.number}. What the rewind had left is saved too, as backup checkpoint #${u.backupCheckpoint?.number}.`;
              },
            }
          : r.backupSnapshot
            ? { label: 'Undo: restore the conversation', run: () => restoreSnapshot(task, r.backupSnapshot!.id) }
            : undefined,
      };
    },
  };
}

async function restoreSnapshot(task: TaskRef, snapshotId: string): Promise<string> {
  const { rewindConversation: u } = await gql(
    graphql(`mutation UndoConversationRewind($input: RewindConversationInput!) { rewindConversation(input: $input) { task { messageCount } backupSnapshot { id } } }`),
    { input: { taskId: task.id, toSnapshotId: snapshotId } },
  );
  return `Undone: the conversation is back to ${u.task.messageCount} messages.`;
}

export function rewindConversation(task: TaskRef, message: MessageRef): Steering {
  return {
    title: `Rewind the conversation of “${task.name}” to message ${message.index + 1}`,
    before: (
      <p>
        The conversation's current head is saved as a <em>snapshot</em> first; then its head moves back to message {message.index + 1}. No message is deleted, and the code is not touched.
      </p>
    ),
    confirmLabel: 'Save a snapshot and rewind',
    run: async () => {
      const { rewindConversation: r } = await gql(
        graphql(`mutation RewindConversation($input: RewindConversationInput!) { rewindConversation(input: $input) { task { messageCount } backupSnapshot { id messageCount } } }`),
        { input: { taskId: task.id, toMessageId: message.id } },
      );
      return {
        done: `The conversation now ends at message ${message.index + 1} (${r.task.messageCount} messages). Saved first: a snapshot of the previous head (${r.backupSnapshot.messageCount} messages).`,
        undo: <p>Rewind the conversation to that snapshot ({r.backupSnapshot.id}).</p>,
        undoAction: { label: 'Undo: restore the conversation', run: () => restoreSnapshot(task, r.backupSnapshot.id) },
      };
    },
  };
}

export function forkTask(task: TaskRef, at: { checkpoint?: CheckpointRef; message?: MessageRef }, name: () => string, nameField: ComponentChildren): Steering {
  const where = at.checkpoint ? `checkpoint #${at.checkpoint.number}` : `message ${(at.message?.index ?? 0) + 1}`;
  return {
    title: `Fork “${task.name}” at ${where}`,
    before: (
      <p>
        Nothing in “{task.name}” changes (even while a worker runs it), so nothing needs saving. The fork is a new PENDING task with its own worktree and branch, starting from {where}
        {at.message ? ' and the code of the latest checkpoint made by then' : ' and its conversation snapshot'}; the next worker receives it.
      </p>
    ),
    fields: nameField,
    confirmLabel: 'Fork',
    run: async () => {
      const { forkTask: r } = await gql(
        graphql(`mutation Fork($input: ForkTaskInput!) { forkTask(input: $input) { task { id name branch } } }`),
        { input: { taskId: task.id, checkpointId: at.checkpoint?.id, messageId: at.message?.id, name: name() || undefined } },
      );
      return {
        done: `Forked: “${r.task.name}” on branch ${r.task.branch}.`,
        undo: <p>The original is untouched. To drop the fork before a worker runs it, open it and cancel it; its history stays.</p>,
        link: { href: `#/task/${r.task.id}`, label: `Open “${r.task.name}”` },
      };
    },
  };
}

export function branchFromCheckpoint(task: TaskRef, checkpoint: CheckpointRef, name: () => string, nameField: ComponentChildren): Steering {
  return {
    title: `Branch from checkpoint #${checkpoint.number}`,
    before: (
      <p>
        Creates a git branch in the contract's repository at checkpoint #{checkpoint.number} ({shortSha(checkpoint.commitSha)}). Nothing else changes; an existing branch is never
        overwritten (the API answers CONFLICT).
      </p>
    ),
    fields: nameField,
    confirmLabel: 'Create the branch',
    run: async () => {
      const { branchFromCheckpoint: r } = await gql(
        graphql(`mutation Branch($input: BranchFromCheckpointInput!) { branchFromCheckpoint(input: $input) { branchName commitSha } }`),
        { input: { taskId: task.id, checkpointId: checkpoint.id, branchName: name() } },
      );
      return {
        done: `Created branch ${r.branchName} at ${shortSha(r.commitSha)}.`,
        undo: (
          <p>
            Delete the branch in the repository: <code>git branch -D {r.branchName}</code> (the checkpoint itself stays reachable).
          </p>
        ),
      };
    },
  };
}

export function resumeTask(task: TaskRef): Steering {
  return {
    title: `Resume “${task.name}”`,
    before: (
      <p>
        Nothing is rewound, so nothing needs saving: the task becomes PENDING and the next worker receives it with its full conversation and its worktree as it is. Only an INTERRUPTED or
        FAILED task can be resumed (otherwise the API answers CONFLICT with the reason).
      </p>
    ),
    confirmLabel: 'Resume',
    run: async () => {
      const { resumeTask: r } = await gql(
        graphql(`mutation Resume($input: ResumeTaskInput!) { resumeTask(input: $input) { task { status resumeNote } } }`),
        { input: { taskId: task.id } },
      );
      return { done: `The task is ${r.task.status}. ${r.task.resumeNote ?? ''}`, undo: <p>Before a worker claims it, cancel the task. Once claimed, the worker's run is in the history.</p> };
    },
  };
}

export function resumeFromCheckpoint(task: TaskRef, checkpoint: CheckpointRef): Steering {
  return {
    title: `Resume “${task.name}” from checkpoint #${checkpoint.number}`,
    before: (
      <ul>
        <li>
          The worktree as it is now is saved as a new <em>backup checkpoint</em>, and the conversation's head as a <em>snapshot</em>.
        </li>
        <li>
          Then code and conversation go back to checkpoint #{checkpoint.number}, and the task becomes PENDING for the next worker — all in one change: both happen or neither does.
        </li>
      </ul>
    ),
    confirmLabel: 'Save a backup and resume',
    run: async () => {
      const { resumeTaskFromCheckpoint: r } = await gql(
        graphql(`mutation ResumeFrom($input: ResumeTaskFromCheckpointInput!) { resumeTaskFromCheckpoint(input: $input) {
          task { status messageCount headCommit } backupCheckpoint { id number commitSha } backupSnapshot { id messageCount } } }`),
        { input: { taskId: task.id, checkpointId: checkpoint.id } },
      );
      return {
        done: `The task is ${r.task.status}, from checkpoint #${checkpoint.number}. Saved first: backup checkpoint #${r.backupCheckpoint?.number} and a snapshot of the conversation.`,
        undo: <p>Cancel the task before a worker claims it, then rewind it to backup checkpoint #{r.backupCheckpoint?.number} with mode BOTH.</p>,
      };
    },
  };
}

export function cancelTask(task: TaskRef, reason: () => string, reasonField: ComponentChildren): Steering {
  return {
    title: `Cancel “${task.name}”`,
    before: (
      <p>
        Nothing is deleted or rewound: its conversation, checkpoints and history stay. A PENDING task is cancelled at once; a RUNNING one is asked to stop, and its worker learns it at its next
        report.
      </p>
    ),
    fields: reasonField,
    confirmLabel: 'Cancel the task',
    run: async () => {
      const { cancelTask: r } = await gql(graphql(`mutation Cancel($input: CancelTaskInput!) { cancelTask(input: $input) { task { status } } }`), {
        input: { taskId: task.id, reason: reason() || undefined },
      });
      return { done: `The task is ${r.task.status}.`, undo: <p>A cancelled task is not resumed; to go on from where it was, fork it at its latest checkpoint or message.</p> };
    },
  };
}
