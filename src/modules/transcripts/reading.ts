// How a conversation reads, the same in `makima task history`, the Markdown export and the browser
// view (docs/design.md §15): content blocks as text, never raw JSON; the agent's thinking (Claude
// Code's `thinking`, Codex reasoning imported as `thinking`, ACP's `thought`) folded to one line;
// images and resources as a one-line mention; each tool call once, with its result under it. Pure
// functions with no imports, so the command line and the view's bundle can both use them.

type Block = Record<string, unknown>;

function asBlock(value: unknown): Block | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Block) : null;
}

/** The text of a thinking block (`thinking`, `thought`, `reasoning`), or null when the block is not one. */
export function thinkingOf(value: unknown): string | null {
  const b = asBlock(value);
  if (b?.type === 'thinking' && typeof b.thinking === 'string') return b.thinking;
  if ((b?.type === 'thought' || b?.type === 'reasoning') && typeof b.text === 'string') return b.text;
  return null;
}

/** The one line a fold of thinking shows. */
export function thinkingLine(text: string): string {
  return `thinking… (${text.length.toLocaleString('en-US')} chars)`;
}

/** A block that is not text as one line: an image, audio, a resource (ACP), an unknown type by its name. */
export function mentionOf(value: unknown): string {
  const b = asBlock(value) ?? {};
  const source = asBlock(b.source) ?? {};
  const resource = asBlock(b.resource) ?? {};
  switch (b.type) {
    case 'image': {
      const data = typeof source.data === 'string' ? source.data : typeof b.data === 'string' ? b.data : null;
      const size = data === null ? '' : `, ${Math.floor((data.length * 3) / 4).toLocaleString('en-US')} bytes`;
      return `[image: ${String(source.media_type ?? b.mimeType ?? source.url ?? b.uri ?? 'unknown')}${size}]`;
    }
    case 'audio':
      return `[audio: ${String(b.mimeType ?? 'unknown')}]`;
    case 'resource_link':
      return `[resource: ${String(b.name ?? b.title ?? b.uri)}${b.uri && b.uri !== b.name ? ` ${String(b.uri)}` : ''}]`;
    case 'resource':
      return `[resource: ${String(resource.uri ?? 'embedded')}${typeof resource.text === 'string' ? `, ${resource.text.length.toLocaleString('en-US')} chars` : ''}]`;
    default:
      return `[${String(b.type ?? 'block')}]`;
  }
}

/** A tool's result as text: a string as it is; content items (Claude Code's, Codex's, ACP's content, diff and terminal) each as what it says. */
export function resultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map(resultItem).join('\n');
  const b = asBlock(content);
  if (b && typeof b.text === 'string') return b.text;
  return JSON.stringify(content, null, 2) ?? '';
}

function resultItem(item: unknown): string {
  const b = asBlock(item) ?? {};
  if (typeof b.text === 'string') return b.text;
  const inner = asBlock(b.content);
  if (b.type === 'content' && inner) return typeof inner.text === 'string' ? inner.text : mentionOf(inner);
  if (b.type === 'diff') return `${b.oldText == null ? 'new file' : 'changed'} ${String(b.path)}:\n${String(b.newText ?? '')}`;
  if (b.type === 'terminal') return `(output of terminal ${String(b.terminalId)})`;
  if (b.type === 'image' || b.type === 'audio' || b.type === 'resource' || b.type === 'resource_link') return mentionOf(b);
  return JSON.stringify(item, null, 2) ?? '';
}

export interface ToolResult {
  content: unknown;
  isError: boolean;
}

/** The tool_result blocks of the messages, by the id of the tool_use they answer. */
export function resultsByCall(messages: { content: unknown }[]): Map<string, ToolResult> {
  const results = new Map<string, ToolResult>();
  for (const m of messages) {
    if (!Array.isArray(m.content)) continue;
    for (const b of m.content.map(asBlock)) {
      if (b?.type === 'tool_result' && typeof b.tool_use_id === 'string') results.set(b.tool_use_id, { content: b.content, isError: b.is_error === true });
    }
  }
  return results;
}

/** The ids of the tool_use blocks of the messages: the calls a reader sees, whose results are shown under them. */
export function callsShown(messages: { content: unknown }[]): Set<string> {
  const ids = new Set<string>();
  for (const m of messages) {
    if (Array.isArray(m.content)) for (const b of m.content.map(asBlock)) if (b?.type === 'tool_use' && typeof b.id === 'string') ids.add(b.id);
  }
  return ids;
}

/** A message made only of tool results whose calls are shown (with the results under them): it says nothing more. */
export function onlyShownResults(content: unknown, shown: Set<string>): boolean {
  if (!Array.isArray(content) || content.length === 0) return false;
  return content.every((value) => {
    const b = asBlock(value);
    return b?.type === 'tool_result' && typeof b.tool_use_id === 'string' && shown.has(b.tool_use_id);
  });
}

/** ACP's streamed chunks (OUTPUT events of makima worker --acp): the message of their turn holds them coalesced. */
export const ACP_CHUNKS: ReadonlySet<string> = new Set(['agent_message_chunk', 'agent_thought_chunk', 'user_message_chunk']);

/** An ACP chunk event's kind and content, or null when the event is not one. */
export function acpChunkOf(data: unknown): { kind: string; content: unknown } | null {
  const d = asBlock(data);
  return d && typeof d.acp === 'string' && ACP_CHUNKS.has(d.acp) ? { kind: d.acp, content: d.content } : null;
}

/** The role whose message a chunk kind ends up in. */
export function chunkRole(kind: string): 'USER' | 'ASSISTANT' {
  return kind === 'user_message_chunk' ? 'USER' : 'ASSISTANT';
}

/** The `toolCallId` of an ACP tool event (TOOL_CALL, TOOL_RESULT, a STATUS tool_call_update), or null. */
export function toolCallIdOf(data: unknown): string | null {
  const d = asBlock(data);
  return typeof d?.toolCallId === 'string' ? d.toolCallId : null;
}
