// CORS (MAKIMA_CORS_ORIGINS). graphql-yoga's default reflects any Origin and allows credentials,
// which would let any web page a logged-in browser visits call the API. Here: no CORS headers at
// all unless origins are configured (GraphiQL is served from the API's own origin and needs none);
// a configured origin gets them, and credentials are never allowed (a token is a header, not a cookie).
import type { YogaServerOptions } from 'graphql-yoga';

type CorsOption = YogaServerOptions<Record<string, unknown>, Record<string, unknown>>['cors'];

export function corsOptions(origins: string[]): CorsOption {
  if (origins.length === 0) return false;
  const any = origins.includes('*');
  return (request: Request) => {
    const origin = request.headers.get('origin');
    if (!origin || (!any && !origins.includes(origin))) return false;
    return {
      origin: any ? '*' : [origin],
      credentials: false,
      methods: ['GET', 'POST', 'OPTIONS'],
      allowedHeaders: ['authorization', 'content-type', 'accept'],
      maxAge: 600,
    };
  };
}
