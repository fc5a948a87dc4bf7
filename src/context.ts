// What every resolver and service receives: the server's shared parts and, per request, the viewer.
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Database } from './db/database.js';
import type { PrismaClient } from './generated/prisma/client.js';

export interface Viewer {
  id: string;
  name: string;
}

/** Built once per server. */
export interface AppContext {
  config: Config;
  db: Database;
  prisma: PrismaClient;
  logger: Logger;
}

/** Built per request (HTTP) or per socket (graphql-ws). */
export interface Context extends AppContext {
  viewer: Viewer | null;
}
