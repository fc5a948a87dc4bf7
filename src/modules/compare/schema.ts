// GraphQL: Query.compareTasks and its TaskComparison — two runs of one contract side by side.
import { builder, MAX_PAGE_SIZE } from '../../schema/builder.js';
import { serviceContext } from '../../schema/viewer.js';
import { FileChangeRef } from '../checkpoints/schema.js';
import { MAX_DIFFS_PER_REQUEST } from '../checkpoints/index.js';
import { ConversationMessageRef } from '../conversation/schema.js';
import { TaskRef } from '../tasks/schema.js';
import { compareTasks, sideMessages, type CodeComparison, type ConversationComparison, type ConversationSide, type TaskComparison } from './service.js';

const DEFAULT_SIDE_MESSAGES = 5;
/** What a task reference may be, as Query.task(ref:) takes it. */
const MAX_REF_LENGTH = 200;

const ConversationSideRef = builder.objectRef<ConversationSide>('ConversationSide').implement({
  description: "One task's conversation after the common prefix: the messages where it went its own way",
  fields: (t) => ({
    task: t.field({ type: TaskRef, description: 'The task', resolve: (s) => s.task }),
    count: t.exposeInt('count', { description: 'How many messages it has after the common prefix (0: its conversation is all in the prefix)' }),
    messages: t.field({
      type: [ConversationMessageRef],
      description: 'Its first messages after the common prefix, in order; page through the rest with Task.conversation (their index starts at commonPrefixLength)',
      args: { first: t.arg.int({ defaultValue: DEFAULT_SIDE_MESSAGES, description: `How many, at most ${MAX_PAGE_SIZE} (default ${DEFAULT_SIDE_MESSAGES})` }) },
      resolve: (side, args, ctx) => sideMessages(serviceContext(ctx).prisma, side, args.first ?? DEFAULT_SIDE_MESSAGES),
    }),
  }),
});

const ConversationComparisonRef = builder.objectRef<ConversationComparison>('ConversationComparison').implement({
  description:
    'Where two conversations part. They agree on a common prefix: first the message rows they share (forks of one task share their ' +
    "original's messages up to the fork point), then messages that say the same (same role, content and tool calls, in order)",
  fields: (t) => ({
    commonPrefixLength: t.exposeInt('commonPrefixLength', { description: 'How many messages the two conversations begin with alike' }),
    sharedMessageCount: t.exposeInt('sharedMessageCount', { description: 'How many of them are the very same message rows (0 for tasks that were not forked from one another)' }),
    lastCommonMessage: t.field({
      type: ConversationMessageRef,
      nullable: true,
      description: "The last message of the common prefix, as on a's side: where the conversations part; null when they differ from the first message",
      resolve: (c) => c.lastCommonMessage,
    }),
    onlyInA: t.field({ type: ConversationSideRef, description: "The first task's messages after the common prefix", resolve: (c) => c.onlyInA }),
    onlyInB: t.field({ type: ConversationSideRef, description: "The second task's messages after the common prefix", resolve: (c) => c.onlyInB }),
  }),
});

const sum = (code: CodeComparison, key: 'additions' | 'deletions') => (code.available ? code.files.reduce((n, f) => n + f[key], 0) : 0);

const CodeComparisonRef = builder.objectRef<CodeComparison>('CodeComparison').implement({
  description: "How the code at b's head commit differs from a's, as `git diff <a's head> <b's head>` shows it; unavailable when a task has no head commit",
  fields: (t) => ({
    available: t.exposeBoolean('available', { description: 'Whether both tasks have a head commit to compare (false: see unavailableReason; the other fields are empty)' }),
    unavailableReason: t.string({ nullable: true, description: 'Why there is no diff, when available is false', resolve: (c) => (c.available ? null : c.reason) }),
    fromCommit: t.string({ nullable: true, description: "The head commit of a: the diff's old side", resolve: (c) => (c.available ? c.fromCommit : null) }),
    toCommit: t.string({ nullable: true, description: "The head commit of b: the diff's new side", resolve: (c) => (c.available ? c.toCommit : null) }),
    files: t.field({ type: [FileChangeRef], description: 'Every file that differs (never cut), by path', resolve: (c) => (c.available ? c.files : []) }),
    additions: t.int({ description: 'Lines added over all files (binary files count 0)', resolve: (c) => sum(c, 'additions') }),
    deletions: t.int({ description: 'Lines deleted over all files (binary files count 0)', resolve: (c) => sum(c, 'deletions') }),
    patch: t.string({
      nullable: true,
      description: 'The unified diff, cut at a line end after 256 KiB (see truncated); computed only when asked for; null when unavailable',
      resolve: async (c) => (c.available ? (await c.patch()).patch : null),
    }),
    truncated: t.boolean({ description: 'Whether patch was cut; files is always complete', resolve: async (c) => (c.available ? (await c.patch()).truncated : false) }),
  }),
});

const TaskComparisonRef = builder.objectRef<TaskComparison>('TaskComparison').implement({
  description: 'Two tasks of one contract side by side: where their conversations part, and how their code differs',
  fields: (t) => ({
    a: t.field({ type: TaskRef, description: 'The first task: the old side of the diff', resolve: (c) => c.a }),
    b: t.field({ type: TaskRef, description: 'The second task: the new side of the diff', resolve: (c) => c.b }),
    conversation: t.field({ type: ConversationComparisonRef, description: 'Where their conversations part', resolve: (c) => c.conversation }),
    code: t.field({ type: CodeComparisonRef, description: 'How the code at their head commits differs', resolve: (c) => c.code }),
  }),
});

const refArg = (which: string) => ({
  required: true,
  description: `The ${which} task: a Task ID, or what a person types as Query.task(ref:) takes it (a number like 42 or #42, a name, a unique prefix of its id or branch)`,
  extensions: { maxLength: MAX_REF_LENGTH },
}) as const;

builder.queryField('compareTasks', (t) =>
  t.field({
    type: TaskComparisonRef,
    description:
      'Compares two of your tasks of one contract — two forks of a task, or any two: the common prefix of their conversations and what each says after it, ' +
      "and the diff from a's head commit to b's. Only reads. NOT_FOUND for a task not yours; BAD_USER_INPUT for tasks of different contracts or a reference " +
      `that names several tasks. The same task twice compares equal. At most ${MAX_DIFFS_PER_REQUEST} per request`,
    args: { a: t.arg.string(refArg('first')), b: t.arg.string(refArg('second')) },
    // Each comparison runs git over two commits and may read a large patch, as Checkpoint.diff does (limits.ts).
    extensions: { maxPerRequest: MAX_DIFFS_PER_REQUEST },
    resolve: (_root, args, ctx) => compareTasks(serviceContext(ctx), { a: args.a, b: args.b }),
  }),
);
