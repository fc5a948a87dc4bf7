// What a connection's query asks of a relation of its nodes, read from the
// operation (fields, inline fragments and named fragments), to decide whether one SQL join can
// answer it (modules/timeline/schema.ts joins an event's task and contract this way).
import { Kind, type FieldNode, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

type Fragments = GraphQLResolveInfo['fragments'];

function eachField(set: SelectionSetNode | undefined, fragments: Fragments, fn: (field: FieldNode) => void): void {
  if (!set) return;
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) fn(selection);
    else if (selection.kind === Kind.INLINE_FRAGMENT) eachField(selection.selectionSet, fragments, fn);
    else eachField(fragments[selection.name.value]?.selectionSet, fragments, fn);
  }
}

function fieldsNamed(fields: readonly FieldNode[], name: string, fragments: Fragments): FieldNode[] {
  const found: FieldNode[] = [];
  for (const field of fields) eachField(field.selectionSet, fragments, (f) => f.name.value === name && found.push(f));
  return found;
}

/** Every `edges { node { … } }` field under the connection field being resolved (all aliases). */
export function nodeSelections(info: GraphQLResolveInfo): FieldNode[] {
  return fieldsNamed(fieldsNamed(info.fieldNodes, 'edges', info.fragments), 'node', info.fragments);
}

/**
 * Whether the nodes select `relation` and, under it, no field but `allowed` ones (and __typename),
 * whatever aliases, fragments or directives the query uses: true means a join of those columns
 * answers every selection of it.
 */
export function selectsOnly(nodes: FieldNode[], relation: string, allowed: readonly string[], info: GraphQLResolveInfo): boolean {
  const relations = fieldsNamed(nodes, relation, info.fragments);
  if (relations.length === 0) return false;
  let only = true;
  for (const r of relations) {
    eachField(r.selectionSet, info.fragments, (f) => {
      if (f.name.value !== '__typename' && !allowed.includes(f.name.value)) only = false;
    });
  }
  return only;
}
