// What a request check finds in a document without its variables, found once per parsed document
// and operation rather than on every request: yoga caches parsed documents, so the same objects
// come back for every request of the same operation, and the results go when they do.
import type { DocumentNode, GraphQLSchema, OperationDefinitionNode } from 'graphql';

/** `find`, remembered per (schema, document, operation) for as long as those objects live. */
export function perOperation<T>(find: (schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode) => T): typeof find {
  const found = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, WeakMap<OperationDefinitionNode, T>>>();
  return (schema, document, operation) => {
    let byDocument = found.get(schema);
    if (!byDocument) found.set(schema, (byDocument = new WeakMap()));
    let byOperation = byDocument.get(document);
    if (!byOperation) byDocument.set(document, (byOperation = new WeakMap()));
    if (byOperation.has(operation)) return byOperation.get(operation)!;
    const value = find(schema, document, operation);
    byOperation.set(operation, value);
    return value;
  };
}
