// A realistic agent conversation, deterministic (seeded): a user request, then rounds of an
// assistant message with a tool call and the tool's result, with the sizes such conversations have
// (short prompts, medium assistant turns, long tool output), in words that compress like prose.

const WORDS = (
  'the a to of and in is for that this with on it be as function file test error return value when ' +
  'should we need change update add remove fix check run build type interface const let import export ' +
  'from module server client request response database query index table row column migration schema ' +
  'commit branch worktree checkpoint conversation message snapshot history event timeline contract task ' +
  'agent tool result output input string number boolean array object null undefined promise async await'
).split(' ');

/** mulberry32: a small, fast, seeded PRNG, so every run stores the same bytes. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function text(random: () => number, minBytes: number, maxBytes: number): string {
  const target = minBytes + Math.floor(random() * (maxBytes - minBytes));
  const words: string[] = [];
  let length = 0;
  while (length < target) {
    const w = WORDS[Math.floor(random() * WORDS.length)];
    words.push(w);
    length += w.length + 1;
  }
  return words.join(' ');
}

export interface DraftMessage {
  role: 'USER' | 'ASSISTANT' | 'TOOL';
  content: unknown;
  toolCalls?: unknown;
}

/** Message `i` (0-based) of the conversation: a user turn every 10 messages, else assistant/tool pairs. */
export function conversationMessage(i: number, random: () => number): DraftMessage {
  const position = i % 10;
  if (position === 0) return { role: 'USER', content: [{ type: 'text', text: text(random, 150, 600) }] };
  if (position === 9) return { role: 'ASSISTANT', content: [{ type: 'text', text: text(random, 300, 1500) }] };
  if (position % 2 === 1) {
    const path = `src/${WORDS[Math.floor(random() * WORDS.length)]}/${WORDS[Math.floor(random() * WORDS.length)]}.ts`;
    return {
      role: 'ASSISTANT',
      content: [{ type: 'text', text: text(random, 100, 800) }],
      toolCalls: [{ id: `call_${i}`, name: position < 5 ? 'read_file' : 'edit_file', input: { path } }],
    };
  }
  return { role: 'TOOL', content: [{ type: 'tool_result', toolCallId: `call_${i - 1}`, text: text(random, 500, 4000) }] };
}
