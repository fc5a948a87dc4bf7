// The writes each server makes per response, counted by strace (Linux, root or ptrace allowed):
// PostGraphile 5 and makima (production settings) on Node 22, the newest-50 read, 300 requests one
// after the other on a small generated history. Prints, per file descriptor, write/writev calls and
// bytes per response: the client's socket, the database's, stderr (makima's request logs).
// `node --import tsx bench/timeline/syscalls.ts`
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { NODE22, spawnServer } from '../lib/children.js';
import { createBenchDatabase } from '../lib/postgres.js';
import { DEFAULT_SHAPE, generateHistory } from './generate.js';
import { MAKIMA_TIMELINE, makimaVariables, POSTGRAPHILE_TIMELINE, postgraphileVariables } from './reads.js';

const db = await createBenchDatabase('syscalls');
const history = await generateHistory(db.url, { ...DEFAULT_SHAPE, historyEvents: 50_000, taskEvents: 10_000 });
const viewer = history.users[0];
const env = { DATABASE_URL: db.url };
const servers = [
  { s: await spawnServer({ label: 'PostGraphile 5', node: NODE22, args: ['bench/peer/postgraphile.mjs'], env }), body: JSON.stringify({ query: POSTGRAPHILE_TIMELINE, variables: postgraphileVariables({ name: 'n', ownerId: viewer.id }) }), headers: {} as Record<string, string> },
  { s: await spawnServer({ label: 'makima', node: NODE22, args: ['--import', 'tsx', 'bench/servers/makima.ts'], env: { ...env, MAKIMA_LOG_LEVEL: 'info', MAKIMA_RATE_LIMIT: '100000000' } }), body: JSON.stringify({ query: MAKIMA_TIMELINE, variables: makimaVariables({ name: 'n', ownerId: viewer.id }) }), headers: { authorization: `Bearer ${viewer.token}` } },
];
const N = 300;
for (const { s, body, headers } of servers) {
  const send = async () => { const r = await fetch(s.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body }); return (await r.arrayBuffer()).byteLength; };
  for (let i = 0; i < 50; i++) await send();
  const out = `${fs.mkdtempSync('/tmp/makima-syscalls-')}/${s.label}.txt`;
  const st = spawn('strace', ['-f', '-e', 'trace=write,writev,sendto,sendmsg', '-o', out, '-p', String(s.pid)], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 1000));
  let bytes = 0;
  for (let i = 0; i < N; i++) bytes = await send();
  await new Promise((r) => setTimeout(r, 1500));
  st.kill('SIGINT');
  await new Promise((r) => st.once('exit', r));
  const lines = fs.readFileSync(out, 'utf8').split('\n').filter((l) => /(write|writev|sendto|sendmsg)\(/.test(l));
  const byFd = new Map<string, { calls: number; bytes: number }>();
  for (const l of lines) {
    const m = /(\w+)\((\d+),.*= (\d+)$/.exec(l.replace(/^\d+\s+/, ''));
    if (!m) continue;
    const k = `${m[1]} fd ${m[2]}`;
    const e = byFd.get(k) ?? { calls: 0, bytes: 0 };
    e.calls++; e.bytes += Number(m[3]);
    byFd.set(k, e);
  }
  console.log(`${s.label}: response body ${bytes} B; per response over ${N}:`, [...byFd].map(([k, v]) => `${k}: ${(v.calls / N).toFixed(2)} calls, ${Math.round(v.bytes / N)} B`).join('; '));
}
await Promise.all(servers.map((x) => x.s.stop()));
await db.drop();
process.exit(0);
