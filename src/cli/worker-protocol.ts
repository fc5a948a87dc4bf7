// The reference worker's JSON-lines protocol (docs/workers.md, "The agent's protocol"): which lines of an
// agent's stdout are instructions, and what each asks for. Everything else is plain output.

export type TaskEventType = 'OUTPUT' | 'TOOL_CALL' | 'TOOL_RESULT' | 'ERROR' | 'STATUS';
export type MessageRole = 'SYSTEM' | 'USER' | 'ASSISTANT' | 'TOOL';

export type Instruction =
  | { kind: 'event'; type: TaskEventType; data: unknown }
  | { kind: 'message'; role: MessageRole; content: unknown; toolCalls?: unknown }
  | { kind: 'checkpoint'; message: string }
  | { kind: 'done' }
  | { kind: 'fail'; error: string }
  | { kind: 'invalid'; reason: string };

const EVENT_KINDS: Record<string, TaskEventType> = {
  output: 'OUTPUT',
  tool_call: 'TOOL_CALL',
  tool_result: 'TOOL_RESULT',
  error: 'ERROR',
  status: 'STATUS',
};
const ROLES: MessageRole[] = ['SYSTEM', 'USER', 'ASSISTANT', 'TOOL'];

/**
 * What one stdout line asks for. A line is an instruction when it is a JSON object with a string
 * "makima" key; any other line — text, or JSON without that key — is an OUTPUT event of its text.
 */
export function parseLine(line: string): Instruction {
  const object = jsonObject(line);
  if (!object || typeof object.makima !== 'string') return { kind: 'event', type: 'OUTPUT', data: line };
  const { makima: kind, ...rest } = object;
  if (kind in EVENT_KINDS) return { kind: 'event', type: EVENT_KINDS[kind], data: rest };
  switch (kind) {
    case 'message': {
      const role = typeof rest.role === 'string' ? (rest.role.toUpperCase() as MessageRole) : undefined;
      if (!role || !ROLES.includes(role)) return invalid(`a message needs "role": one of ${ROLES.map((r) => r.toLowerCase()).join(', ')}`);
      if (rest.content === undefined || rest.content === null) return invalid('a message needs "content"');
      return { kind: 'message', role, content: rest.content, ...(rest.toolCalls == null ? {} : { toolCalls: rest.toolCalls }) };
    }
    case 'checkpoint':
      if (typeof rest.message !== 'string' || !rest.message.trim()) return invalid('a checkpoint needs a non-empty "message"');
      return { kind: 'checkpoint', message: rest.message };
    case 'done':
      return { kind: 'done' };
    case 'fail':
      return { kind: 'fail', error: typeof rest.error === 'string' && rest.error.trim() ? rest.error : 'the agent reported a failure' };
    default:
      return invalid(`unknown instruction "${kind}"`);
  }
}

function invalid(reason: string): Instruction {
  return { kind: 'invalid', reason };
}

function jsonObject(line: string): Record<string, unknown> | undefined {
  if (!line.trimStart().startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
