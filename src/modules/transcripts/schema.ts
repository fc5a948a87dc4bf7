// GraphQL: Task.transcript and importTranscript.
import { builder } from '../../schema/builder.js';
import { decodeId, isUuid } from '../../schema/ids.js';
import { serviceContext } from '../../schema/viewer.js';
import { TaskRef } from '../tasks/schema.js';
import { BadInputError } from '../../errors.js';
import type { ExportPoint } from './claude-code-export.js';
import { MAX_RESULT_CHARS } from './markdown.js';
import { FORMAT } from './makima-jsonl.js';
import { importTranscript, MAX_TRANSCRIPT_CHARS, taskTranscript } from './service.js';

const TranscriptFormatEnum = builder.enumType('TranscriptFormat', {
  description: 'How a task transcript is written',
  values: {
    MARKDOWN: {
      description: `For a reviewer: the conversation root → head with roles and times, tool calls with their arguments, results cut at ${MAX_RESULT_CHARS} characters (marked), checkpoints with their files (+/−), and rewinds, forks and resumes where they happened`,
    },
    JSONL: {
      description: `Lossless (${FORMAT} v1): a task header, then one JSON record per message (every branch), task event, checkpoint and marker; importTranscript(source: MAKIMA_JSONL) reads it back into an identical conversation`,
    },
    CLAUDE_CODE: {
      description:
        'A Claude Code session file for `claude --resume <sessionId>`: the conversation root → `at` (default the head) as user/assistant/system records chained by uuid/parentUuid under a new sessionId, with `cwd`; install it as ~/.claude/projects/<cwd with every non-alphanumeric character as ->/<sessionId>.jsonl',
    },
  } as const,
});

const TranscriptSourceEnum = builder.enumType('TranscriptSource', {
  description: 'What kind of transcript importTranscript reads',
  values: {
    CLAUDE_CODE_JSONL: {
      description:
        'A Claude Code session file (~/.claude/projects/<project>/<session>.jsonl): its message tree (uuid/parentUuid; branches stay branches, sub-agent sidechains kept off the main line), tool calls and results (also as task events), images, model and usage',
    },
    CODEX_JSONL: {
      description:
        'A Codex CLI rollout (~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl, with or without the {timestamp, type, payload} envelope): its messages in order (a rollback starts a branch), reasoning as thinking, each tool call paired with its output by call_id (also as task events), compaction summaries, model and token usage',
    },
    MAKIMA_JSONL: { description: 'A makima transcript (Task.transcript(format: JSONL))' },
  } as const,
});

const TranscriptSkipRef = builder.simpleObject('TranscriptSkip', {
  description: 'A line of a transcript that was not imported, and why',
  fields: (t) => ({
    line: t.int({ description: 'The line number, from 1 (0: about the transcript as a whole)' }),
    reason: t.string({ description: 'Why the line was left out: a torn (not JSON) line, a record type that is not conversation, a message too large, …' }),
  }),
});

/** An export's end: a message or checkpoint global ID, or a raw UUID the service looks up as either. */
function exportPoint(at: string): ExportPoint {
  if (isUuid(at)) return { id: at.toLowerCase() };
  const typename = Buffer.from(at, 'base64').toString('utf8').split(':')[0];
  if (typename === 'Checkpoint') return { checkpointId: decodeId(at, 'Checkpoint', 'at') };
  if (typename === 'ConversationMessage') return { messageId: decodeId(at, 'ConversationMessage', 'at') };
  throw new BadInputError(`at: "${at.slice(0, 60)}" is neither a message nor a checkpoint ID`, 'at');
}

builder.prismaObjectField(TaskRef, 'transcript', (t) =>
  t.string({
    description: 'The whole task as one document, for a reviewer (MARKDOWN) or to move it to another makima (JSONL); or its conversation as a Claude Code session to continue there (CLAUDE_CODE)',
    args: {
      format: t.arg({ type: TranscriptFormatEnum, defaultValue: 'MARKDOWN', required: true, description: 'MARKDOWN (default), JSONL or CLAUDE_CODE' }),
      at: t.arg.id({ description: "CLAUDE_CODE only: where the exported conversation ends, a message of the task's conversation or a checkpoint of the task (its conversation snapshot); default the head" }),
      cwd: t.arg.string({
        description: "CLAUDE_CODE only: the absolute path of the checkout Claude Code will run in (default the task's worktree, else the working directory the session recorded)",
        extensions: { maxLength: 4096 },
      }),
    },
    resolve: (task, args, ctx) => taskTranscript(serviceContext(ctx), { taskId: task.id, format: args.format, at: args.at == null ? undefined : exportPoint(String(args.at)), cwd: args.cwd }),
  }),
);

const ImportTranscriptInput = builder.inputType('ImportTranscriptInput', {
  description: 'A transcript to import as a task of a contract',
  fields: (t) => ({
    contractId: t.id({ required: true, description: "The contract the task joins (NOT_FOUND when it is not the viewer's); its repository gives the task's worktree" }),
    source: t.field({ type: TranscriptSourceEnum, required: true, description: 'The format of `content`' }),
    content: t.string({
      required: true,
      description: `The transcript's text, JSONL (at most ${MAX_TRANSCRIPT_CHARS} characters, and within the request body limit MAKIMA_MAX_BODY_BYTES)`,
      extensions: { maxLength: MAX_TRANSCRIPT_CHARS },
    }),
    name: t.string({ description: "The task's name (default: the session's summary or thread name, or its first prompt)" }),
  }),
});

const ImportTranscriptPayload = builder.simpleObject('ImportTranscriptPayload', {
  description: 'What importTranscript did',
  fields: (t) => ({
    task: t.field({ type: TaskRef, description: 'The task holding the session: new (INTERRUPTED: resumeTask hands it to a worker), or the one a previous import of the same session made' }),
    messageCount: t.int({ description: 'Messages this import added: 0 when the session had been imported before and nothing in it is new' }),
    skipped: t.field({ type: [TranscriptSkipRef], description: 'Lines not imported, with the reason (never fatal)' }),
  }),
});

builder.mutationField('importTranscript', (t) =>
  t.field({
    type: ImportTranscriptPayload,
    description:
      'Imports an agent session as a task, in one transaction (all of it or nothing). Importing the same session again adds only what is new (no duplicates). ' +
      'BAD_USER_INPUT when nothing in it is a message; CONFLICT when the same session is being imported concurrently; GIT_ERROR when the contract repository is gone.',
    args: { input: t.arg({ type: ImportTranscriptInput, required: true, description: 'The arguments, as one object' }) },
    resolve: async (_root, { input }, ctx) =>
      importTranscript(serviceContext(ctx), {
        contractId: decodeId(String(input.contractId), 'Contract', 'contractId'),
        source: input.source,
        content: input.content,
        name: input.name,
      }),
  }),
);
