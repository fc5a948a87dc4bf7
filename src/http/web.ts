// The timeline view, served by makima itself at `/`: the page built from web/src into web/dist
// (scripts/build-web.mjs; `npm run build` and `npm start` keep it current). The page talks to the
// server only through the public GraphQL API at /graphql, over HTTP and graphql-ws.
import fs from 'node:fs/promises';
import type http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';

/** web/dist, next to src/ and dist/ (this module runs from either). */
const WEB_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'web', 'dist');

/** The page's files by URL path; nothing else is served from web/dist. */
const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/web/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/web/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

// Only this origin: no CDN, no external font, no inline script; sockets to the same host.
const CSP = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'";

/** Whether `req` asks for one of the timeline view's files (a GET or HEAD of a path in FILES). */
export function isWebRequest(req: http.IncomingMessage): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const pathname = (req.url ?? '').split('?')[0];
  return Object.hasOwn(FILES, pathname);
}

/** Serves one of the timeline view's files; a 503 that says how to build it when it was never built. */
export async function serveWeb(req: http.IncomingMessage, res: http.ServerResponse, logger: Logger): Promise<void> {
  const { file, type } = FILES[(req.url ?? '').split('?')[0]];
  let content: Buffer;
  try {
    content = await fs.readFile(path.join(WEB_DIST, file));
  } catch (err) {
    logger.error({ err }, 'the timeline view is not built');
    res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
    return void res.end('The timeline view is not built: run `npm run build` (GraphiQL is at /graphql).\n');
  }
  res.writeHead(200, {
    'content-type': type,
    'content-length': content.length,
    'cache-control': 'no-cache',
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
  });
  res.end(req.method === 'HEAD' ? undefined : content);
}
