// Persisted operations (MAKIMA_PERSISTED_OPERATIONS, MAKIMA_PERSISTED_ONLY), with graphql-yoga's
// plugin: a client sends `extensions.persistedQuery.sha256Hash` (Apollo's format) instead of the
// document. In persisted-only mode nothing else runs, over HTTP and graphql-ws alike, except a
// document sent in full whose exact text is in the file (its SHA-256 is a key): so a client built
// from the same documents (the CLI, say) needs no change.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import { parse, type GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ConfigError } from '../config.js';
import { BadInputError } from '../errors.js';

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

function persistedId(extensions: unknown): string | undefined {
  const persisted = (extensions as { persistedQuery?: { version?: unknown; sha256Hash?: unknown } } | undefined)?.persistedQuery;
  return persisted?.version === 1 && typeof persisted.sha256Hash === 'string' ? persisted.sha256Hash : undefined;
}

// Refusals are bad input like any other (the API has one code for it); `field` tells them apart.
export function persistedQueryNotFound(): GraphQLError {
  return new BadInputError('this persisted operation is not known to the server (MAKIMA_PERSISTED_OPERATIONS)', 'extensions.persistedQuery.sha256Hash');
}

export function persistedQueryOnly(): GraphQLError {
  return new BadInputError('this server only runs persisted operations: send extensions.persistedQuery.sha256Hash of an operation it knows', 'query');
}

/**
 * The document an operation sent over graphql-ws runs, or the refusal: graphql-ws is not served by
 * yoga's request pipeline, so the same rules are applied here.
 */
export function resolvePersisted(operations: PersistedOperations, query: string | undefined, extensions: unknown): string | GraphQLError {
  const id = persistedId(extensions);
  if (id !== undefined && !query) return operations.byId.get(id) ?? persistedQueryNotFound();
  if (!operations.only || (query && operations.byTextHash.has(sha256Hex(query)))) return query ?? '';
  return persistedQueryOnly();
}

/** The yoga plugins for HTTP (and SSE): a full document on the list is let through; then yoga's plugin. */
export function persistedOperationsPlugins(operations: PersistedOperations): Plugin[] {
  const allowedByText: Plugin = {
    onParams({ params, setParams }) {
      if (!operations.only || !params.query || !operations.byTextHash.has(sha256Hex(params.query))) return;
      setParams({ ...params, query: undefined, extensions: { ...params.extensions, persistedQuery: { version: 1, sha256Hash: `text:${sha256Hex(params.query)}` } } });
    },
  };
  const plugin = usePersistedOperations({
    allowArbitraryOperations: !operations.only,
    getPersistedOperation: (id) => (id.startsWith('text:') ? operations.byTextHash.get(id.slice(5)) : operations.byId.get(id)) ?? null,
    customErrors: {
      notFound: persistedQueryNotFound,
      persistedQueryOnly,
      keyNotFound: () => new BadInputError('send a document (query) or the id of a persisted operation (extensions.persistedQuery.sha256Hash)', 'query'),
    },
  }) as Plugin;
  return [allowedByText, plugin];
}
