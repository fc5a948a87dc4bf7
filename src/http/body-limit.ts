// The request body's size limit (MAKIMA_MAX_BODY_BYTES) for GraphQL over HTTP. A request that
// says its length (Content-Length) is refused by server.ts before it gets here when that is too
// much, and Node's HTTP parser reads no more than that length as its body, so it needs nothing
// more. Only a body sent in chunks, without a length, is counted as it is read, and refused (413,
// BAD_USER_INPUT) at the first chunk past the limit. graphql-yoga's own limit is turned off
// (yoga.ts): it copies every request into a counting stream, length or not — a transform stream,
// a pipeline and a new Request for each one.
import { createGraphQLError, type Plugin } from 'graphql-yoga';

function tooLarge(limit: number) {
  return createGraphQLError(`request body is larger than ${limit} bytes`, { extensions: { http: { status: 413 }, code: 'BAD_USER_INPUT' } });
}

export function bodyLimitPlugin(limit: number): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      if (request.headers.get('content-length') !== null || requestParser == null || request.body == null) return;
      const parse = requestParser;
      setRequestParser((req) => {
        const body = req.body;
        if (!body) return parse(req);
        // A native stream cannot be piped into the ponyfill's TransformStream (as yoga does it).
        const Transform = body instanceof ReadableStream ? globalThis.TransformStream : fetchAPI.TransformStream;
        let read = 0;
        const counted = body.pipeThrough(
          new Transform<Uint8Array, Uint8Array>({
            transform(chunk, controller) {
              read += chunk.byteLength;
              if (read > limit) return controller.error(tooLarge(limit));
              controller.enqueue(chunk);
            },
          }),
        );
        return parse(new fetchAPI.Request(req.url, { method: req.method, headers: req.headers, signal: req.signal, body: counted, duplex: 'half' } as RequestInit));
      });
    },
  };
}
