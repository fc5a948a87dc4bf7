// GraphiQL served by makima itself, so that it works without internet access: Ruru's prebuilt
// GraphiQL distribution, taken out of the `ruru` package at build time into web/dist/graphiql/
// (scripts/build-graphiql.mjs), so that a production install carries neither ruru nor the GraphiQL,
// Monaco and React packages behind it (docs/design.md §2). It talks to /graphql over HTTP and to
// the same path over graphql-ws for subscriptions.
//
// The page brings its own fetcher (FETCHER_SCRIPT) instead of Ruru's: Ruru's graphql-ws client
// retries a socket the server refused (4403: no valid token in connection_init) five times with
// backoff, so a subscription with a bad token spun for most of a minute before any word of it.
// Ours does not retry a refusal and says what to fix; everything else is as Ruru's fetcher does it.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { Logger } from 'pino';

export const GRAPHIQL_STATIC_PATH = '/graphiql-static/';

/** graphql-ws's browser build (the same package the server uses), served next to GraphiQL's files. */
const GRAPHQL_WS_CLIENT = 'makima-graphql-ws.min.js';
const graphqlWsClient = (() => {
  let code: Buffer | undefined;
  // The package does not export its umd/ folder; it sits beside dist/, where its main entry is.
  const file = () => path.join(path.dirname(createRequire(import.meta.url).resolve('graphql-ws')), '..', 'umd', 'graphql-ws.min.js');
  return () => (code ??= fs.readFileSync(file()));
})();

/**
 * The browser side: a GraphiQL fetcher. Queries and mutations are POSTed as JSON; a subscription
 * runs over graphql-ws with the Headers tab as connection_init payload, on a client of its own
 * that is disposed when the subscription ends. A close the server means as a refusal (4401, 4403)
 * is not retried: it ends the subscription at once with a message saying what to do.
 */
const FETCHER_SCRIPT = String.raw`
RURU_CONFIG.fetcher = (function (graphqlPath) {
  const REFUSED = { 4401: 'Unauthorized', 4403: 'Forbidden' };
  const wsUrl = location.origin.replace(/^http/, 'ws') + graphqlPath;
  const isClose = (e) => e !== null && typeof e === 'object' && 'code' in e && 'reason' in e;
  // A plain { message }, as Ruru reports a lost socket: GraphiQL shows it without a stack.
  const explain = (e) => {
    if (!isClose(e)) return { message: String((e && e.message) || e) };
    if (REFUSED[e.code]) {
      return { message: 'The server refused the subscription socket (' + e.code + ' ' + (e.reason || REFUSED[e.code]) + '): ' +
        'the token is missing or not valid. Put {"Authorization": "Bearer <token>"} in the Headers tab and run it again.' };
    }
    return { message: 'The subscription socket closed (' + e.code + (e.reason ? ' ' + e.reason : '') + ')' };
  };
  const isSubscription = (params, documentAST) => {
    const operations = ((documentAST && documentAST.definitions) || []).filter((d) => d.kind === 'OperationDefinition');
    const operation = params.operationName ? operations.find((o) => o.name && o.name.value === params.operationName) : operations[0];
    return Boolean(operation && operation.operation === 'subscription');
  };
  /** An async iterator over one subscription: results are queued until GraphiQL asks for them. */
  const subscribe = (params, headers) => {
    const client = graphqlWs.createClient({
      url: wsUrl,
      connectionParams: headers,
      shouldRetry: (e) => isClose(e) && !REFUSED[e.code],
    });
    const queue = [];
    let waiting = null;
    let finished = null;
    const push = (item) => {
      if (waiting) { const w = waiting; waiting = null; item.error ? w.reject(item.error) : w.resolve(item.done ? { done: true, value: undefined } : { done: false, value: item.value }); }
      else queue.push(item);
    };
    const end = (item) => { if (finished) return; finished = item; push(item); client.dispose(); };
    const unsubscribe = client.subscribe(params, {
      next: (value) => push({ value }),
      error: (e) => end({ error: explain(e) }),
      complete: () => end({ done: true }),
    });
    return {
      next() {
        if (queue.length) { const item = queue.shift(); return item.error ? Promise.reject(item.error) : Promise.resolve(item.done ? { done: true, value: undefined } : { done: false, value: item.value }); }
        if (finished) return Promise.resolve({ done: true, value: undefined });
        return new Promise((resolve, reject) => { waiting = { resolve, reject }; });
      },
      return() { unsubscribe(); end({ done: true }); return Promise.resolve({ done: true, value: undefined }); },
      [Symbol.asyncIterator]() { return this; },
    };
  };
  return (params, options) => {
    const headers = Object.assign({}, options && options.headers);
    if (isSubscription(params, options && options.documentAST)) return subscribe(params, headers);
    return fetch(location.origin + graphqlPath, {
      method: 'POST',
      headers: Object.assign({ 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' }, headers),
      body: JSON.stringify(params),
    }).then((res) => res.json());
  };
})`;

const DEFAULT_QUERY = '# Add your token under Headers: {"Authorization": "Bearer <token>"}\n{ viewer { id name } }\n';

/** web/dist/graphiql, next to src/ and dist/ (this module runs from either). */
const GRAPHIQL_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'web', 'dist', 'graphiql');

/** What scripts/build-graphiql.mjs wrote: Ruru's files (name → etag), and the page's placeholders. */
interface Built {
  staticPath: string;
  placeholders: { endpoint: string; defaultQuery: string; configScript: string };
  files: Record<string, string>;
  page: string;
}

/** Thrown when web/dist/graphiql was never built: the server answers 503 with this sentence. */
class NotBuiltError extends Error {}

let built: Built | undefined;
function graphiqlFiles(): Built {
  if (built) return built;
  try {
    const manifest = JSON.parse(fs.readFileSync(path.join(GRAPHIQL_DIST, 'manifest.json'), 'utf8')) as Omit<Built, 'page'>;
    built = { ...manifest, page: fs.readFileSync(path.join(GRAPHIQL_DIST, 'page.html'), 'utf8') };
  } catch (err) {
    throw new NotBuiltError(`GraphiQL's files are not built (${(err as NodeJS.ErrnoException).code ?? (err as Error).message} in web/dist/graphiql): run \`npm run build\``);
  }
  if (built.staticPath !== GRAPHIQL_STATIC_PATH) throw new NotBuiltError(`web/dist/graphiql was built for ${built.staticPath}, not ${GRAPHIQL_STATIC_PATH}: run \`npm run build\``);
  return built;
}

/** A JSON value as it may stand inside a <script> (the escapes Ruru's page uses for its own config). */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replaceAll('<!--', '<\\!--').replaceAll('</script', '<\\/script').replaceAll('<script', '<\\script');
}

/** The GraphiQL page for the API at `graphqlPath` (the subscription URL is derived from the page's own origin). */
export function graphiqlPage(graphqlPath: string): string {
  let files: Built;
  try {
    files = graphiqlFiles();
  } catch (err) {
    if (!(err instanceof NotBuiltError)) throw err;
    // yoga sends whatever this returns as the page: say what is missing rather than fail without a word.
    return `<!doctype html>\n<meta charset="utf-8">\n<title>makima · GraphiQL</title>\n<p>${err.message.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!)}</p>\n`;
  }
  const { page, placeholders } = files;
  // graphql-ws on the same host and path as the page: ws:// or wss:// to match http(s)://.
  const configScript = `<script src="${GRAPHIQL_STATIC_PATH}${GRAPHQL_WS_CLIENT}"></script>\n<script>${FETCHER_SCRIPT}(${scriptJson(graphqlPath)});</script>`;
  // Each placeholder is a whole JSON string in the page ("…"), or an HTML comment: replaced exactly once, by a function (no $-patterns).
  return page
    .replace(JSON.stringify(placeholders.endpoint), () => scriptJson(graphqlPath))
    .replace(JSON.stringify(placeholders.defaultQuery), () => scriptJson(DEFAULT_QUERY))
    .replace(placeholders.configScript, () => configScript);
}

const MIME_TYPES: Record<string, string> = {
  txt: 'text/plain; charset=utf-8',
  ts: 'text/plain; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  ttf: 'font/ttf',
  map: 'application/json',
  css: 'text/css; charset=utf-8',
};
const brotliDecompress = promisify(zlib.brotliDecompress);

/** One of Ruru's files as a response: brotli as stored when the client takes it, else decompressed (as Ruru's getStaticFile does). */
async function staticFile(urlPath: string, acceptEncoding: string | undefined): Promise<{ content: Buffer; headers: Record<string, string> } | null> {
  const { files } = graphiqlFiles();
  const name = urlPath.slice(GRAPHIQL_STATIC_PATH.length).split('?')[0];
  if (!Object.hasOwn(files, name) || name.endsWith('.map')) return null;
  const type = MIME_TYPES[name.slice(name.lastIndexOf('.') + 1)];
  if (!type) return null;
  const stored = await fs.promises.readFile(path.join(GRAPHIQL_DIST, 'files', `${name}.br`));
  const headers: Record<string, string> = { 'content-type': type, etag: files[name], vary: 'accept-encoding' };
  if (/\bbr\b/i.test(acceptEncoding ?? '')) return { content: stored, headers: { ...headers, 'content-encoding': 'br', 'content-length': String(stored.length) } };
  const content = await brotliDecompress(stored);
  return { content, headers: { ...headers, 'content-length': String(content.length) } };
}

/** Serves one of GraphiQL's static files (a request under GRAPHIQL_STATIC_PATH). */
export async function serveGraphiqlAsset(req: http.IncomingMessage, res: http.ServerResponse, logger: Logger): Promise<void> {
  try {
    if (req.url === `${GRAPHIQL_STATIC_PATH}${GRAPHQL_WS_CLIENT}`) {
      const code = graphqlWsClient();
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=86400' });
      return void res.end(code);
    }
    const file = await staticFile(req.url ?? '', req.headers['accept-encoding']);
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      return void res.end('not found');
    }
    res.writeHead(200, { ...file.headers, 'cache-control': 'public, max-age=86400' });
    res.end(file.content);
  } catch (err) {
    if (err instanceof NotBuiltError) {
      logger.error({ err }, 'GraphiQL is not built');
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
      return void res.end(`${err.message}\n`);
    }
    logger.error({ err }, 'serving a GraphiQL file failed');
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end('internal error');
  }
}
