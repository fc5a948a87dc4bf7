// Transcripts (docs/api.md, "Search, export and import"): a task's conversation exported for a reviewer
// (Markdown) or losslessly (makima JSONL), and an agent session imported — a Claude Code session
// file, a Codex rollout or a makima export — as a normal makima task: searchable, exportable, forkable at any
// message, resumable by a worker. One import is one change: it lands whole or not at all.
import crypto from 'node:crypto';
import type { ServiceContext } from '../../context.js';
import type { RecordEvent, Tx } from '../../db/change.js';
import { change } from '../../db/change.js';
import { cutText, storableJsonSize, textProblem, unstorableTime } from '../../db/json.js';
import { BadInputError, ConflictError, MakimaError } from '../../errors.js';
import { Prisma, type ConversationMessage, type Task } from '../../generated/prisma/client.js';
import { aboutTask, historyEvent } from '../../change/catalogue.js';
import { findOwnContract } from '../contracts/index.js';
import { pathMessages } from '../conversation/index.js';
import { recordTaskEventsInTx } from '../events/index.js';
import { assertContractOpen, findOwnTask, holdTask } from '../../change/access.js';
import { changeWithGit } from '../../change/with-git.js';
import { assertName, MAX_PROMPT_LENGTH, provisionTask, repositoryHead } from '../tasks/index.js';
import { readClaudeCode } from './claude-code.js';
import { claudeCodeSession, type ExportPoint } from './claude-code-export.js';
import { readCodex } from './codex.js';
import { firstText, MAX_RECORD_KEY_LENGTH, type DraftMessage, type TranscriptDraft, type TranscriptSkip } from './draft.js';
import { writeMarkdown } from './markdown.js';
import { importedUsage } from './usage.js';
import { readMakimaJsonl, writeMakimaJsonl, type TranscriptData } from './makima-jsonl.js';

export type TranscriptFormat = 'MARKDOWN' | 'JSONL' | 'CLAUDE_CODE';
export type TranscriptSource = 'CLAUDE_CODE_JSONL' | 'CODEX_JSONL' | 'MAKIMA_JSONL';

/** The largest transcript one import takes, in characters (the request body limit applies too). */
export const MAX_TRANSCRIPT_CHARS = 64 * 1024 * 1024;
const INSERT_CHUNK = 2000;

// ---------------------------------------------------------------------------------------------
// Export

/** Everything a transcript shows of one task: its message tree (branches included), stream, checkpoints and markers. */
async function transcriptData(ctx: ServiceContext, taskId: string): Promise<{ data: TranscriptData; path: Set<string>; contractName: string | null }> {
  const task = (await findOwnTask(ctx.prisma, ctx.viewer, taskId, { include: { contract: true } })) as Task & { contract: { name: string } | null };
  const [onPath, own] = await Promise.all([pathMessages(ctx.prisma, task.headMessageId, 0, task.messageCount), ctx.prisma.conversationMessage.findMany({ where: { taskId } })]);
  const byId = new Map<string, ConversationMessage>([...own, ...onPath].map((m) => [m.id, m]));
  // A branch of this task may start from another task's message (after a fork): bring in its ancestors.
  for (;;) {
    const missing = [...new Set([...byId.values()].map((m) => m.parentId).filter((p): p is string => p !== null && !byId.has(p)))];
    if (missing.length === 0) break;
    for (const m of await ctx.prisma.conversationMessage.findMany({ where: { id: { in: missing }, task: { ownerId: ctx.viewer.id } } })) byId.set(m.id, m);
    if (missing.every((id) => !byId.has(id))) break;
  }
  const messages = [...byId.values()].sort((a, b) => a.depth - b.depth || a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id));
  const [records, events, checkpoints, history, forks] = await Promise.all([
    ctx.prisma.transcriptRecord.findMany({ where: { messageId: { in: messages.map((m) => m.id) } }, select: { messageId: true, metadata: true } }),
    ctx.prisma.taskEvent.findMany({ where: { taskId }, orderBy: { seq: 'asc' } }),
    ctx.prisma.taskCheckpoint.findMany({ where: { taskId }, orderBy: { number: 'asc' } }),
    ctx.prisma.historyEvent.findMany({
      where: {
        taskId,
        OR: [
          { eventType: 'CHAT', eventSubtype: 'rewound' },
          { eventType: 'CHECKPOINT', eventSubtype: 'rewound' },
          { eventType: 'TASK', eventSubtype: { in: ['forked', 'resumed'] } },
        ],
      },
      orderBy: { seq: 'asc' },
    }),
    ctx.prisma.task.findMany({ where: { forkedFromTaskId: taskId, ownerId: ctx.viewer.id }, orderBy: { createdAt: 'asc' }, select: { id: true, name: true, createdAt: true } }),
  ]);
  const metadata = new Map(records.map((r) => [r.messageId, r.metadata]));
  const markerKind = (e: { eventType: string; eventSubtype: string | null }) => (e.eventType === 'CHECKPOINT' ? 'code_rewound' : (e.eventSubtype ?? ''));
  const data: TranscriptData = {
    task,
    messages: messages.map((m) => ({ ...m, metadata: metadata.get(m.id) ?? null })),
    events,
    checkpoints,
    markers: [
      ...history.map((e) => ({ kind: markerKind(e), data: e.eventData, createdAt: e.createdAt })),
      ...forks.map((f) => ({ kind: 'fork', data: { taskId: f.id, name: f.name }, createdAt: f.createdAt })),
    ].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime()),
  };
  return { data, path: new Set(onPath.map((m) => m.id)), contractName: task.contract?.name ?? null };
}

/**
 * A task's transcript: Markdown for a reviewer, makima JSONL that importTranscript reads back, or a
 * Claude Code session root → `at` for `claude --resume` (the only format `at` and `cwd` apply to).
 */
export async function taskTranscript(ctx: ServiceContext, input: { taskId: string; format: TranscriptFormat; at?: ExportPoint; cwd?: string | null }): Promise<string> {
  if (input.format === 'CLAUDE_CODE') return claudeCodeSession(ctx, input);
  if (input.at || input.cwd != null) throw new BadInputError('at and cwd apply to format CLAUDE_CODE only: MARKDOWN and JSONL write the whole task', input.at ? 'at' : 'cwd');
  const { data, path, contractName } = await transcriptData(ctx, input.taskId);
  return input.format === 'JSONL' ? writeMakimaJsonl(data) : writeMarkdown(data, contractName, path);
}

// ---------------------------------------------------------------------------------------------
// Import

export interface ImportResult {
  task: Task;
  /** Messages this import added (0 when the session had been imported before and nothing is new). */
  messageCount: number;
  skipped: TranscriptSkip[];
}

/**
 * Why a record's key or time cannot be stored, or undefined: the bounds every imported record meets.
 * Its parent's key is only looked up (a parent skipped or missing leaves the reply at its nearest
 * kept ancestor, or at the root), and recorded escaped when it names nothing (storedKey).
 */
function recordProblem(m: DraftMessage): string | undefined {
  const key = textProblem(m.key, MAX_RECORD_KEY_LENGTH);
  if (key) return `its id ${key}`;
  const time = m.createdAt && unstorableTime(m.createdAt);
  if (time) return `its time ${time}`;
  return undefined;
}

/** A record key as it can be stored: itself, or (holding a NUL, a lone surrogate, or too long) as a cut JSON string, its escapes visible. */
function storedKey(key: string): string {
  return textProblem(key, MAX_RECORD_KEY_LENGTH) ? cutText(JSON.stringify(key), MAX_RECORD_KEY_LENGTH) : key;
}

/**
 * The draft's records that can be stored, with the same bounds as the API's own inputs (text with
 * no NUL or lone surrogate, ids of a bounded length, times in years 1–9999, JSON storable and within
 * MAKIMA_MAX_MESSAGE_BYTES). A message that fails one is skipped with the reason, and its replies are
 * attached to its parent, so the rest of the tree stays connected; an event that fails one is skipped.
 */
function storableMessages(ctx: ServiceContext, draft: TranscriptDraft): { messages: DraftMessage[]; alias: Map<string, string | null> } {
  const alias = new Map<string, string | null>();
  const messages: DraftMessage[] = [];
  for (const m of draft.messages) {
    try {
      const problem = recordProblem(m);
      if (problem) throw new BadInputError(problem);
      const size = storableJsonSize(m.content, 'content', ctx.config.maxMessageBytes) + (m.toolCalls == null ? 0 : storableJsonSize(m.toolCalls, 'toolCalls', ctx.config.maxMessageBytes));
      if (size > ctx.config.maxMessageBytes) throw new BadInputError(`the message is ${size} bytes; the limit is ${ctx.config.maxMessageBytes} bytes (MAKIMA_MAX_MESSAGE_BYTES)`);
      if (m.metadata) storableJsonSize(m.metadata, 'metadata', ctx.config.maxMessageBytes);
      messages.push(m);
    } catch (err) {
      if (!(err instanceof BadInputError)) throw err;
      // A key that cannot be stored cannot be shown either: name the record by its line.
      const name = textProblem(m.key, MAX_RECORD_KEY_LENGTH) ? `on line ${m.line}` : m.key;
      draft.skipped.push({ line: m.line, reason: `message ${name} not imported: ${err.message}; its replies are attached to its parent` });
      alias.set(m.key, m.parentKey);
    }
  }
  draft.events = draft.events.filter((e) => {
    try {
      const time = e.createdAt && unstorableTime(e.createdAt);
      if (time) throw new BadInputError(`its time ${time}`);
      storableJsonSize(e.data, 'data', ctx.config.maxMessageBytes);
      return true;
    } catch (err) {
      if (!(err instanceof BadInputError)) throw err;
      if (e.messageKey === null) draft.skipped.push({ line: e.line, reason: `${e.type} event not imported: ${err.message}` });
      return false;
    }
  });
  return { messages, alias };
}

/** The task's prompt: the one the source names, or the text of the first user message imported (not one skipped, nor one the harness wrote). */
function promptOf(draft: TranscriptDraft, messages: DraftMessage[]): string | null {
  const first = messages.find((m) => m.role === 'USER' && !m.sidechain && !m.injected);
  const prompt = draft.prompt ?? (first ? firstText(first.content) : null);
  return prompt === null ? null : cutText(prompt, MAX_PROMPT_LENGTH);
}

/** Parents first (a depth-first walk from the roots, children in file order); messages in a parent cycle are left out. */
function parentsFirst(messages: DraftMessage[], parentOf: (m: DraftMessage) => string | null, known: (key: string) => boolean): { ordered: DraftMessage[]; cyclic: DraftMessage[] } {
  const keys = new Set(messages.map((m) => m.key));
  const children = new Map<string | null, DraftMessage[]>();
  for (const m of messages) {
    const parent = parentOf(m);
    const slot = parent !== null && (keys.has(parent) || known(parent)) ? parent : null;
    if (!children.has(slot)) children.set(slot, []);
    children.get(slot)!.push(m);
  }
  const ordered: DraftMessage[] = [];
  const stack = [...(children.get(null) ?? []), ...[...children.entries()].filter(([k]) => k !== null && !keys.has(k)).flatMap(([, v]) => v)].reverse();
  while (stack.length) {
    const m = stack.pop()!;
    ordered.push(m);
    stack.push(...[...(children.get(m.key) ?? [])].reverse());
  }
  const placed = new Set(ordered.map((m) => m.key));
  return { ordered, cyclic: messages.filter((m) => !placed.has(m.key)) };
}

async function inChunks<T>(rows: T[], write: (chunk: T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) await write(rows.slice(i, i + INSERT_CHUNK));
}

/** The import's messages, linked and written by the SQL the append uses too (docs/design.md §3, §12). */
const IMPORT_MESSAGES_CALL = 'SELECT makima_import_messages($1::uuid, $2::jsonb) AS depths';

/**
 * Writes the draft's messages not imported yet (by record key) into `task`'s tree, their task
 * events, and moves the head; null when there was nothing new.
 */
async function writeDraft(tx: Tx, record: RecordEvent, task: Task, draft: TranscriptDraft, fresh: boolean, storable: ReturnType<typeof storableMessages>): Promise<ImportResult | null> {
  const existing = fresh ? [] : await tx.transcriptRecord.findMany({ where: { ownerId: task.ownerId, sessionKey: draft.sessionKey }, select: { recordKey: true, messageId: true } });
  const idOfKey = new Map(existing.map((r) => [r.recordKey, r.messageId]));
  const resolve = (key: string | null): string | null => {
    let k = key;
    for (let hops = 0; k !== null && storable.alias.has(k) && hops < 10_000; hops++) k = storable.alias.get(k)!;
    return k;
  };
  const fresher = storable.messages.filter((m) => !idOfKey.has(m.key));
  const { ordered, cyclic } = parentsFirst(fresher, (m) => resolve(m.parentKey), (k) => idOfKey.has(k));
  for (const m of cyclic) draft.skipped.push({ line: m.line, reason: `message ${m.key} not imported: its parents form a cycle` });
  const rows = ordered.map((m) => {
    const parentKey = resolve(m.parentKey);
    const parentId = parentKey === null ? null : (idOfKey.get(parentKey) ?? null);
    const id = crypto.randomUUID();
    idOfKey.set(m.key, id);
    const metadata = parentKey === null && m.parentKey !== null ? { ...m.metadata, missingParent: storedKey(m.parentKey) } : m.metadata;
    return { m, id, parentId, metadata };
  });
  const usage = await importedUsage(tx, task, draft, storable.messages, new Set(rows.map((r) => r.m.key)), fresh);
  if (rows.length === 0 && !fresh && !usage.added) return null;
  const depthOf = new Map<string, number>();
  await inChunks(rows, async (chunk) => {
    const json = JSON.stringify(chunk.map(({ m, id, parentId }) => ({ id, parentId, role: m.role, content: m.content, toolCalls: m.toolCalls ?? null, createdAt: m.createdAt ?? null })));
    const [{ depths }] = await tx.$queryRawUnsafe<{ depths: number[] }[]>(IMPORT_MESSAGES_CALL, task.id, json);
    chunk.forEach((r, i) => depthOf.set(r.id, depths[i]));
  });
  await inChunks(rows, (chunk) =>
    tx.transcriptRecord.createMany({
      data: chunk.map(({ m, id, metadata }) => ({ messageId: id, ownerId: task.ownerId, taskId: task.id, sessionKey: draft.sessionKey, recordKey: m.key, metadata: (metadata ?? undefined) as Prisma.InputJsonValue | undefined })),
    }),
  );
  const headId = idOfKey.get(resolve(draft.headKey) ?? '') ?? rows.at(-1)?.id ?? task.headMessageId;
  const headDepth = headId ? (depthOf.get(headId) ?? (await tx.conversationMessage.findUnique({ where: { id: headId }, select: { depth: true } }))?.depth) : undefined;
  const updated = await tx.task.update({
    where: { id: task.id },
    data: { headMessageId: headId, messageCount: headDepth !== undefined ? headDepth + 1 : task.messageCount, version: { increment: 1 }, ...usage.columns },
  });
  if (usage.added) record(historyEvent(aboutTask(task), 'TASK', 'usage', { ...usage.added, costUsd: null, messageId: null }));
  if (rows.length > 0) {
    record(historyEvent(aboutTask(task), 'CHAT', 'message', { count: rows.length, headId: headId!, messageCount: updated.messageCount, roles: [...new Set(rows.map((r) => r.m.role))] }));
  }
  await writeEvents(tx, record, task, draft, fresh, new Set(rows.map((r) => r.m.key)), idOfKey);
  return { task: updated, messageCount: rows.length, skipped: draft.skipped };
}

/** The draft's task events: those of the messages just written (and, on a first import, the rest), each at its own time. */
async function writeEvents(tx: Tx, record: RecordEvent, task: Task, draft: TranscriptDraft, fresh: boolean, written: Set<string>, idOfKey: Map<string, string>): Promise<void> {
  const events = draft.events.filter((e) => (e.messageKey === null ? fresh : written.has(e.messageKey)));
  if (events.length === 0) return;
  // The events of a message name the message's new id.
  await recordTaskEventsInTx(
    tx,
    record,
    task,
    events.map((e) => ({ type: e.type, data: e.messageKey ? { ...e.data, messageId: idOfKey.get(e.messageKey) } : e.data, createdAt: e.createdAt })),
  );
}

const READERS: Record<TranscriptSource, (content: string) => TranscriptDraft> = {
  CLAUDE_CODE_JSONL: readClaudeCode,
  CODEX_JSONL: readCodex,
  MAKIMA_JSONL: readMakimaJsonl,
};

function taskName(input: string | null | undefined, draft: TranscriptDraft, prompt: string | null): string {
  if (input != null) return assertName(input);
  const first = (draft.name ?? prompt ?? '').replace(/\s+/g, ' ').trim();
  if (!first) return 'Imported session';
  return first.length > 80 ? `${cutText(first, 79)}…` : first;
}

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: unknown })?.code === 'P2002' || /unique constraint/i.test((err as Error)?.message ?? '');
}

/**
 * A session is one task: importing it again adds to that task, so it is imported into that task's
 * contract or not at all (a second copy elsewhere would make "imported again adds only what is new"
 * depend on where). A copy in another contract comes from the task's own export, a session of its own.
 */
function elsewhereError(sessionKey: string, taskId: string, contractId: string | null): ConflictError {
  return new ConflictError(
    `session ${sessionKey} was imported before as task ${taskId} of contract ${contractId ?? '?'}, and importing it again adds to that task: ` +
      `import it into contract ${contractId ?? '?'}. For a copy in this contract, export that task (Task.transcript(format: JSONL), makima task export) and import the export (source MAKIMA_JSONL).`,
    { reason: 'IMPORTED_ELSEWHERE', taskId, contractId },
  );
}

/**
 * Imports a session into the contract as one task: the first import of a session creates the task
 * (INTERRUPTED, so resumeTask hands it to a worker), a later one adds only the records it has not
 * seen and moves the head. BAD_USER_INPUT when nothing in it is a message; CONFLICT when the session
 * was imported into another contract, or into a task or contract since archived (change/access.ts).
 */
export async function importTranscript(
  ctx: ServiceContext,
  input: { contractId: string; source: TranscriptSource; content: string; name?: string | null },
): Promise<ImportResult> {
  if (input.content.length > MAX_TRANSCRIPT_CHARS) throw new BadInputError(`content is ${input.content.length} characters; the limit is ${MAX_TRANSCRIPT_CHARS}`, 'content');
  const draft = READERS[input.source](input.content);
  const storable = storableMessages(ctx, draft);
  const prompt = promptOf(draft, storable.messages);
  const name = taskName(input.name, draft, prompt);
  if (storable.messages.length === 0) {
    const why = draft.skipped.slice(0, 3).map((s) => `line ${s.line}: ${s.reason}`).join('; ');
    throw new BadInputError(`the transcript holds no message to import${why ? ` (${why})` : ''}; is --source right?`, 'content');
  }
  const contract = await findOwnContract(ctx.prisma, ctx.viewer, input.contractId);
  const previous = await ctx.prisma.transcriptRecord.findFirst({
    where: { ownerId: ctx.viewer.id, sessionKey: draft.sessionKey },
    select: { taskId: true, task: { select: { contractId: true } } },
  });
  if (previous && previous.task.contractId !== contract.id) throw elsewhereError(draft.sessionKey, previous.taskId, previous.task.contractId);
  assertContractOpen(contract, 'import a session into it');
  try {
    if (previous) {
      const result = await change(ctx.prisma, async (tx, record) => {
        const task = await holdTask(tx, record, ctx.viewer, { taskId: previous.taskId, action: `import more of session ${draft.sessionKey} into it` });
        return writeDraft(tx, record, task, draft, false, storable);
      });
      return result ?? { task: await findOwnTask(ctx.prisma, ctx.viewer, previous.taskId), messageCount: 0, skipped: draft.skipped };
    }
    const startCommit = await repositoryHead(ctx, contract);
    return (await changeWithGit(ctx, 'import transcript', async (gitChange) => {
      const task = await provisionTask(ctx, gitChange, { contract, name, prompt, startCommit, branchless: true, data: { status: 'INTERRUPTED', pendingReason: null } });
      return writeDraft(gitChange.tx, gitChange.record, task, draft, true, storable);
    }))!;
  } catch (err) {
    if (!(err instanceof MakimaError) && isUniqueViolation(err)) {
      throw new ConflictError(`session ${draft.sessionKey} was being imported by another request at the same time; import it again (nothing is duplicated)`);
    }
    throw err;
  }
}
