// bench:cli — how long a client command takes, as a person or a hook sees it: the wall time of a
// whole `makima` process against a running server, beside the floor (an empty Node process) and a
// peer (a plain `node -e` that sends one GraphQL request with fetch). The goal (docs/design.md §17):
// `makima task list` at most 3× the floor.
//
// Rows: node -e 0 (floor), node -e fetch(…) (peer), makima --help, makima task list, makima
// timeline. Every row runs once per round, in rounds (BENCH_CLI_ROUNDS, default 15), so background
// load weighs on them alike; the figures are medians and p90s. The server is a real embedded one
// (`makima serve --json`, a temporary data directory) with one contract and five tasks.
// BENCH_CLI_BIN runs another makima (e.g. an older checkout's bin/makima.js) for before/after
// figures; BENCH_CLI_OUT (default cli) names bench/results/<name>.json.
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../lib/children.js';
import { describeMachine, machine, median, ms, percentile, printTable, writeResults } from '../lib/report.js';
import { serveRepository } from '../lib/serve.js';
import { timed } from '../lib/wall-time.js';

const ROUNDS = Number(process.env.BENCH_CLI_ROUNDS ?? 15);
const BIN = path.resolve(process.env.BENCH_CLI_BIN ?? path.join(REPO_ROOT, 'bin/makima.js'));
const OUT = process.env.BENCH_CLI_OUT ?? 'cli';

async function main(): Promise<void> {
  const server = await serveRepository(BIN, 'cli');
  try {
    const env = { ...process.env, MAKIMA_URL: server.url, MAKIMA_TOKEN: server.token, NO_COLOR: '1' };
    const makima = (...args: string[]) => [process.execPath, BIN, ...args];
    // By the contract's ID, so that a makima from before short names (BENCH_CLI_BIN) seeds the same way.
    const created = spawnSync(process.execPath, [...makima('contract', 'create', '--name', 'bench', '--repo', server.repo, '--json').slice(1)], { env, encoding: 'utf8' });
    const contractId = (JSON.parse(created.stdout) as { contract: { id: string } }).contract.id;
    for (let i = 1; i <= 5; i += 1) await timed(makima('task', 'create', contractId, '--name', `task ${i}`), env);
    const request = `fetch(${JSON.stringify(server.url)},{method:'POST',headers:{'content-type':'application/json',authorization:'Bearer ${server.token}'},body:JSON.stringify({query:'{ tasks(first: 100) { edges { node { id number name status } } } }'})}).then(r=>r.json())`;
    const rows: [string, string[]][] = [
      ['node -e 0 (floor)', [process.execPath, '-e', '0']],
      ['node -e fetch(…) (peer: one GraphQL request)', [process.execPath, '-e', request]],
      ['makima --help', makima('--help')],
      ['makima task list', makima('task', 'list')],
      ['makima timeline', makima('timeline')],
    ];
    for (const [, command] of rows) await timed(command, env); // warm the file cache and the compile cache
    const samples = new Map<string, number[]>(rows.map(([name]) => [name, []]));
    const load = [os.loadavg()[0]];
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const [name, command] of rows) samples.get(name)!.push(await timed(command, env));
    }
    load.push(os.loadavg()[0]);
    const floor = median(samples.get(rows[0][0])!);
    const results = rows.map(([name]) => {
      const s = samples.get(name)!;
      return { name, medianMs: Math.round(median(s) * 10) / 10, p90Ms: Math.round(percentile(s, 90) * 10) / 10, timesFloor: Math.round((median(s) / floor) * 100) / 100 };
    });
    const m = machine();
    printTable({
      title: `bench:cli — wall time of one process, ${ROUNDS} rounds, ${describeMachine(m)}; load average ${load.map((l) => l.toFixed(1)).join(' → ')}`,
      head: ['command', 'median', 'p90', '× floor'],
      rows: results.map((r) => [r.name, ms(r.medianMs), ms(r.p90Ms), r.timesFloor.toFixed(2)]),
    });
    const goal = results.find((r) => r.name === 'makima task list')!;
    console.log(`goal: makima task list ≤ 3× the floor — ${goal.timesFloor <= 3 ? 'met' : 'NOT met'} (${goal.timesFloor.toFixed(2)}×)`);
    console.log(`wrote ${writeResults(OUT, { machine: m, node: process.version, bin: path.relative(REPO_ROOT, BIN), rounds: ROUNDS, loadAverage: load, rows: results })}`);
  } finally {
    await server.stop();
  }
}

main().catch((err: unknown) => {
  console.error('bench:cli failed:', err);
  process.exit(1);
});
