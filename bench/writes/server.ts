// makima as a child process of bench:writes: like bench/servers/makima.ts, but also on embedded
// PGlite (MAKIMA_DATA_DIR, no DATABASE_URL). Serves on a free port and prints one JSON ready line
// with its URL, the Node version and the engine; SIGTERM stops it cleanly. With BENCH_SERVER_LOG, its
// log (errors only, as JSON lines) goes to that file, for the benchmark to report why writes failed;
// with BENCH_PROFILE_FILE, its CPU profile goes to that file when it stops.
import pino from 'pino';
import { loadConfig } from '../../src/config.js';
import { createLogger, startServer } from '../../src/server.js';
import { startProfiling } from '../lib/profile.js';

const config = loadConfig({ MAKIMA_MAX_CONNECTIONS_PER_CLIENT: '0', ...process.env, PORT: '0', HOST: '127.0.0.1', MAKIMA_LOG_LEVEL: process.env.MAKIMA_LOG_LEVEL ?? 'error' });
if (!config.databaseUrl && !process.env.MAKIMA_DATA_DIR) {
  throw new Error('bench/writes/server.ts needs DATABASE_URL (a benchmark database) or MAKIMA_DATA_DIR (a seeded PGlite directory)');
}
const logFile = process.env.BENCH_SERVER_LOG;
const logger = logFile ? pino({ level: 'error', base: undefined }, pino.destination({ dest: logFile, sync: true })) : createLogger(config);
const server = await startServer({ config, logger });
// BENCH_PROFILE_FILE: a CPU profile from the ready line to the stop (bench/lib/profile.ts).
const writeProfile = await startProfiling(process.env.BENCH_PROFILE_FILE);
console.log(JSON.stringify({ ready: true, url: server.url, node: process.version, server: 'makima', engine: config.databaseUrl ? 'postgres' : 'pglite' }));

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void writeProfile()
      .then(() => server.stop())
      .finally(() => process.exit(0));
  });
}
