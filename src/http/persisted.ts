// Persisted operations (MAKIMA_PERSISTED_OPERATIONS, MAKIMA_PERSISTED_ONLY), over HTTP, SSE and
// graphql-ws alike. A client names an operation instead of sending it, in either form:
// - Apollo's automatic persisted queries: `extensions.persistedQuery: { version: 1, sha256Hash }`.
//   An id the server does not know is PERSISTED_QUERY_NOT_FOUND, and without a file every id is
//   PERSISTED_QUERY_NOT_SUPPORTED: on either, Apollo's link sends the document (with its hash,
//   which must match it), so the link works in every mode;
// - GraphQL over HTTP's persisted documents: `documentId` (`sha256:<hex>`, or any key of the file),
//   in the body or the query string.
// In persisted-only mode nothing else runs, except a document sent in full whose exact text is in
// the file (its SHA-256 is a key): so a client built from the same documents (the CLI, say) needs no change.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { parse, type GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ConfigError } from '../config.js';
import { BadInputError, PersistedQueryError } from '../errors.js';

export interface PersistedOperations {
  /** The document of an id (the SHA-256 hex of its text, or any key the file gives it). */
  byId: Map<string, string>;
  /** Every document's own SHA-256 hex, whatever its key: a document sent in full is allowed by its text. */
  byTextHash: Map<string, string>;
  only: boolean;
}

export function sha256Hex(text: string): string {
  return crypto.createHash('sha256').update(text).digest('hex');
}

/** Reads `{ "<id>": "<document>" }`; a file that is not that, or a document that does not parse, is a ConfigError. */
export function loadPersistedOperations(file: string, only: boolean): PersistedOperations {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`MAKIMA_PERSISTED_OPERATIONS: cannot read ${file} as JSON: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`MAKIMA_PERSISTED_OPERATIONS: ${file} must hold one JSON object, { "<sha256 of the document>": "<document>" }`);
  }
  const byId = new Map<string, string>();
  const byTextHash = new Map<string, string>();
  for (const [id, document] of Object.entries(raw)) {
    if (typeof document !== 'string') throw new ConfigError(`MAKIMA_PERSISTED_OPERATIONS: the operation "${id}" in ${file} is not a string`);
    try {
      parse(document);
    } catch (err) {
      throw new ConfigError(`MAKIMA_PERSISTED_OPERATIONS: the operation "${id}" in ${file} does not parse: ${(err as Error).message}`);
    }
    byId.set(id, document);
    byTextHash.set(sha256Hex(document), document);
  }
  return { byId, byTextHash, only };
}

/** What a request names: the document it sent, and the id it gave, in either form. */
export interface Requested {
  query?: string | null;
  extensions?: unknown;
  documentId?: unknown;
}

/** The id a request gives, and where: Apollo's hash (version 1) or a persisted document's id. */
function requestedId(request: Requested): { id: string; field: string } | undefined {
  if (typeof request.documentId === 'string' && request.documentId !== '') return { id: request.documentId, field: 'documentId' };
  const persisted = (request.extensions as { persistedQuery?: { version?: unknown; sha256Hash?: unknown } } | undefined)?.persistedQuery;
  if (persisted?.version === 1 && typeof persisted.sha256Hash === 'string') return { id: persisted.sha256Hash, field: 'extensions.persistedQuery.sha256Hash' };
  return undefined;
}

function lookUp(operations: PersistedOperations, id: string): string | undefined {
  return operations.byId.get(id) ?? (id.startsWith('sha256:') ? (operations.byId.get(id.slice(7)) ?? operations.byTextHash.get(id.slice(7))) : operations.byTextHash.get(id));
}

export function persistedQueryOnly(): GraphQLError {
  return new BadInputError('this server only runs persisted operations: send extensions.persistedQuery.sha256Hash or documentId of an operation it knows', 'query');
}

/**
 * The document a request runs, or its refusal; `operations` is undefined without a file. One rule
 * for HTTP (the plugin below) and graphql-ws (server.ts), which yoga's request pipeline does not serve.
 */
export function resolvePersisted(operations: PersistedOperations | undefined, request: Requested): string | GraphQLError | undefined {
  const named = requestedId(request);
  const query = request.query || undefined;
  if (named && !query) {
    if (!operations) return new PersistedQueryError('NotSupported');
    return lookUp(operations, named.id) ?? new PersistedQueryError('NotFound');
  }
  if (query && named?.field === 'extensions.persistedQuery.sha256Hash' && named.id !== sha256Hex(query)) {
    // Apollo's link sends the document with its hash after PERSISTED_QUERY_NOT_FOUND; they must agree.
    return new BadInputError('extensions.persistedQuery.sha256Hash is not the SHA-256 of the query sent with it', named.field);
  }
  if (operations?.only && !(query && operations.byTextHash.has(sha256Hex(query)))) return persistedQueryOnly();
  return query;
}

/** The yoga plugin for HTTP (and SSE): the request's document is the persisted one it names, or it is refused. */
export function persistedOperationsPlugin(operations: PersistedOperations | undefined): Plugin {
  return {
    onParams({ request, params, setParams }) {
      const { documentId, ...rest } = params as typeof params & { documentId?: unknown };
      const fromUrl = request.method === 'GET' ? new URL(request.url).searchParams.get('documentId') : null;
      const resolved = resolvePersisted(operations, { ...rest, documentId: documentId ?? fromUrl ?? undefined });
      if (typeof resolved === 'object') throw resolved;
      if (resolved !== params.query || documentId !== undefined) setParams({ ...rest, query: resolved });
    },
  };
}
