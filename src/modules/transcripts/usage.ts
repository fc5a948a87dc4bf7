// Token usage from imported transcripts (docs/api.md, "Import"): each record's usage stays beside its
// message (the record's metadata, as the source wrote it), and an import adds what it brings to the
// task's sums, the same `Task.usage` columns an ACP worker's reports add to (docs/design.md §15).
// Each model response counts once: Claude Code writes one record per content block of a response,
// each with the response's usage, so a response (`message.id`) counts on its first record with usage;
// and a Codex token count may arrive in a later import than the output it is about.
import type { Prisma, Task } from '../../generated/prisma/client.js';
import type { Tx } from '../../db/change.js';
import { asRecord, type DraftMessage, type TranscriptDraft } from './draft.js';

/** The largest count one record may give (a turn's); anything else is not a count and is not added. */
const MAX_RECORD_TOKENS = 100_000_000;
/** The most one task can count: its columns are 32-bit integers. */
const MAX_TASK_TOKENS = 2_147_483_647;

export interface Tokens {
  inputTokens: number;
  outputTokens: number;
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_RECORD_TOKENS ? value : 0;
}

/**
 * A record's tokens, from the usage its source wrote: Codex's `input_tokens` already include the
 * cached ones; Claude Code's do not, so its cache writes and reads are added to them. Null: no usage.
 */
export function tokensOf(metadata: unknown): Tokens | null {
  const meta = asRecord(metadata);
  const usage = asRecord(meta?.usage);
  if (!meta || !usage) return null;
  const cached = meta.source === 'codex' ? 0 : count(usage.cache_creation_input_tokens) + count(usage.cache_read_input_tokens);
  return { inputTokens: count(usage.input_tokens) + cached, outputTokens: count(usage.output_tokens) };
}

/** The response a record belongs to, when its source splits one response over several records (Claude Code's `message.id`). */
function responseOf(metadata: unknown): string | null {
  const meta = asRecord(metadata);
  return meta?.source === 'claude-code' && typeof meta.messageId === 'string' ? meta.messageId : null;
}

export interface ImportedUsage {
  /** The task's new sums, to write with the import's other task changes; empty when nothing is added. */
  columns: { usageInputTokens?: number; usageOutputTokens?: number };
  /** What this import added, for its TASK/usage history event; null when nothing. */
  added: Tokens | null;
}

/**
 * What an import adds to the task's usage: the usage of the records it writes (`written`, by record
 * key) and of records imported before whose usage arrived only now (their metadata is updated to
 * hold it). A response counts once, on its first record with usage in the file, and not at all when
 * a record of it imported before had usage. A sum that would pass what a task can count is not
 * added, and that is reported in `draft.skipped`.
 */
export async function importedUsage(tx: Tx, task: Task, draft: TranscriptDraft, messages: DraftMessage[], written: Set<string>, fresh: boolean): Promise<ImportedUsage> {
  const late = fresh ? [] : await lateUsage(tx, task, draft.sessionKey, messages.filter((m) => !written.has(m.key) && tokensOf(m.metadata)));
  const owner = new Map<string, string>();
  for (const m of messages) {
    const response = responseOf(m.metadata);
    if (response !== null && tokensOf(m.metadata) && !owner.has(response)) owner.set(response, m.key);
  }
  const candidates = [...messages.filter((m) => written.has(m.key)), ...late].filter((m) => {
    const response = responseOf(m.metadata);
    return tokensOf(m.metadata) && (response === null || owner.get(response) === m.key);
  });
  const counted = fresh ? candidates : await notCountedBefore(tx, task, draft.sessionKey, candidates);
  if (counted.length === 0) return { columns: {}, added: null };
  const added = counted.reduce((sum, m) => {
    const t = tokensOf(m.metadata)!;
    return { inputTokens: sum.inputTokens + t.inputTokens, outputTokens: sum.outputTokens + t.outputTokens };
  }, { inputTokens: 0, outputTokens: 0 });
  const columns: ImportedUsage['columns'] = {};
  const sum = (field: 'inputTokens' | 'outputTokens', before: number | null, column: 'usageInputTokens' | 'usageOutputTokens') => {
    const total = (before ?? 0) + added[field];
    if (total > MAX_TASK_TOKENS) {
      draft.skipped.push({ line: 0, reason: `the usage of this import is not added to the task's ${field}: it would pass ${MAX_TASK_TOKENS}, the most one task can count` });
      added[field] = 0;
      return;
    }
    columns[column] = total;
  };
  sum('inputTokens', task.usageInputTokens, 'usageInputTokens');
  sum('outputTokens', task.usageOutputTokens, 'usageOutputTokens');
  return { columns, added: Object.keys(columns).length ? added : null };
}

/** Records imported before, without usage then, that have it now (a Codex token count after them): their stored metadata gets it. */
async function lateUsage(tx: Tx, task: Task, sessionKey: string, withUsage: DraftMessage[]): Promise<DraftMessage[]> {
  if (withUsage.length === 0) return [];
  const stored = await tx.transcriptRecord.findMany({
    where: { ownerId: task.ownerId, sessionKey, recordKey: { in: withUsage.map((m) => m.key) } },
    select: { messageId: true, recordKey: true, metadata: true },
  });
  const without = new Map(stored.filter((r) => !asRecord(r.metadata)?.usage).map((r) => [r.recordKey, r]));
  const late = withUsage.filter((m) => without.has(m.key));
  for (const m of late) {
    const record = without.get(m.key)!;
    await tx.transcriptRecord.update({ where: { messageId: record.messageId }, data: { metadata: { ...asRecord(record.metadata), usage: asRecord(m.metadata)!.usage } as Prisma.InputJsonValue } });
  }
  return late;
}

/** The candidates whose response no record imported before (with usage) already counted. */
async function notCountedBefore(tx: Tx, task: Task, sessionKey: string, candidates: DraftMessage[]): Promise<DraftMessage[]> {
  const keys = new Set(candidates.map((m) => m.key));
  const responses = [...new Set(candidates.map((m) => responseOf(m.metadata)).filter((r): r is string => r !== null))];
  const countedBefore = new Set<string>();
  for (let i = 0; i < responses.length; i += 200) {
    const earlier = await tx.transcriptRecord.findMany({
      where: { ownerId: task.ownerId, sessionKey, OR: responses.slice(i, i + 200).map((r) => ({ metadata: { path: ['messageId'], equals: r } })) },
      select: { recordKey: true, metadata: true },
    });
    for (const r of earlier) if (!keys.has(r.recordKey) && asRecord(r.metadata)?.usage) countedBefore.add(responseOf(r.metadata) ?? '');
  }
  return candidates.filter((m) => {
    const response = responseOf(m.metadata);
    return response === null || !countedBefore.has(response);
  });
}
