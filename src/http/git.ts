// The /git/ route (docs/design.md §11): a contract's repository over git's smart HTTP protocol, on
// the API's own port. Here: which URL names which repository, who the caller is and what it may
// do; git's own http-backend does the rest (git/http-backend.ts). Errors are plain text, which git
// prints as "remote: …" lines before its own message, with the API's code in X-Makima-Error-Code.
//   fetch: any token of the contract's owner (READ included);
//   push:  a non-READ token of the owner, with `Makima-Worker: <id>` naming a worker that holds a
//          live lease on a task of the contract;
//   another user's contract, or none: 404; no valid token: 401 (git then asks for credentials:
//          the token is taken as a Bearer header or as the password of Basic authentication).
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppContext, ServiceContext } from '../context.js';
import { MakimaError } from '../errors.js';
import { serveGitHttp, type PushRights } from '../git/index.js';
import { bearerToken } from '../modules/auth/index.js';
import { findOwnContract } from '../modules/contracts/index.js';
import { assertRepositoryPresent } from '../modules/tasks/index.js';
import { pushRights } from '../modules/workers/index.js';
import { decodeId } from '../schema/ids.js';
import { GIT_PATH_PREFIX } from './git-url.js';

/** The header a pushing worker names itself in (the workerId of its claim). */
export const WORKER_HEADER = 'makima-worker';

/** The three requests of git's smart protocol; the dumb protocol is not served. */
const SMART_PATHS = new Set(['/info/refs', '/git-upload-pack', '/git-receive-pack']);
const SERVICES = new Set(['git-upload-pack', 'git-receive-pack']);

export function isGitRequest(req: IncomingMessage): boolean {
  return req.url?.startsWith(GIT_PATH_PREFIX) ?? false;
}

class GitRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

interface GitRoute {
  contractId: string;
  pathInfo: string;
  query: string;
  service: 'git-upload-pack' | 'git-receive-pack';
}

const notFound = (message: string) => new GitRefusal(404, message, 'NOT_FOUND');

/** `/git/<contract id>.git/<smart path>`: anything else (encoded "..", no id, a dumb-protocol file) is a 404 saying what is served. */
function parseRoute(rawUrl: string): GitRoute {
  const url = new URL(rawUrl, 'http://makima.invalid');
  const match = /^\/git\/([^/]+)\.git(\/.*)?$/.exec(url.pathname);
  if (!match) throw notFound(`not a repository URL: use a contract's gitUrl, ${GIT_PATH_PREFIX}<contract id>.git`);
  let id: string;
  try {
    id = decodeURIComponent(match[1]);
  } catch {
    throw notFound('not a repository URL: the contract id is not valid percent-encoding');
  }
  let contractId: string;
  try {
    contractId = decodeId(id, 'Contract');
  } catch {
    throw notFound(`repository not found: "${id.slice(0, 80)}" is not a Contract ID (use the contract's gitUrl)`);
  }
  const pathInfo = match[2] ?? '/';
  if (!SMART_PATHS.has(pathInfo)) {
    throw notFound(`${pathInfo.slice(0, 80)} is not served: makima serves git's smart HTTP protocol only (info/refs, git-upload-pack, git-receive-pack)`);
  }
  const service = pathInfo === '/info/refs' ? url.searchParams.get('service') : pathInfo.slice(1);
  if (!service || !SERVICES.has(service)) {
    throw new GitRefusal(403, "makima serves git's smart HTTP protocol only: use git 1.6.6 or newer", 'BAD_USER_INPUT');
  }
  return { contractId, pathInfo, query: url.search.replace(/^\?/, ''), service: service as GitRoute['service'] };
}

/** The API token of a request: `Authorization: Bearer <token>`, or the password (or user) of Basic authentication. */
function requestToken(req: IncomingMessage): string | null {
  const header = req.headers.authorization;
  const bearer = bearerToken(header);
  if (bearer) return bearer;
  const basic = /^Basic\s+(\S+)\s*$/i.exec(header ?? '');
  if (!basic) return null;
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const [user, password] = colon < 0 ? [decoded, ''] : [decoded.slice(0, colon), decoded.slice(colon + 1)];
  return password || user || null;
}

async function authenticate(app: AppContext, req: IncomingMessage): Promise<ServiceContext> {
  const authentication = await app.auth.authenticate(requestToken(req));
  if (authentication.viewer) return { ...app, viewer: authentication.viewer };
  const why = authentication.viewer === null && authentication.refusal ? `${authentication.refusal}. ` : '';
  throw new GitRefusal(
    401,
    `${why}an API token is required: git -c http.extraHeader="Authorization: Bearer <token>" …, or give the token as the password`,
    'UNAUTHENTICATED',
    { 'www-authenticate': 'Basic realm="makima", charset="UTF-8"' },
  );
}

/** What the caller may push; a refusal says why (every push is refused before git reads any of it). */
async function pushAllowed(ctx: ServiceContext, req: IncomingMessage, contractId: string): Promise<PushRights> {
  if (ctx.viewer.scope === 'READ') throw new GitRefusal(403, `API token "${ctx.viewer.tokenName}" is READ-only: pushing needs a WORKER or FULL token`, 'FORBIDDEN');
  const workerId = req.headers[WORKER_HEADER];
  if (typeof workerId !== 'string' || !workerId) {
    throw new GitRefusal(403, 'a push must name its worker: git -c http.extraHeader="Makima-Worker: <the workerId of your claim>" push …', 'FORBIDDEN');
  }
  const rights = await pushRights(ctx, { contractId, workerId });
  if (rights.taskIds.length === 0) {
    throw new GitRefusal(
      403,
      `worker ${workerId} holds no live lease on a task of this contract (its lease lapsed, the task was cancelled, or another worker holds it): claim a task first`,
      'CONFLICT',
    );
  }
  return rights;
}

/** Tests only (MAKIMA_TEST_CRASH_FILE = "git:receive-pack"): SIGKILL once a push has handed git part of its pack. */
function crashMidPush(app: AppContext): ((bytes: number) => void) | undefined {
  const file = app.config.testCrashFile;
  if (!file || !fs.existsSync(file) || fs.readFileSync(file, 'utf8').trim() !== 'git:receive-pack') return undefined;
  return (bytes) => {
    if (bytes < 64 * 1024) return;
    fs.rmSync(file, { force: true });
    process.kill(process.pid, 'SIGKILL');
  };
}

function refuse(res: ServerResponse, refusal: GitRefusal): void {
  res.writeHead(refusal.status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache', 'x-makima-error-code': refusal.code, ...refusal.headers });
  res.end(`${refusal.message}\n`);
}

export async function serveGit(app: AppContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = performance.now();
  let route: GitRoute | undefined;
  let viewer: ServiceContext['viewer'] | undefined;
  try {
    route = parseRoute(req.url ?? '/');
    const ctx = await authenticate(app, req);
    viewer = ctx.viewer;
    const contract = await findOwnContract(app.prisma, ctx.viewer, route.contractId).catch((err: unknown) => {
      if (err instanceof MakimaError && err.code === 'NOT_FOUND') throw notFound(`repository not found: no contract ${route!.contractId} of yours`);
      throw err;
    });
    const repositoryPath = gitRepository(contract);
    const push = route.service === 'git-receive-pack' ? await pushAllowed(ctx, req, contract.id) : null;
    const outcome = await serveGitHttp(req, res, {
      repositoryPath,
      pathInfo: route.pathInfo,
      query: route.query,
      push,
      maxPushBytes: app.config.maxPushBytes,
      hooksDir: app.config.gitHooksDir,
      pushRecordDir: app.config.gitPushesDir,
      remoteUser: ctx.viewer.name,
      onRequestBytes: push ? crashMidPush(app) : undefined,
    });
    const level = outcome.status >= 500 ? 'error' : 'info';
    app.logger[level](
      { transport: 'git', service: route.service, path: route.pathInfo, status: outcome.status, requestBytes: outcome.requestBytes, durationMs: Math.round(performance.now() - started), user: { id: viewer.id, name: viewer.name }, workerId: push?.workerId, stderr: outcome.stderr || undefined },
      'git request',
    );
  } catch (err) {
    if (!(err instanceof GitRefusal)) {
      app.logger.error({ err }, 'git request failed');
      if (!res.headersSent) refuse(res, new GitRefusal(500, 'the server could not serve this git request; see its log', 'INTERNAL_SERVER_ERROR'));
      else res.destroy();
      return;
    }
    app.logger.info({ transport: 'git', service: route?.service, status: err.status, code: err.code, reason: err.message, user: viewer && { id: viewer.id, name: viewer.name } }, 'git request refused');
    refuse(res, err);
  }
}

/** The contract's repository; a repository moved away is a 503 saying where it should be. */
function gitRepository(contract: { id: string; repositoryPath: string }): string {
  try {
    return assertRepositoryPresent(contract);
  } catch (err) {
    if (err instanceof MakimaError) throw new GitRefusal(503, err.message, err.code);
    throw err;
  }
}
