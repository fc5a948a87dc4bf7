// The global ID of an object (docs/design.md §5) for the places that cannot use Pothos: services
// write ids into notes, messages and error details, and every id the API returns is the global ID
// its arguments take. The same encoding as Pothos's encodeGlobalID (test/global-ids.test.ts).

/** Node types whose ids services hand out. */
export type NodeType = 'Contract' | 'Task' | 'Checkpoint' | 'ConversationSnapshot' | 'ConversationMessage' | 'TaskEvent' | 'HistoryEvent' | 'User' | 'ApiToken';

/** base64(`<Type>:<UUID>`), as `node(id:)` and every ID argument take it. */
export function globalId(type: NodeType, uuid: string): string {
  return Buffer.from(`${type}:${uuid}`).toString('base64');
}

/** The global ID of a nullable id: null stays null. */
export function globalIdOrNull(type: NodeType, uuid: string | null | undefined): string | null {
  return uuid == null ? null : globalId(type, uuid);
}

const UUID_SOURCE = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const UUID = new RegExp(`^${UUID_SOURCE}$`, 'i');

/** The node type a word names in a sentence ("task 3f…", "the supervisor 3f…", "Checkpoint 3f…"). */
const WORD_TYPES: Record<string, NodeType> = {
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
const KEY_TYPES: [RegExp, NodeType][] = [
  [/(^t|T)askIds?$/, 'Task'],
  [/(^c|C)ontractIds?$/, 'Contract'],
  [/(^c|C)heckpointIds?$/, 'Checkpoint'],
  [/(^s|S)napshotIds?$/, 'ConversationSnapshot'],
  [/((^m|M)essage|(^h|H)ead)Ids?$/, 'ConversationMessage'],
];

/**
 * A sentence with each raw UUID that a word names ("task <uuid>") as that node's global ID —
 * how error messages and notes reach clients. Idempotent: a global ID passes unchanged.
 */
export function withGlobalIds(text: string): string {
  return text.replace(WORD_BEFORE_UUID, (_m, word: string, sep: string, uuid: string) => `${word}${sep}${globalId(WORD_TYPES[word.toLowerCase()], uuid.toLowerCase())}`);
}

/** A JSON value (error details, event data) with each raw UUID under a key that names its type as that node's global ID. */
export function dataWithGlobalIds(value: unknown, key = ''): unknown {
  if (typeof value === 'string') {
    const type = UUID.test(value) ? KEY_TYPES.find(([pattern]) => pattern.test(key))?.[1] : undefined;
    return type ? globalId(type, value.toLowerCase()) : value;
  }
  if (Array.isArray(value)) return value.map((v) => dataWithGlobalIds(v, key));
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, dataWithGlobalIds(v, k)]));
  }
  return value;
}

/** The type and UUID inside a global ID, or undefined when `value` is not one (docs/design.md §16: references). */
export function parseGlobalId(value: string): { type: string; uuid: string } | undefined {
  if (!/^[A-Za-z0-9+/]+=*$/.test(value) || value.length < 40) return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 1) return undefined;
  const uuid = decoded.slice(colon + 1);
  return UUID.test(uuid) ? { type: decoded.slice(0, colon), uuid: uuid.toLowerCase() } : undefined;
}

/** Whether `value` is a raw UUID. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
