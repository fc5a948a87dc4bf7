// GraphiQL served by makima itself, so that it works without internet access: Ruru's prebuilt
// GraphiQL distribution (static files from its package), talking to /graphql over HTTP and to the
// same path over graphql-ws for subscriptions.
import type http from 'node:http';
import type { Logger } from 'pino';
import { getStaticFile } from 'ruru/static';
import { ruruHTML } from 'ruru/server';

export const GRAPHIQL_STATIC_PATH = '/graphiql-static/';

const DEFAULT_QUERY = '# Add your token under Headers: {"Authorization": "Bearer <token>"}\n{ viewer { id name } }\n';

/** The GraphiQL page for the API at `graphqlPath` (the subscription URL is derived from the page's own origin). */
export function graphiqlPage(graphqlPath: string): string {
  return ruruHTML({
    staticPath: GRAPHIQL_STATIC_PATH,
    endpoint: graphqlPath,
    clientConfig: { defaultQuery: DEFAULT_QUERY, isHeadersEditorEnabled: true },
    htmlParts: {
      titleTag: '<title>makima · GraphiQL</title>',
      // graphql-ws on the same host and path as the page: ws:// or wss:// to match http(s)://.
      configScript: (original) =>
        `${original}\n<script>RURU_CONFIG.subscriptionEndpoint = location.origin.replace(/^http/, 'ws') + ${JSON.stringify(graphqlPath)};</script>`,
    },
  });
}

/** Serves one of GraphiQL's static files (a request under GRAPHIQL_STATIC_PATH). */
export async function serveGraphiqlAsset(req: http.IncomingMessage, res: http.ServerResponse, logger: Logger): Promise<void> {
  try {
    const file = await getStaticFile({ staticPath: GRAPHIQL_STATIC_PATH, urlPath: req.url ?? '', acceptEncoding: req.headers['accept-encoding'], disallowDevAssets: true });
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      return void res.end('not found');
    }
    res.writeHead(200, { ...file.headers, 'cache-control': 'public, max-age=86400' });
    res.end(file.content);
  } catch (err) {
    logger.error({ err }, 'serving a GraphiQL file failed');
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end('internal error');
  }
}
