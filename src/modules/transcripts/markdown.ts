// A task's transcript for a reviewer, in Markdown: the conversation as it stands (root → head) with
// roles and times, tool calls with their arguments and results (long ones cut, and said so),
// checkpoints inline with their files (+/−), and rewinds, forks and resumes where they happened.
import type { TranscriptData } from './makima-jsonl.js';

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

function resultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map(resultItem).join('\n');
  return json(content);
}

/** One item of a tool's result: text as text; ACP's content, diff and terminal items as what they say. */
function resultItem(item: unknown): string {
  const b = (item ?? {}) as Record<string, unknown>;
  if (typeof b.text === 'string') return b.text;
  if (b.type === 'content' && typeof (b.content as { text?: unknown } | undefined)?.text === 'string') return (b.content as { text: string }).text;
  if (b.type === 'diff') return `${b.oldText == null ? 'new file' : 'changed'} ${String(b.path)}:\n${String(b.newText ?? '')}`;
  if (b.type === 'terminal') return `(output of terminal ${String(b.terminalId)})`;
  return json(b);
}

/** ACP's streamed chunks (makima worker --acp): the messages hold them coalesced, so they are not shown again. */
const MESSAGE_CHUNKS = new Set(['agent_message_chunk', 'agent_thought_chunk', 'user_message_chunk']);

/** A tool's input: JSON, or as written when it is text (a patch for Codex's apply_patch), so its lines read as lines. */
function toolCall(name: unknown, input: unknown): string {
  return `**Tool call** \`${String(name ?? 'tool')}\`\n\n${typeof input === 'string' ? fence(cut(input)) : fence(json(input ?? {}), 'json')}`;
}

function toolResult(content: unknown, isError: boolean): string {
  return `**Tool result**${isError ? ' (error)' : ''}\n\n${fence(cut(resultText(content)))}`;
}

function block(b: Record<string, unknown>): string {
  switch (b.type) {
    case 'text':
      return String(b.text ?? '');
    case 'thinking':
      return `> _thinking:_ ${cut(String(b.thinking ?? '')).replace(/\n/g, '\n> ')}`;
    case 'thought':
      // ACP's thought chunks (makima worker --acp): folded, the reply is what a reader scans for.
      return `<details><summary>Thought</summary>\n\n${cut(String(b.text ?? ''))}\n\n</details>`;
    case 'tool_use':
      return toolCall(b.name, b.input);
    case 'tool_result':
      return toolResult(b.content, b.is_error === true);
    case 'image': {
      const source = (b.source ?? {}) as Record<string, unknown>;
      const size = typeof source.data === 'string' ? `, ${Math.floor((source.data.length * 3) / 4).toLocaleString('en-US')} bytes` : '';
      return `_[image: ${String(source.media_type ?? source.type ?? 'unknown')}${size}]_`;
    }
    default:
      return `_[${String(b.type ?? 'block')}]_\n\n${fence(cut(json(b)), 'json')}`;
  }
}

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((b) => (b && typeof b === 'object' ? block(b as Record<string, unknown>) : String(b))).join('\n\n');
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
  const events = data.events.filter((e) => {
    const d = (e.data ?? {}) as Record<string, unknown>;
    return !shownMessageIds.has(String(d.messageId)) && !(e.type === 'OUTPUT' && MESSAGE_CHUNKS.has(String(d.acp)));
  });
  const shownCallIds = new Set(events.filter((e) => e.type === 'TOOL_CALL').map((e) => String((e.data as Record<string, unknown> | null)?.toolCallId)));
  const items: Item[] = [
    ...data.checkpoints.map((c) => ({
      at: c.createdAt,
      text: `> ✔ **Checkpoint #${c.number}**${c.isBackup ? ' (backup)' : ''} \`${c.commitSha.slice(0, 12)}\` — ${c.message}\n> Files: ${filesLine(c.filesChanged)}`,
    })),
    ...data.markers.map((m) => ({ at: m.createdAt, text: `> ${markerText(m.kind, (m.data ?? {}) as Record<string, unknown>)}` })),
    ...events.map((e) => ({ at: e.createdAt, text: eventText(e.type, e.data) })),
  ].sort((a, b) => a.at.getTime() - b.at.getTime());
  let next = 0;
  const flushUntil = (at: Date | null) => {
    while (next < items.length && (at === null || items[next].at <= at)) out.push(items[next++].text, '');
  };
  const conversation = data.messages.filter((m) => path.has(m.id)).sort((a, b) => a.depth - b.depth);
  out.push(`## Conversation (${conversation.length} messages)`, '');
  for (const m of conversation) {
    flushUntil(m.createdAt);
    out.push(`### ${m.depth + 1}. ${ROLE[m.role]} · ${time(m.createdAt)}`, '');
    const model = (m.metadata as Record<string, unknown> | null)?.model;
    if (model) out.push(`_model: ${String(model)}_`, '');
    out.push(contentText(m.content));
    const calls = toolCallsText(m.toolCalls, m.content, shownCallIds);
    if (calls) out.push('', calls);
    out.push('');
  }
  flushUntil(null);
  const off = data.messages.length - conversation.length;
  if (off > 0) out.push(`_${off} more message${off === 1 ? '' : 's'} on other branches (rewound away, or a sub-agent's) are not shown; the JSONL export has them._`, '');
  return out.join('\n');
}

function eventText(type: string, data: unknown): string {
  const d = (data ?? {}) as Record<string, unknown>;
  switch (type) {
    case 'TOOL_CALL':
      // An ACP worker's call has a title and a kind, and its input as rawInput.
      return `> ${toolCall(d.name ?? d.tool ?? d.title ?? d.kind, d.input ?? d.args ?? d.arguments ?? d.command ?? d.rawInput ?? d).replace(/\n/g, '\n> ')}`;
    case 'TOOL_RESULT':
      return `> ${toolResult(d.content ?? d.output ?? d.result ?? d.rawOutput ?? d, d.isError === true || d.status === 'failed').replace(/\n/g, '\n> ')}`;
    case 'ERROR':
      return `> **Error**\n>\n> ${fence(cut(typeof d.message === 'string' ? d.message : json(d))).replace(/\n/g, '\n> ')}`;
    default:
      return `> **${type.toLowerCase()}**\n>\n> ${fence(cut(typeof d.text === 'string' ? d.text : json(d))).replace(/\n/g, '\n> ')}`;
  }
}
