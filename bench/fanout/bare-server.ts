// The fan-out floor: a bare graphql-ws server (graphql-ws + ws + an in-memory pub/sub, no database,
// no auth lookup) whose Subscription.timeline publishes exactly what is POSTed to /publish, to the
// subscribers of each event's owner (the connection's bearer token names the owner). It prints one
// JSON ready line like the other bench servers. Run: node --import tsx bench/fanout/bare-server.ts
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { JSONResolver } from 'graphql-scalars';
import { useServer } from 'graphql-ws/use/ws';
import { createPubSub, createSchema } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import type { PublishedEvent } from './payload.js';

const pubSub = createPubSub<{ timeline: [ownerId: string, event: PublishedEvent['event']] }>();

const schema = createSchema<{ ownerId: string }>({
  typeDefs: /* GraphQL */ `
    scalar JSON
    enum HistoryEventType {
      TASK
      CHAT
      CHECKPOINT
      PHASE
      FILE
    }
    enum ContractPhase {
      RESEARCH
      SPECIFY
      PLAN
      EXECUTE
      REVIEW
      DONE
    }
    type HistoryEvent {
      id: ID!
      seq: String!
      eventType: HistoryEventType!
      eventSubtype: String
      phase: ContractPhase
      data: JSON!
      createdAt: String!
    }
    type Query {
      ok: Boolean!
    }
    type Subscription {
      timeline: HistoryEvent!
    }
  `,
  resolvers: {
    JSON: JSONResolver,
    Query: { ok: () => true },
    Subscription: {
      timeline: {
        subscribe: (_root: unknown, _args: unknown, ctx: { ownerId: string }) => pubSub.subscribe('timeline', ctx.ownerId),
        resolve: (event: PublishedEvent['event']) => event,
      },
    },
  },
});

function ownerOf(params: Record<string, unknown> | undefined): string | null {
  const match = /^Bearer\s+(\S+)$/.exec(String(params?.authorization ?? ''));
  return match ? match[1] : null;
}

const server = http.createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/publish') {
    res.writeHead(404).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    for (const { ownerId, event } of JSON.parse(Buffer.concat(chunks).toString()) as PublishedEvent[]) pubSub.publish('timeline', ownerId, event);
    res.writeHead(204).end();
  });
});
// The writer's keep-alive connection may idle through a long connect phase (10,000 subscribers):
// closed at Node's default 5 s, its reuse by the next publish races the close ("fetch failed").
server.keepAliveTimeout = 600_000;
const wss = new WebSocketServer({ server, path: '/graphql' });
useServer(
  {
    schema,
    onConnect: (ctx) => ownerOf(ctx.connectionParams) !== null,
    context: (ctx) => ({ ownerId: ownerOf(ctx.connectionParams)! }),
  },
  wss,
);
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(
    JSON.stringify({
      ready: true,
      url: `http://127.0.0.1:${port}/publish`,
      wsUrl: `ws://127.0.0.1:${port}/graphql`,
      node: process.version,
      server: 'bare graphql-ws',
    }),
  );
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => process.exit(0));
