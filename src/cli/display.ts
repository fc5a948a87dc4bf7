// What the CLI shows in place of what the API may send: the global IDs that its commands take
// instead of raw UUIDs (in event data, resume notes, error messages), and the CLI commands instead
// of the API mutations that messages name. Idempotent: a global ID or a CLI name passes unchanged,
// so it holds whether or not the server already sends global IDs.

const UUID_SOURCE = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const UUID = new RegExp(`^${UUID_SOURCE}$`, 'i');

/** The node type a word names in a sentence ("task 3f…", "the supervisor 3f…", "Checkpoint 3f…"). */
const WORD_TYPES: Record<string, string> = {
  task: 'Task',
  supervisor: 'Task',
  contract: 'Contract',
  checkpoint: 'Checkpoint',
  snapshot: 'ConversationSnapshot',
  conversationsnapshot: 'ConversationSnapshot',
  message: 'ConversationMessage',
  conversationmessage: 'ConversationMessage',
  head: 'ConversationMessage',
};
const WORD_BEFORE_UUID = new RegExp(`\\b(${Object.keys(WORD_TYPES).join('|')})(\\s+|: ?)(${UUID_SOURCE})\\b`, 'gi');

/** The node type a data key names (taskId, backupSnapshotId, headMessageId, fromHeadId…). */
const KEY_TYPES: [RegExp, string][] = [
  [/(^t|T)askIds?$/, 'Task'],
  [/(^c|C)ontractIds?$/, 'Contract'],
  [/(^c|C)heckpointIds?$/, 'Checkpoint'],
  [/(^s|S)napshotIds?$/, 'ConversationSnapshot'],
  [/((^m|M)essage|(^h|H)ead)Ids?$/, 'ConversationMessage'],
];

/** Mutations that messages may name, and the command that does the same. */
const COMMANDS_FOR_MUTATIONS: [RegExp, string][] = [
  [/\bcreateTask with continueFromTaskId\b/g, '`makima task create --continue-from <task>`'],
  [/\bforkTask\b/g, '`makima task fork`'],
  [/\bcreateTask\b/g, '`makima task create`'],
  [/\bresumeTaskFromCheckpoint\b/g, '`makima task resume-from`'],
  [/\bresumeTask\b/g, '`makima task resume`'],
  [/\bresumeSupervisor\b/g, '`makima contract resume`'],
  [/\brewindTask\b/g, '`makima task rewind`'],
  [/\brewindConversation\b/g, '`makima conversation rewind`'],
  [/\bcreateContract\b/g, '`makima contract create`'],
  [/\badvanceContractPhase\b/g, '`makima contract advance`'],
];

export function toGlobalId(typename: string, uuid: string): string {
  return Buffer.from(`${typename}:${uuid.toLowerCase()}`).toString('base64');
}

/** A sentence from the API as the CLI shows it: "task <uuid>" → "task <global ID>", mutations → commands. */
export function displayText(text: string): string {
  let out = text.replace(WORD_BEFORE_UUID, (_m, word: string, sep: string, uuid: string) => `${word}${sep}${toGlobalId(WORD_TYPES[word.toLowerCase()], uuid)}`);
  for (const [pattern, command] of COMMANDS_FOR_MUTATIONS) out = out.replace(pattern, command);
  return out;
}

/**
 * A JSON value from the API (event data, a payload) as the CLI shows it: a UUID under a key that
 * says what it names becomes that node's global ID; every other string is read as a sentence.
 */
export function displayData(value: unknown, key = ''): unknown {
  if (typeof value === 'string') {
    const type = UUID.test(value) ? KEY_TYPES.find(([pattern]) => pattern.test(key))?.[1] : undefined;
    return type ? toGlobalId(type, value) : displayText(value);
  }
  if (Array.isArray(value)) return value.map((v) => displayData(v, key));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, displayData(v, k)]));
  }
  return value;
}

/** A payload holding a task whose resume note the CLI shows with global IDs. */
export function withDisplayedNote<P extends { task: { resumeNote?: string | null } }>(payload: P): P {
  const note = payload.task.resumeNote;
  return note ? { ...payload, task: { ...payload.task, resumeNote: displayText(note) } } : payload;
}
