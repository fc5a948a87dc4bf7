// The reference worker's JSON-lines protocol (docs/workers.md, "The agent's protocol"): which lines
// of an agent's stdout are instructions, and what each asks for. Everything else is plain output. A
// message, checkpoint, done or fail with an "id" is answered with one `{"makima":"ack","id":…}`
// line on the agent's stdin once it is done (ackLine), so that an agent can wait for its
// checkpoint before it writes on (docs/design.md §4).

export type TaskEventType = 'OUTPUT' | 'TOOL_CALL' | 'TOOL_RESULT' | 'ERROR' | 'STATUS';
export type MessageRole = 'SYSTEM' | 'USER' | 'ASSISTANT' | 'TOOL';

/** What the agent marks an instruction with to have it answered: a string or a number, echoed back as given. */
export type AckId = string | number;

export type Instruction = (
  | { kind: 'event'; type: TaskEventType; data: unknown }
  | { kind: 'message'; role: MessageRole; content: unknown; toolCalls?: unknown }
  | { kind: 'checkpoint'; message: string }
  | { kind: 'done' }
  | { kind: 'fail'; error: string }
  | { kind: 'invalid'; reason: string }
) & { id?: AckId };

/** How an acknowledgement reports failure: the API's error code, or one of the worker's own. */
export interface AckError {
  /** An API code (BAD_USER_INPUT, CONFLICT, GIT_ERROR, …), INVALID_INSTRUCTION, or TASK_LOST. */
  code: string;
  message: string;
}

const MAX_ID_LENGTH = 200;

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
  // An event's object is its data, "id" included (a tool call's own id, say): events are not answered.
  if (kind in EVENT_KINDS) return { kind: 'event', type: EVENT_KINDS[kind], data: rest };
  const { id, ...fields } = rest;
  if (id !== undefined && !isAckId(id)) return invalid(`"id" must be a string (at most ${MAX_ID_LENGTH} characters) or a number`);
  const instruction = parseInstruction(kind, fields);
  return id === undefined ? instruction : { ...instruction, id };
}

/** The line that answers instruction `id`: what it made, or why it could not be done. */
export function ackLine(id: AckId, result: { error: AckError } | Record<string, unknown> = {}): string {
  return `${JSON.stringify({ makima: 'ack', id, ...result })}\n`;
}

function isAckId(id: unknown): id is AckId {
  return (typeof id === 'string' && id.length > 0 && id.length <= MAX_ID_LENGTH) || (typeof id === 'number' && Number.isFinite(id));
}

function parseInstruction(kind: string, rest: Record<string, unknown>): Instruction {
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
