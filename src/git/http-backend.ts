// Git over HTTP served by git itself (docs/design.md §11): each request is handed to `git
// http-backend` (git's CGI program for the smart HTTP protocol) — never a re-implementation of the
// protocol. The caller has authenticated the request and decided what it may do; here git runs with
// makima's push rules (push-hook.ts) instead of the repository's own hooks, fast-forward-only
// branches, no deletions, and the push size limit.
import { spawn } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { installPushHooks, PUSH_ENV } from './push-hook.js';
import { recordPush } from './push-record.js';
import { gitEnv } from './repo.js';

/** What a worker may push: the refs of the tasks whose live lease it holds. */
export interface PushRights {
  workerId: string;
  /** Branches it may fast-forward. */
  branches: string[];
  /** Tasks under whose refs/makima/tasks/<task>/ it may create refs. */
  taskIds: string[];
}

export interface GitHttpRequest {
  /** The repository (its work tree's top level or a bare repository). */
  repositoryPath: string;
  /** What follows `<contract>.git` in the URL: `/info/refs`, `/git-upload-pack` or `/git-receive-pack`. */
  pathInfo: string;
  /** The query string without `?` (`service=git-upload-pack`). */
  query: string;
  /** Null: receive-pack is refused by git itself (a fetch-only request). */
  push: PushRights | null;
  /** receive.maxInputSize; the request itself is cut a little above it. */
  maxPushBytes: number;
  hooksDir: string;
  /** Where a push is recorded while git runs, so that a restart clears what a killed one left (push-record.ts). */
  pushRecordDir: string;
  /** Who git's logs name (CGI REMOTE_USER). */
  remoteUser: string;
  /** Tests: sees the running total of request body bytes handed to git. */
  onRequestBytes?: (total: number) => void;
}

/** How much larger than the pack a push request may be (its ref commands and framing). */
const PUSH_REQUEST_SLACK = 1024 * 1024;
/** git's stderr kept for the log when http-backend fails. */
const MAX_STDERR = 16 * 1024;

export interface GitHttpOutcome {
  status: number;
  requestBytes: number;
  /** git's own complaint when it failed (for the log). */
  stderr: string;
}

function gitConfig(request: GitHttpRequest): string[] {
  const settings = [
    `core.hooksPath=${installPushHooks(request.hooksDir)}`,
    'http.uploadpack=true',
    `http.receivepack=${request.push ? 'true' : 'false'}`,
    'receive.denyNonFastForwards=true',
    'receive.denyDeletes=true',
    `receive.maxInputSize=${request.maxPushBytes}`,
    'uploadpack.allowFilter=true',
  ];
  return settings.flatMap((s) => ['-c', s]);
}

function cgiEnv(req: IncomingMessage, request: GitHttpRequest): Record<string, string> {
  const env: Record<string, string> = {
    ...gitEnv(),
    GIT_PROJECT_ROOT: request.repositoryPath,
    GIT_HTTP_EXPORT_ALL: '1',
    PATH_INFO: request.pathInfo,
    QUERY_STRING: request.query,
    REQUEST_METHOD: req.method ?? 'GET',
    REMOTE_USER: request.remoteUser,
    REMOTE_ADDR: req.socket.remoteAddress ?? '',
    CONTENT_TYPE: String(req.headers['content-type'] ?? ''),
  };
  // Not for a push: given a length, http-backend copies that many bytes to receive-pack and, when
  // its input ends first (the server died mid-push), reads the end again forever, spinning on a CPU
  // with receive-pack and its quarantine waiting behind it. Without one, receive-pack reads the
  // body itself and sees the end: it gives up and removes its quarantine. The body always ends, as
  // the request does or when the server goes.
  if (req.headers['content-length'] !== undefined && request.pathInfo !== '/git-receive-pack') env.CONTENT_LENGTH = String(req.headers['content-length']);
  if (req.headers['content-encoding'] !== undefined) env.HTTP_CONTENT_ENCODING = String(req.headers['content-encoding']);
  if (req.headers['git-protocol'] !== undefined) env.HTTP_GIT_PROTOCOL = String(req.headers['git-protocol']);
  if (request.push) {
    env[PUSH_ENV.worker] = request.push.workerId;
    env[PUSH_ENV.branches] = request.push.branches.join(' ');
    env[PUSH_ENV.tasks] = request.push.taskIds.join(' ');
  }
  return env;
}

/** Splits a CGI response head ("Status: 404 Not Found", headers) from its body. */
function parseCgiHead(head: string): { status: number; headers: Record<string, string> } {
  let status = 200;
  const headers: Record<string, string> = {};
  for (const line of head.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 500;
    else headers[name] = value;
  }
  return { status, headers };
}

/** Serves one smart-HTTP request with `git http-backend`; resolves when the response has ended. */
export function serveGitHttp(req: IncomingMessage, res: ServerResponse, request: GitHttpRequest): Promise<GitHttpOutcome> {
  return new Promise((resolve) => {
    const pushing = request.push && request.pathInfo === '/git-receive-pack' ? request.push : null;
    const unrecord = pushing ? recordPush(request.pushRecordDir, { repositoryPath: request.repositoryPath, ...pushing }) : () => {};
    const child = spawn('git', [...gitConfig(request), 'http-backend'], { env: cgiEnv(req, request), stdio: ['pipe', 'pipe', 'pipe'] });
    child.once('error', unrecord);
    child.once('close', unrecord);
    let stderr = '';
    let requestBytes = 0;
    let status = 0;
    let settled = false;
    const finish = (code: number) => {
      if (settled) return;
      settled = true;
      resolve({ status: code, requestBytes, stderr: stderr.trim() });
    };
    const fail = (code: number, message: string) => {
      child.kill('SIGKILL');
      if (!res.headersSent) {
        res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`${message}\n`);
      } else {
        res.destroy();
      }
      finish(code);
    };
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < MAX_STDERR) stderr += chunk.toString('utf8');
    });
    child.on('error', (err) => fail(500, `could not run git http-backend: ${err.message}`));

    // The request body goes to git as it arrives; a push is cut when it passes the limit (git's own
    // receive.maxInputSize usually refuses it first, with a message git push shows).
    const limit = request.pathInfo === '/git-receive-pack' ? request.maxPushBytes + PUSH_REQUEST_SLACK : Number.POSITIVE_INFINITY;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        requestBytes += chunk.length;
        if (requestBytes > limit) return done(new PushTooLarge());
        request.onRequestBytes?.(requestBytes);
        done(null, chunk);
      },
    });
    pipeline(req, counter, child.stdin).catch((err: unknown) => {
      if (err instanceof PushTooLarge) fail(413, `the push is larger than MAKIMA_MAX_PUSH_BYTES (${request.maxPushBytes} bytes); push fewer or smaller commits`);
      // Otherwise git stopped reading (it answered already) or the client went away: git sees the end of its input.
    });
    req.on('close', () => {
      if (!req.complete) child.kill('SIGTERM'); // the client went away mid-request: git gives up, nothing is updated
    });

    // The CGI head (Status and headers) becomes the response's head; the body is piped, so a large
    // clone streams with backpressure instead of piling up in memory.
    let head = Buffer.alloc(0);
    const readHead = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const crlf = head.indexOf('\r\n\r\n');
      const lf = head.indexOf('\n\n');
      const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf + 4 : lf >= 0 ? lf + 2 : -1;
      if (end < 0) return;
      child.stdout.off('data', readHead);
      const parsed = parseCgiHead(head.subarray(0, end).toString('latin1'));
      status = parsed.status;
      if (res.headersSent) return;
      res.writeHead(status, parsed.headers);
      if (end < head.length) res.write(head.subarray(end));
      child.stdout.pipe(res);
    };
    child.stdout.on('data', readHead);
    child.on('close', (code) => {
      if (settled) return;
      if (!status) return fail(500, `git http-backend failed (exit ${code}): ${stderr.trim().split('\n')[0] ?? ''}`);
      finish(status);
    });
  });
}

class PushTooLarge extends Error {}
