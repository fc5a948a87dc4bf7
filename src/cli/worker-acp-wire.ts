// The ACP wire between the worker and its agent, watched (docs/design.md §15): what the agent gets
// wrong is recorded as an ERROR event and the turn goes on. The SDK answers the agent's bad lines
// and bad requests itself; the worker sees its answers on the way out (`toAgent`). A notification
// gets no answer, and the SDK only prints what was wrong with one on stderr (a session/update whose
// params do not fit the schema) or ignores it (a method nobody serves), so the worker checks each
// notification on the way in (`fromAgent`), with the SDK's own check, before the SDK sees it.
import { Writable } from 'node:stream';
import type { ChildProcess } from 'node:child_process';
import * as acp from '@agentclientprotocol/sdk';
import type { AcpHost } from './worker-acp-host.js';

type Stream = ReturnType<typeof acp.ndJsonStream>;
type Message = Stream extends { readable: ReadableStream<infer M> } ? M : never;

/** The largest params an ERROR event quotes whole; bigger ones are named by their size. */
const QUOTED_PARAMS_BYTES = 16 * 1024;

interface Issue {
  path: PropertyKey[];
  message: string;
}
interface Check {
  safeParse(value: unknown): { success: true } | { success: false; error: { issues: Issue[] } };
}

let sessionNotification: Promise<Check> | undefined;
/**
 * The SDK's schema of session/update params: the check its dispatch applies, so a notification that
 * passes here is one the SDK hands to the worker's handler. It is not exported by the package (which
 * is pinned to an exact version), so it is loaded from the file beside the package's entry point.
 */
export function sdkSessionNotificationCheck(): Promise<Check> {
  sessionNotification ??= import(new URL('../schema/zod.gen.js', import.meta.resolve('@agentclientprotocol/sdk')).href).then((m: { zSessionNotification?: Check }) => {
    if (!m.zSessionNotification) throw new Error("@agentclientprotocol/sdk has no zSessionNotification beside its entry point: update worker-acp-wire.ts for the SDK's version");
    return m.zSessionNotification;
  });
  return sessionNotification;
}

/** Notifications the worker serves: session/update, and the protocol's request cancellation (handled by the SDK). */
const SERVED = new Set<string>([acp.methods.client.session.update, acp.PROTOCOL_METHODS.cancel_request]);

/**
 * The agent's messages on their way to the SDK, with each notification checked: a session/update
 * whose params do not fit (`check`) and a notification for a method the worker does not serve are
 * recorded as ERROR events, with what was wrong and the params, and not passed on (the SDK would only
 * print the first and ignore the second). Requests and responses pass untouched.
 */
export function fromAgent(stream: Stream, host: AcpHost, check: Check): Stream {
  const watch = new TransformStream<Message, Message>({
    transform(message, controller) {
      const m = message as { id?: unknown; method?: unknown; params?: unknown };
      if (typeof m.method !== 'string' || 'id' in m) return controller.enqueue(message);
      if (!SERVED.has(m.method)) {
        host.event('ERROR', { message: `makima worker: the agent sent a notification for a method the worker does not serve (${m.method}); it was ignored`, acp: 'unknown_notification', method: m.method, ...quoted(m.params) });
        return;
      }
      if (m.method === acp.methods.client.session.update) {
        const result = check.safeParse(m.params);
        if (!result.success) {
          const issues = result.error.issues.slice(0, 5).map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
          const said = issues.map((i) => `${i.path || '(params)'}: ${i.message}`).join('; ');
          host.event('ERROR', { message: `makima worker: the agent sent a session/update whose params do not fit its schema (${said}); it was not applied`, acp: 'malformed_notification', method: m.method, issues, ...quoted(m.params) });
          return;
        }
      }
      controller.enqueue(message);
    },
  });
  return { readable: stream.readable.pipeThrough(watch), writable: stream.writable };
}

/** The params as they came when they are small, else their size: an event must stay far below the server's limit. */
function quoted(params: unknown): { params: unknown } | { paramsBytes: number } {
  const bytes = Buffer.byteLength(JSON.stringify(params) ?? '');
  return bytes <= QUOTED_PARAMS_BYTES ? { params: params ?? null } : { paramsBytes: bytes };
}

/**
 * The agent's stdin, watched: the SDK answers what the agent got wrong and goes on — a line that is
 * not JSON (-32700) or not a JSON-RPC message (-32600) with an error of id null, a request for a
 * method the worker does not serve (-32601), a request whose params do not fit the method's schema
 * (-32602 "Invalid params", the SDK's own wording; the worker's refusals say more and are recorded
 * where they are made). Each such answer is recorded as an ERROR event, so the agent's mistake is
 * in the history, and the turn continues.
 */
export function toAgent(child: ChildProcess, host: AcpHost): WritableStream<Uint8Array> {
  const decoder = new TextDecoder();
  const watch = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      // The SDK writes each message whole, in one chunk.
      const line = decoder.decode(chunk);
      if (line.includes('"error"')) {
        const answer = JSON.parse(line) as { id?: unknown; error?: { code?: number; message?: string; data?: unknown } };
        const what = protocolMistake(answer);
        if (what) host.event('ERROR', { message: `makima worker: the agent sent ${what}; it was answered ${answer.error?.code}: ${answer.error?.message}`, acp: 'protocol_error', id: answer.id ?? null, error: answer.error ?? null });
      }
      controller.enqueue(chunk);
    },
  });
  void watch.readable.pipeTo(Writable.toWeb(child.stdin!) as WritableStream<Uint8Array>).catch(() => {});
  return watch.writable;
}

/** What the agent got wrong, when `answer` is the SDK's answer to a protocol mistake; else undefined. */
function protocolMistake(answer: { id?: unknown; error?: { code?: number; message?: string } }): string | undefined {
  const code = answer.error?.code;
  if (answer.id === null) return code === -32700 ? 'a line that is not JSON' : 'a line that is not a JSON-RPC message';
  if (code === -32601) return 'a request for a method the worker does not serve';
  if (code === -32602 && answer.error?.message === 'Invalid params') return "a request whose params do not fit the method's schema";
  return undefined;
}
