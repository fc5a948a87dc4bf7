// A task's transcript for a reviewer, in Markdown: the conversation as it stands (root → head) with
// roles and times, each tool call once with its arguments and its result under it (long ones cut,
// and said so), the agent's thinking folded in <details> after the reply, checkpoints inline with
// their files (+/−), and rewinds, forks and resumes where they happened (reading.ts: how every
// reader shows a conversation).
import type { TranscriptData } from './makima-jsonl.js';
import { ACP_CHUNKS, callsShown, mentionOf, onlyShownResults, resultsByCall, resultText, thinkingLine, thinkingOf, toolCallIdOf, type ToolResult } from './reading.js';

/** Longest tool result, thinking or output shown before it is cut. */
export const MAX_RESULT_CHARS = 2000;

const ROLE = { SYSTEM: 'System', USER: 'User', ASSISTANT: 'Assistant', TOOL: 'Tool' } as const;

function time(d: Date): string {
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function cut(text: string, max = MAX_RESULT_CHARS): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}\n… [truncated: ${(text.length - max).toLocaleString('en-US')} more characters]`;
}

/** A fenced block that no backtick run inside `text` can close early. */
function fence(text: string, lang = ''): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const f = '`'.repeat(longest + 1);
  return `${f}${lang}\n${text}\n${f}`;
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 2) ?? 'null';
}

/** A tool's input: JSON, or as written when it is text (a patch for Codex's apply_patch), so its lines read as lines. */
function toolCall(name: unknown, input: unknown): string {
  return `**Tool call** \`${String(name ?? 'tool')}\`\n\n${typeof input === 'string' ? fence(cut(input)) : fence(json(input ?? {}), 'json')}`;
}

function toolResult(content: unknown, isError: boolean): string {
  return `**Tool result**${isError ? ' (error)' : ''}\n\n${fence(cut(resultText(content)))}`;
}

/** A thinking block folded: one line, the text on demand. */
function thinkingFold(text: string): string {
  return `<details><summary>${thinkingLine(text)}</summary>\n\n${cut(text)}\n\n</details>`;
}

function block(b: Record<string, unknown>, results: Map<string, ToolResult>): string {
  switch (b.type) {
    case 'text':
      return String(b.text ?? '');
    case 'tool_use': {
      const result = typeof b.id === 'string' ? results.get(b.id) : undefined;
      return result ? `${toolCall(b.name, b.input)}\n\n${toolResult(result.content, result.isError)}` : toolCall(b.name, b.input);
    }
    case 'tool_result':
      return toolResult(b.content, b.is_error === true);
    case 'image':
    case 'audio':
    case 'resource':
    case 'resource_link':
      return `_${mentionOf(b)}_`;
    default:
      return `_${mentionOf(b)}_\n\n<details><summary>as recorded</summary>\n\n${fence(cut(json(b)), 'json')}\n\n</details>`;
  }
}

/** A message's content: its blocks in order, each tool call with its result under it, and its thinking last, folded. */
function contentText(content: unknown, results: Map<string, ToolResult>): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    const thoughts = content.map(thinkingOf).filter((t): t is string => t !== null);
    const body = content.filter((b) => thinkingOf(b) === null).map((b) => (b && typeof b === 'object' ? block(b as Record<string, unknown>, results) : String(b)));
    return [...body, ...thoughts.map(thinkingFold)].join('\n\n');
  }
  const text = (content as { text?: unknown } | null)?.text;
  return typeof text === 'string' ? text : fence(json(content), 'json');
}

/**
 * Tool calls given beside the content (`toolCalls`), unless the content already shows them as blocks
 * or a TOOL_CALL event shows them (by `toolCallId`, as an ACP worker records them).
 */
function toolCallsText(toolCalls: unknown, content: unknown, shownCallIds: Set<string>): string {
  if (toolCalls == null) return '';
  if (Array.isArray(content) && content.some((b) => b?.type === 'tool_use' || b?.type === 'tool_result')) return '';
  const calls = (Array.isArray(toolCalls) ? toolCalls : [toolCalls]).filter((c) => !shownCallIds.has(String((c as { toolCallId?: unknown } | null)?.toolCallId)));
  return calls
    .map((c) => {
      const call = (c ?? {}) as Record<string, unknown>;
      return toolCall(call.name ?? (call.function as Record<string, unknown> | undefined)?.name, call.input ?? call.arguments ?? call.args ?? (call.function as Record<string, unknown> | undefined)?.arguments ?? call);
    })
    .join('\n\n');
}

function filesLine(files: unknown): string {
  if (!Array.isArray(files) || files.length === 0) return 'no files changed';
  return files.map((f) => `\`${f.path}\` (${f.status}, +${f.additions ?? 0} −${f.deletions ?? 0})`).join(', ');
}

function markerText(kind: string, data: Record<string, unknown>): string {
  switch (kind) {
    case 'rewound':
      return `⟲ **Conversation rewound** from ${data.fromMessageCount} to ${data.toMessageCount} messages${data.reason ? ` (${data.reason})` : ''}; the backup snapshot ${data.backupSnapshotId} holds the old head`;
    case 'code_rewound':
      return `⟲ **Code rewound** to checkpoint #${data.number} (${data.mode})`;
    case 'forked':
      return `⑂ **Forked** from task ${data.fromTaskId}${data.atCheckpointNumber != null ? ` at checkpoint #${data.atCheckpointNumber}` : ''}${data.atMessageId ? ` at message ${data.atMessageId}` : ''}`;
    case 'fork':
      return `⑂ **Fork made here**: task ${data.taskId} (${data.name})`;
    case 'resumed':
      return `▶ **Resumed** (${data.reason}): ${data.note}`;
    default:
      return `**${kind}**`;
  }
}

interface Item {
  at: Date;
  text: string;
}

export function writeMarkdown(data: TranscriptData, contractName: string | null, path: Set<string>): string {
  const t = data.task;
  const out: string[] = [`# ${t.name}`, ''];
  out.push(`- Task \`${t.id}\`, ${t.status}, created ${time(t.createdAt)}`);
  if (contractName) out.push(`- Contract: ${contractName} (\`${t.contractId}\`)`);
  if (t.branch) out.push(`- Branch \`${t.branch}\`, base \`${t.baseCommit?.slice(0, 12)}\`, head \`${t.headCommit?.slice(0, 12)}\``);
  if (t.prompt) out.push(`- Prompt: ${t.prompt.split('\n')[0].slice(0, 200)}`);
  out.push('');
  const shownMessageIds = new Set(data.messages.filter((m) => path.has(m.id)).map((m) => m.id));
  // Events that repeat a shown message's tool blocks (an import's), or its streamed chunks (an ACP
  // worker's), are not shown twice.
  const conversation = data.messages.filter((m) => path.has(m.id)).sort((a, b) => a.depth - b.depth);
  const results = resultsByCall(conversation);
  const shownCalls = callsShown(conversation);
  // An imported result whose message is off the path (rewound away after the call): under its call all the same.
  const offPath = (e: { type: string; data: unknown }) => {
    const d = (e.data ?? {}) as Record<string, unknown>;
    return e.type === 'TOOL_RESULT' && typeof d.toolUseId === 'string' && shownCalls.has(d.toolUseId) && !shownMessageIds.has(String(d.messageId));
  };
  for (const e of data.events) {
    const d = e.data as Record<string, unknown>;
    if (offPath(e) && !results.has(d.toolUseId as string)) results.set(d.toolUseId as string, { content: d.content, isError: d.isError === true });
  }
  // An ACP worker's tool call (a TOOL_CALL event) shows its result under it, not again on its own.
  const announced = new Set(data.events.filter((e) => e.type === 'TOOL_CALL').map((e) => toolCallIdOf(e.data)).filter((id): id is string => id !== null));
  const underCall = (e: { type: string; data: unknown }) => {
    const id = toolCallIdOf(e.data);
    return id !== null && announced.has(id) && (e.type === 'TOOL_RESULT' || (e.type === 'STATUS' && (e.data as Record<string, unknown>).acp === 'tool_call_update'));
  };
  const callResults = new Map<string, unknown[]>();
  for (const e of data.events) if (e.type === 'TOOL_RESULT' && underCall(e)) callResults.set(toolCallIdOf(e.data)!, [...(callResults.get(toolCallIdOf(e.data)!) ?? []), e.data]);
  const events = data.events.filter((e) => {
    const d = (e.data ?? {}) as Record<string, unknown>;
    return !shownMessageIds.has(String(d.messageId)) && !(e.type === 'OUTPUT' && ACP_CHUNKS.has(String(d.acp))) && !underCall(e) && !offPath(e);
  });
  const shownCallIds = announced;
  const items: Item[] = [
    ...data.checkpoints.map((c) => ({
      at: c.createdAt,
      text: `> ✔ **Checkpoint #${c.number}**${c.isBackup ? ' (backup)' : ''} \`${c.commitSha.slice(0, 12)}\` — ${c.message}\n> Files: ${filesLine(c.filesChanged)}`,
    })),
    ...data.markers.map((m) => ({ at: m.createdAt, text: `> ${markerText(m.kind, (m.data ?? {}) as Record<string, unknown>)}` })),
    ...events.map((e) => ({ at: e.createdAt, text: eventText(e.type, e.data, callResults.get(toolCallIdOf(e.data) ?? '') ?? []) })),
  ].sort((a, b) => a.at.getTime() - b.at.getTime());
  let next = 0;
  const flushUntil = (at: Date | null) => {
    while (next < items.length && (at === null || items[next].at <= at)) out.push(items[next++].text, '');
  };
  out.push(`## Conversation (${conversation.length} messages)`, '');
  for (const m of conversation) {
    flushUntil(m.createdAt);
    // A message of tool results shown under their calls says nothing more.
    if (m.role === 'TOOL' && onlyShownResults(m.content, shownCalls)) continue;
    out.push(`### ${m.depth + 1}. ${ROLE[m.role]} · ${time(m.createdAt)}`, '');
    const model = (m.metadata as Record<string, unknown> | null)?.model;
    if (model) out.push(`_model: ${String(model)}_`, '');
    out.push(contentText(m.content, results));
    const calls = toolCallsText(m.toolCalls, m.content, shownCallIds);
    if (calls) out.push('', calls);
    out.push('');
  }
  flushUntil(null);
  const off = data.messages.length - conversation.length;
  if (off > 0) out.push(`_${off} more message${off === 1 ? '' : 's'} on other branches (rewound away, or a sub-agent's) are not shown; the JSONL export has them._`, '');
  return out.join('\n');
}

function eventText(type: string, data: unknown, results: unknown[]): string {
  const d = (data ?? {}) as Record<string, unknown>;
  switch (type) {
    case 'TOOL_CALL': {
      // An ACP worker's call has a title and a kind, and its input as rawInput; its results go under it.
      const call = toolCall(d.name ?? d.tool ?? d.title ?? d.kind, d.input ?? d.args ?? d.arguments ?? d.command ?? d.rawInput ?? d);
      return `> ${[call, ...results.map(resultOf)].join('\n\n').replace(/\n/g, '\n> ')}`;
    }
    case 'TOOL_RESULT':
      return `> ${resultOf(d).replace(/\n/g, '\n> ')}`;
    case 'ERROR':
      return `> **Error**\n>\n> ${fence(cut(typeof d.message === 'string' ? d.message : json(d))).replace(/\n/g, '\n> ')}`;
    default:
      return `> **${type.toLowerCase()}**\n>\n> ${fence(cut(typeof d.text === 'string' ? d.text : json(d))).replace(/\n/g, '\n> ')}`;
  }
}

/** A TOOL_RESULT event's data as a tool result: its content, output or result (an ACP worker's content, else its raw output's text). */
function resultOf(data: unknown): string {
  const d = (data ?? {}) as Record<string, unknown>;
  const acpContent = Array.isArray(d.content) && d.content.length ? d.content : null;
  const raw = d.rawOutput as { output?: unknown } | null | undefined;
  const rawText = d.toolCallId !== undefined && typeof raw?.output === 'string' ? raw.output : undefined;
  return toolResult(acpContent ?? rawText ?? d.content ?? d.output ?? d.result ?? d.rawOutput ?? d, d.isError === true || d.status === 'failed');
}
