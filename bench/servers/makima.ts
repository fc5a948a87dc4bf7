// makima as a benchmark child process: serves DATABASE_URL on a free port and prints one JSON
// ready line with its URL and the Node version it runs on. Run it on any Node with
// `node --import tsx bench/servers/makima.ts`; SIGTERM stops it cleanly. With BENCH_PROFILE_FILE
// set, it profiles its CPU from the ready line to the stop and writes the profile there.
//
// Its settings are the environment's (bench/timeline/main.ts passes production's: request logs at
// `info`, /metrics, rate limiting); nothing is turned off here.
import { loadConfig } from '../../src/config.js';
import { startServer } from '../../src/server.js';
import { startProfiling } from '../lib/profile.js';

const config = loadConfig({
  MAKIMA_MAX_CONNECTIONS_PER_CLIENT: '0',
  ...process.env,
  PORT: '0',
  HOST: '127.0.0.1',
});
if (!config.databaseUrl) throw new Error('bench/servers/makima.ts needs DATABASE_URL (a benchmark database)');
const server = await startServer({ config });
const writeProfile = await startProfiling(process.env.BENCH_PROFILE_FILE);
console.log(JSON.stringify({ ready: true, url: server.url, wsUrl: server.wsUrl, node: process.version, server: 'makima', logLevel: config.logLevel, metrics: config.metrics, rateLimit: config.rateLimit }));

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void writeProfile()
      .then(() => server.stop())
      .finally(() => process.exit(0));
  });
}
