// The shape of a Claude Code session file that `claude --resume` reads, written down from its
// documented form (docs/api.md, "Back to Claude Code"; no Claude Code binary runs here): one JSON
// record per line, `user`/`assistant`/`system` records chained by uuid/parentUuid under one
// sessionId, with cwd, timestamp, version and isSidechain; content blocks the Messages API takes;
// every tool_use of an assistant turn answered by a tool_result in the user records right after it.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TOOL_ID = /^[A-Za-z0-9_-]+$/;

type Rec = Record<string, unknown>;

export interface FormatOptions {
  /** Block types beyond the API's that a record may carry (a fixture's invented future block, kept verbatim). */
  extraBlockTypes?: string[];
  /** Whether every tool_use must be answered in the next user turn (false for a file Claude Code itself wrote without). */
  pairing?: boolean;
}

function isObject(v: unknown): v is Rec {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function blockProblem(b: unknown, allowed: Set<string>, extra: Set<string>): string | undefined {
  if (!isObject(b) || typeof b.type !== 'string') return 'a block is not an object with a type';
  if (extra.has(b.type)) return undefined;
  if (!allowed.has(b.type)) return `block type ${b.type} is not allowed here`;
  switch (b.type) {
    case 'text':
      return typeof b.text === 'string' && b.text !== '' ? undefined : 'a text block without text';
    case 'thinking':
      // Claude Code sends it back to the model, which refuses a thinking block without the signature it issued.
      return typeof b.thinking === 'string' && typeof b.signature === 'string' && b.signature !== '' ? undefined : 'a thinking block without thinking and a signature';
    case 'tool_use':
      return typeof b.id === 'string' && TOOL_ID.test(b.id) && typeof b.name === 'string' && b.name !== '' && isObject(b.input) ? undefined : `a malformed tool_use ${JSON.stringify(b).slice(0, 120)}`;
    case 'tool_result': {
      if (typeof b.tool_use_id !== 'string' || !TOOL_ID.test(b.tool_use_id)) return 'a tool_result without a valid tool_use_id';
      if ('is_error' in b && typeof b.is_error !== 'boolean') return 'a tool_result whose is_error is not a boolean';
      if (typeof b.content === 'string') return undefined;
      if (!Array.isArray(b.content)) return 'a tool_result whose content is neither text nor blocks';
      return b.content.map((c) => blockProblem(c, new Set(['text', 'image']), extra)).find(Boolean);
    }
    case 'image': {
      const source = b.source;
      if (isObject(source) && source.type === 'base64' && typeof source.media_type === 'string' && typeof source.data === 'string') return undefined;
      if (isObject(source) && source.type === 'url' && typeof source.url === 'string') return undefined;
      return 'an image without a base64 or url source';
    }
    default:
      return undefined;
  }
}

const USER_BLOCKS = new Set(['text', 'image', 'tool_result', 'document']);
const ASSISTANT_BLOCKS = new Set(['text', 'thinking', 'redacted_thinking', 'tool_use', 'server_tool_use', 'web_search_tool_result']);

/** Every problem found in `file` against the format, each with its line; empty when it conforms. */
export function claudeCodeProblems(file: string, options: FormatOptions = {}): string[] {
  const problems: string[] = [];
  const extra = new Set(options.extraBlockTypes ?? []);
  if (!file.endsWith('\n')) problems.push('the file does not end with a newline');
  const lines = file.split('\n').slice(0, -1);
  let previous: string | null = null;
  let sessionId: string | undefined;
  const uuids = new Set<string>();
  let leaf: string | undefined;
  let open = new Set<string>();
  let inAssistantTurn = false;
  const problem = (line: number, what: string) => problems.push(`line ${line}: ${what}`);
  lines.forEach((text, i) => {
    const n = i + 1;
    let r: unknown;
    try {
      r = JSON.parse(text);
    } catch {
      return problem(n, 'not JSON');
    }
    if (!isObject(r)) return problem(n, 'not an object');
    if (r.type === 'summary') {
      if (n !== 1 || typeof r.summary !== 'string' || typeof r.leafUuid !== 'string') problem(n, 'a summary must be the first line, with summary and leafUuid');
      leaf = r.leafUuid as string;
      return;
    }
    if (r.type !== 'user' && r.type !== 'assistant' && r.type !== 'system') return problem(n, `record type ${String(r.type)}`);
    if (typeof r.uuid !== 'string' || !UUID.test(r.uuid) || uuids.has(r.uuid)) problem(n, `uuid ${String(r.uuid)} is not a new UUID`);
    uuids.add(r.uuid as string);
    if (r.parentUuid !== previous) problem(n, `parentUuid ${String(r.parentUuid)} is not the record before (${String(previous)})`);
    previous = r.uuid as string;
    if (typeof r.sessionId !== 'string' || !UUID.test(r.sessionId)) problem(n, 'sessionId is not a UUID');
    if (sessionId !== undefined && r.sessionId !== sessionId) problem(n, 'a second sessionId');
    sessionId = r.sessionId as string;
    if (typeof r.cwd !== 'string' || !r.cwd.startsWith('/')) problem(n, 'cwd is not an absolute path');
    if (typeof r.timestamp !== 'string' || new Date(r.timestamp).toISOString() !== r.timestamp) problem(n, 'timestamp is not an ISO 8601 time');
    if (typeof r.isSidechain !== 'boolean') problem(n, 'isSidechain is not a boolean');
    if (typeof r.version !== 'string' || !/^\d+\.\d+\.\d+/.test(r.version)) problem(n, 'version is not a version');
    if (r.userType !== 'external' || typeof r.gitBranch !== 'string') problem(n, 'userType or gitBranch missing');
    if (r.type === 'system') {
      if (typeof r.content !== 'string') problem(n, 'a system record without text content');
      return;
    }
    const message = r.message;
    if (!isObject(message) || message.role !== r.type) return problem(n, `message.role is not ${r.type}`);
    const content = message.content;
    if (r.type === 'assistant') {
      if (message.type !== 'message' || typeof message.id !== 'string' || typeof message.model !== 'string' || !isObject(message.usage)) problem(n, 'an assistant message without id, type, model or usage');
      if (!Array.isArray(content) || content.length === 0) return problem(n, 'an assistant message without content blocks');
      content.map((b) => blockProblem(b, ASSISTANT_BLOCKS, extra)).forEach((p) => p && problem(n, p));
      if (!inAssistantTurn) {
        if (options.pairing !== false) [...open].forEach((id) => problem(n, `tool_use ${id} has no tool_result before the next assistant turn`));
        open = new Set();
      }
      inAssistantTurn = true;
      for (const b of content) if (isObject(b) && b.type === 'tool_use') open.add(b.id as string);
      return;
    }
    inAssistantTurn = false;
    if (typeof content === 'string') {
      if (content === '') problem(n, 'an empty user message');
      return;
    }
    if (!Array.isArray(content) || content.length === 0) return problem(n, 'a user message without content');
    content.map((b) => blockProblem(b, USER_BLOCKS, extra)).forEach((p) => p && problem(n, p));
    for (const b of content) {
      if (!isObject(b) || b.type !== 'tool_result') continue;
      if (!open.delete(b.tool_use_id as string) && options.pairing !== false) problem(n, `tool_result for ${String(b.tool_use_id)}, which the assistant turn before did not call`);
    }
  });
  if (options.pairing !== false) [...open].forEach((id) => problems.push(`end: tool_use ${id} has no tool_result`));
  if (leaf !== undefined && leaf !== previous) problems.push(`the summary's leafUuid ${leaf} is not the last record (${String(previous)})`);
  if (uuids.size === 0) problems.push('no message record');
  return problems;
}
