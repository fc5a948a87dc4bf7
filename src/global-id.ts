// The global ID of an object (docs/design.md §5) for the places that cannot use Pothos: services
// write ids into notes, messages and error details, and every id the API returns is the global ID
// its arguments take. The same encoding as Pothos's encodeGlobalID (test/global-ids.test.ts).

/** Node types whose ids services hand out. */
export type NodeType = 'Contract' | 'Task' | 'Checkpoint' | 'ConversationSnapshot' | 'ConversationMessage' | 'TaskEvent' | 'HistoryEvent' | 'User';

/** base64(`<Type>:<UUID>`), as `node(id:)` and every ID argument take it. */
export function globalId(type: NodeType, uuid: string): string {
  return Buffer.from(`${type}:${uuid}`).toString('base64');
}

/** The global ID of a nullable id: null stays null. */
export function globalIdOrNull(type: NodeType, uuid: string | null | undefined): string | null {
  return uuid == null ? null : globalId(type, uuid);
}
