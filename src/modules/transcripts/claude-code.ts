// Reading a Claude Code session (~/.claude/projects/<project>/<session>.jsonl): one JSON record per
// line. `user`/`assistant`/`system` records are messages linked by `uuid`/`parentUuid` — a tree, since
// a rewind in Claude Code starts a new branch from an earlier message; `isSidechain` marks a
// sub-agent's; `summary` names the session. Older files and other tools' exports have no `parentUuid`
// key at all: such a record replies to the conversation record before it in the file, on its own
// chain (the main line or the sidechain), so the file reads as the line it was written as. A
// `"parentUuid": null` is a real root. The format has no official schema: whatever is not
// understood is kept (unknown content blocks stay in the content) or skipped with a reason.
import crypto from 'node:crypto';
import { MAX_PROMPT_LENGTH } from '../tasks/index.js';
import type { MessageRole } from '../../generated/prisma/client.js';
import { asRecord, blocksOf, compact, jsonLines, mostRecentLeaf, parseTime, sessionKeyOf, toolCallsOf, toolEventsOf, usableText, type DraftMessage, type TranscriptDraft, type TranscriptSkip } from './draft.js';

/** Record types that carry no conversation, and what they are. */
const NOT_CONVERSATION: Record<string, string> = {
  'file-history-snapshot': "Claude Code's file backup bookkeeping",
  'queue-operation': "Claude Code's input queue bookkeeping",
};

/** A user record whose content is only tool results is the tools speaking, not the person. */
function roleOf(type: string, content: unknown): MessageRole {
  if (type === 'assistant') return 'ASSISTANT';
  if (type === 'system') return 'SYSTEM';
  const blocks = blocksOf(content);
  return blocks.length > 0 && blocks.every((b) => b.type === 'tool_result') ? 'TOOL' : 'USER';
}

/**
 * The record's parent: its `parentUuid` (or, after a compaction, `logicalParentUuid`); with no
 * `parentUuid` key at all, `previous` — the conversation record before it on the same chain.
 */
function parentOf(record: Record<string, unknown>, previous: string | null): string | null {
  if (typeof record.parentUuid === 'string') return record.parentUuid;
  if (typeof record.logicalParentUuid === 'string') return record.logicalParentUuid;
  return 'parentUuid' in record ? null : previous;
}

function messageOf(record: Record<string, unknown>, type: string, line: number, previous: string | null): DraftMessage {
  const message = asRecord(record.message) ?? {};
  const content = type === 'system' ? (record.content ?? message.content ?? '') : (message.content ?? '');
  const calls = toolCallsOf(content);
  const parent = parentOf(record, previous);
  return {
    key: record.uuid as string,
    parentKey: parent,
    role: roleOf(type, content),
    content,
    toolCalls: calls.length ? calls : null,
    createdAt: parseTime(record.timestamp),
    sidechain: record.isSidechain === true,
    line,
    metadata: compact({
      source: 'claude-code',
      type,
      subtype: record.subtype,
      model: message.model,
      usage: message.usage,
      messageId: message.id,
      stopReason: message.stop_reason,
      requestId: record.requestId,
      isSidechain: record.isSidechain === true ? true : undefined,
      agentId: record.agentId,
      isMeta: record.isMeta,
      cwd: record.cwd,
      gitBranch: record.gitBranch,
      version: record.version,
      toolUseResult: record.toolUseResult,
    }),
  };
}

export function readClaudeCode(content: string): TranscriptDraft {
  const skipped: TranscriptSkip[] = [];
  const messages: DraftMessage[] = [];
  const seen = new Map<string, number>();
  /** The last conversation record of each chain (false: the main line, true: the sidechain). */
  const last = new Map<boolean, string>();
  let sessionId: string | null = null;
  let summary: string | null = null;
  for (const entry of jsonLines(content)) {
    if ('torn' in entry) {
      skipped.push({ line: entry.line, reason: entry.torn });
      continue;
    }
    const record = asRecord(entry.value);
    const type = typeof record?.type === 'string' ? record.type : null;
    if (!record || !type) {
      skipped.push({ line: entry.line, reason: 'not a Claude Code record: no "type"' });
      continue;
    }
    if (typeof record.sessionId === 'string') sessionId ??= record.sessionId;
    if (type === 'summary') {
      const usable: { text: string | null; problem?: string } = summary === null ? usableText(record.summary, MAX_PROMPT_LENGTH) : { text: null };
      if (usable.problem) skipped.push({ line: entry.line, reason: `summary record: its text ${usable.problem}, so it does not name the task` });
      summary ??= usable.text;
      continue;
    }
    if (type !== 'user' && type !== 'assistant' && type !== 'system') {
      const what = NOT_CONVERSATION[type];
      skipped.push({ line: entry.line, reason: what ? `${type} record: ${what}, not part of the conversation` : `unknown record type "${type}"` });
      continue;
    }
    if (typeof record.uuid !== 'string' || record.uuid === '') {
      skipped.push({ line: entry.line, reason: `${type} record without a uuid` });
      continue;
    }
    const earlier = seen.get(record.uuid);
    if (earlier !== undefined) {
      skipped.push({ line: entry.line, reason: `a repeat of the record on line ${earlier} (uuid ${record.uuid})` });
      continue;
    }
    seen.set(record.uuid, entry.line);
    const sidechain = record.isSidechain === true;
    messages.push(messageOf(record, type, entry.line, last.get(sidechain) ?? null));
    last.set(sidechain, record.uuid);
  }
  return {
    sessionKey: sessionId === null ? `claude-code:sha256-${crypto.createHash('sha256').update(content).digest('hex')}` : sessionKeyOf('claude-code', sessionId),
    name: summary,
    prompt: null,
    messages,
    headKey: mostRecentLeaf(messages),
    events: messages.flatMap(toolEventsOf),
    skipped,
  };
}
