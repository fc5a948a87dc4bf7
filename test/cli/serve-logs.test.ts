// `makima serve`'s request logs are written asynchronously, in buffers, and still none is lost:
// a clean stop (SIGTERM, SIGINT) and a fatal signal (SIGHUP) both write what is buffered before the process
// ends (docs/operations.md, "Running in production", request logs).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, tempDir, TEST_DATABASE_URL } from '../harness.js';
import { spawnMakima, type Spawned } from './run.js';

const REQUESTS = 200;

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A `makima serve --json` with request logs on, on the engine under test; its URL. */
async function serveWithLogs(): Promise<{ server: Spawned; url: string }> {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'repos'));
  const env: Record<string, string> = { MAKIMA_DATA_DIR: path.join(dir, 'data'), MAKIMA_REPOS_ROOT: path.join(dir, 'repos'), PORT: '0', MAKIMA_LOG_LEVEL: 'info' };
  if (TEST_DATABASE_URL) {
    const postgres = await createPostgresDatabase();
    env.DATABASE_URL = postgres.url;
    cleanups.push(() => postgres.drop());
  }
  const server = spawnMakima(['serve', '--json'], env);
  cleanups.push(async () => {
    await server.stop('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const ready = await server.waitFor(/^\{"url":"([^"]+)"/m);
  return { server, url: ready[1] };
}

/**
 * REQUESTS named operations (no token: each is refused, and logged with its name), one after the
 * other: the lines of the last ones are then still in the buffer when the signal comes.
 */
async function sendNamedRequests(url: string): Promise<void> {
  for (let i = 0; i < REQUESTS; i++) {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: `query Op${i} { __typename }` }) });
    await res.arrayBuffer();
  }
}

/** The operation numbers whose request line is missing from the output, or that appear more than once. */
function missingOrRepeated(output: string): number[] {
  const seen = new Map<number, number>();
  for (const match of output.matchAll(/"operationName":"Op(\d+)"/g)) seen.set(Number(match[1]), (seen.get(Number(match[1])) ?? 0) + 1);
  return Array.from({ length: REQUESTS }, (_, i) => i).filter((i) => seen.get(i) !== 1);
}

describe('makima serve request logs', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(`writes the line of every one of ${REQUESTS} requests before a %s stop ends the process`, async (signal) => {
    const { server, url } = await serveWithLogs();
    await sendNamedRequests(url);
    expect(await server.stop(signal)).toBe(0);
    expect(missingOrRepeated(server.output())).toEqual([]);
    expect(server.output().match(/"msg":"makima stopped"/g)).toHaveLength(1);
  });

  it('writes the buffered lines before a SIGHUP kills the process, which still dies of that signal', async () => {
    const { server, url } = await serveWithLogs();
    await sendNamedRequests(url);
    await server.stop('SIGHUP');
    expect(server.child.signalCode).toBe('SIGHUP');
    expect(missingOrRepeated(server.output())).toEqual([]);
  });
});
