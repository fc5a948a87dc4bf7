// The ACP wire between the worker and its agent, read in order (docs/design.md §15). The worker
// reads the agent's lines itself, so that everything the history records about them is recorded in
// the order the agent wrote them: each session/update is handed to the turn as it is read, and what
// the agent gets wrong — a line that is not JSON or not a JSON-RPC message, a request for a method
// the worker does not serve or with params that do not fit, a notification that does not fit or
// that nobody serves — is recorded as an ERROR event at its place, and the turn goes on. Requests
// and responses go on to the SDK, which answers a bad request itself; a bad line never reaches it,
// so the worker answers that one (-32700 / -32600 with id null, as the SDK's own reader would).
import { Readable, Writable } from 'node:stream';
import type { ChildProcess } from 'node:child_process';
import * as acp from '@agentclientprotocol/sdk';
import type { AcpHost } from './worker-acp-host.js';

type Stream = ReturnType<typeof acp.ndJsonStream>;
type Message = Stream extends { readable: ReadableStream<infer M> } ? M : never;

/** The largest params an ERROR event quotes whole; bigger ones are named by their size. */
const QUOTED_PARAMS_BYTES = 16 * 1024;
/** The most of a bad line an ERROR event quotes. */
const QUOTED_LINE_CHARS = 200;

interface Issue {
  path: PropertyKey[];
  message: string;
}
interface Check<T = unknown> {
  safeParse(value: unknown): { success: true; data: T } | { success: false; error: { issues: Issue[] } };
}

/** The requests the worker serves (worker-acp.ts registers a handler for each), with the SDK's check of their params. */
const SERVED_REQUESTS: Record<string, string> = {
  [acp.methods.client.fs.readTextFile]: 'zReadTextFileRequest',
  [acp.methods.client.fs.writeTextFile]: 'zWriteTextFileRequest',
  [acp.methods.client.session.requestPermission]: 'zRequestPermissionRequest',
  [acp.methods.client.terminal.create]: 'zCreateTerminalRequest',
  [acp.methods.client.terminal.output]: 'zTerminalOutputRequest',
  [acp.methods.client.terminal.waitForExit]: 'zWaitForTerminalExitRequest',
  [acp.methods.client.terminal.kill]: 'zKillTerminalRequest',
  [acp.methods.client.terminal.release]: 'zReleaseTerminalRequest',
};

/** The SDK's checks of what the agent sends: session/update params, and each served request's params. */
export interface WireChecks {
  sessionUpdate: Check<acp.SessionNotification>;
  requests: Map<string, Check>;
}

let checks: Promise<WireChecks> | undefined;
/**
 * The SDK's own schemas, the checks its dispatch applies: a message that passes here is one the SDK
 * hands to the worker's handler. They are not exported by the package (which is pinned to an exact
 * version), so they are loaded from the file beside the package's entry point.
 */
export function sdkWireChecks(): Promise<WireChecks> {
  checks ??= import(new URL('../schema/zod.gen.js', import.meta.resolve('@agentclientprotocol/sdk')).href).then((m: Record<string, Check | undefined>) => {
    const named = (name: string): Check => {
      const check = m[name];
      if (!check) throw new Error(`@agentclientprotocol/sdk has no ${name} beside its entry point: update worker-acp-wire.ts for the SDK's version`);
      return check;
    };
    const requests = new Map(Object.entries(SERVED_REQUESTS).map(([method, name]) => [method, named(name)]));
    return { sessionUpdate: named('zSessionNotification') as Check<acp.SessionNotification>, requests };
  });
  return checks;
}

/**
 * The stream the SDK's client runs on: the agent's stdout read line by line (a line longer than
 * `maxMessageBytes` ends it with the SDK's MessageTooLargeError instead of growing a buffer), each
 * line judged where it stands (see the head of this file); the worker's messages written to the
 * agent's stdin as newline-delimited JSON by the SDK's own writer.
 */
export function agentWire(child: ChildProcess, host: AcpHost, checks: WireChecks, onUpdate: (notification: acp.SessionNotification) => void, maxMessageBytes: number): Stream {
  const stdin = Writable.toWeb(child.stdin!) as WritableStream<Uint8Array>;
  const sdkWriter = acp.ndJsonStream(stdin, new ReadableStream<Uint8Array>({ start: (c) => c.close() })).writable.getWriter();
  // One writer for the SDK's messages and the worker's answers to bad lines, so they never interleave.
  const write = (message: Message) => sdkWriter.write(message);
  const mistake = (data: Record<string, unknown>) => host.event('ERROR', data);
  const lines = (Readable.toWeb(child.stdout!) as ReadableStream<Uint8Array>).pipeThrough(splitLines(maxMessageBytes));
  const readable = lines.pipeThrough(
    new TransformStream<string, Message>({
      transform(line, controller) {
        const text = line.trim();
        if (!text) return;
        let message: unknown;
        try {
          message = JSON.parse(text);
        } catch {
          return badLine(acp.RequestError.parseError(), 'a line that is not JSON', text);
        }
        if (message === null || typeof message !== 'object' || Array.isArray(message)) {
          const refusal = Array.isArray(message) ? acp.RequestError.invalidRequest(undefined, 'JSON-RPC batches are not supported') : acp.RequestError.invalidRequest(message);
          return badLine(refusal, 'a line that is not a JSON-RPC message', text);
        }
        if (judge(message as Record<string, unknown>)) controller.enqueue(message as Message);
      },
    }),
  );
  /** Records a line the SDK never sees and answers it as the SDK's reader would. */
  function badLine(refusal: acp.RequestError, what: string, text: string): void {
    const error = refusal.toErrorResponse();
    mistake({ message: `makima worker: the agent sent ${what}; it was answered ${error.code}: ${error.message}`, acp: 'protocol_error', id: null, error, line: text.slice(0, QUOTED_LINE_CHARS) });
    void write({ jsonrpc: '2.0', id: null, error } as Message).catch(() => {});
  }
  /** Records what is wrong with a parsed message; true when the SDK is to see it. */
  function judge(m: Record<string, unknown>): boolean {
    const method = m.method;
    if (!isJsonRpc(m)) {
      const error = acp.RequestError.invalidRequest(m).toErrorResponse();
      mistake({ message: `makima worker: the agent sent a line that is not a JSON-RPC message; it was answered ${error.code}: ${error.message}`, acp: 'protocol_error', id: null, error: { code: error.code, message: error.message } });
      return true; // the SDK answers it
    }
    if (typeof method !== 'string') return true; // a response
    if ('id' in m) {
      const check = checks.requests.get(method);
      if (!check) {
        const error = acp.RequestError.methodNotFound(method).toErrorResponse();
        mistake({ message: `makima worker: the agent sent a request for a method the worker does not serve; it was answered ${error.code}: ${error.message}`, acp: 'protocol_error', id: m.id, error });
        return true;
      }
      const result = check.safeParse(m.params);
      if (!result.success) {
        const error = acp.RequestError.invalidParams().toErrorResponse();
        const issues = issuesOf(result.error.issues);
        mistake({ message: `makima worker: the agent sent a request whose params do not fit the method's schema; it was answered ${error.code}: ${error.message}`, acp: 'protocol_error', id: m.id, error, method, issues });
      }
      return true;
    }
    if (method === acp.PROTOCOL_METHODS.cancel_request) return true; // the SDK's own
    if (method !== acp.methods.client.session.update) {
      mistake({ message: `makima worker: the agent sent a notification for a method the worker does not serve (${method}); it was ignored`, acp: 'unknown_notification', method, ...quoted(m.params) });
      return false;
    }
    const result = checks.sessionUpdate.safeParse(m.params);
    if (!result.success) {
      const issues = issuesOf(result.error.issues);
      const said = issues.map((i) => `${i.path || '(params)'}: ${i.message}`).join('; ');
      mistake({ message: `makima worker: the agent sent a session/update whose params do not fit its schema (${said}); it was not applied`, acp: 'malformed_notification', method, issues, ...quoted(m.params) });
      return false;
    }
    onUpdate(result.data);
    return false;
  }
  const writable = new WritableStream<Message>({ write, close: () => sdkWriter.close(), abort: (reason) => sdkWriter.abort(reason) });
  return { readable, writable };
}

/** A request, a notification or a response (well formed or not), as the SDK tells them apart; anything else it answers -32600. */
function isJsonRpc(m: Record<string, unknown>): boolean {
  const id = m.id;
  const validId = id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
  if (typeof m.method === 'string' && m.jsonrpc === '2.0') return !('id' in m) || validId;
  return !('method' in m) && ('id' in m || 'result' in m || 'error' in m);
}

function issuesOf(issues: Issue[]): { path: string; message: string }[] {
  return issues.slice(0, 5).map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
}

/** The params as they came when they are small, else their size: an event must stay far below the server's limit. */
function quoted(params: unknown): { params: unknown } | { paramsBytes: number } {
  const bytes = Buffer.byteLength(JSON.stringify(params) ?? '');
  return bytes <= QUOTED_PARAMS_BYTES ? { params: params ?? null } : { paramsBytes: bytes };
}

/**
 * Bytes into lines (LF-terminated; a trailing CR goes with the trim), the last one unterminated at
 * the end. A line, or the part of one held so far, longer than `maxBytes` errors the stream.
 */
function splitLines(maxBytes: number): TransformStream<Uint8Array, string> {
  const decoder = new TextDecoder();
  let held: Uint8Array[] = [];
  let heldBytes = 0;
  const take = (last: Uint8Array): string => {
    const line = held.length ? decoder.decode(Buffer.concat([...held, last])) : decoder.decode(last);
    held = [];
    heldBytes = 0;
    return line;
  };
  const hold = (bytes: Uint8Array) => {
    heldBytes += bytes.byteLength;
    if (heldBytes > maxBytes) throw new acp.MessageTooLargeError(maxBytes);
    held.push(bytes);
  };
  return new TransformStream<Uint8Array, string>({
    transform(chunk, controller) {
      let start = 0;
      for (let end = chunk.indexOf(0x0a); end !== -1; end = chunk.indexOf(0x0a, start)) {
        const piece = chunk.subarray(start, end);
        if (heldBytes + piece.byteLength > maxBytes) throw new acp.MessageTooLargeError(maxBytes);
        controller.enqueue(take(piece));
        start = end + 1;
      }
      if (start < chunk.byteLength) hold(chunk.subarray(start));
    },
    flush(controller) {
      if (heldBytes) controller.enqueue(take(new Uint8Array(0)));
    },
  });
}
