// CPU profiles of a benchmark's server children: the child starts the V8 sampling profiler once it
// is ready (so start-up is not in it) when BENCH_PROFILE_FILE is set, and writes the profile there
// when it is stopped; `profileBuckets` sums a profile's self time by where the code comes from
// (a package, Node itself, makima's own folders, the garbage collector), for docs/benchmarks.md.
import fs from 'node:fs';
import path from 'node:path';
import { Session } from 'node:inspector/promises';

/** Starts the profiler when `file` is given; the returned function writes the profile to it. */
export async function startProfiling(file: string | undefined): Promise<() => Promise<void>> {
  if (!file) return async () => undefined;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    // BENCH_PROFILE names a directory that need not exist yet.
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

export interface Bucket {
  bucket: string;
  /** Share of the busy (non-idle) samples, in percent. */
  percent: number;
}

function bucketOf(functionName: string, url: string): string | null {
  if (functionName === '(idle)') return null;
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(program)') return 'V8/native (program)';
  if (!url) return `native: ${functionName || '(anonymous)'}`;
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + 'node_modules/'.length).split('/');
    const pkg = parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
    if (pkg === 'graphql') return `graphql (${parts.includes('execution') ? 'execution' : parts.includes('jsutils') ? 'jsutils' : parts[parts.length - 2] ?? ''})`;
    return pkg;
  }
  if (url.startsWith('node:')) {
    const mod = url.slice(5).replace(/^internal\//, '').split('/')[0];
    return `node: ${mod}`;
  }
  const src = url.indexOf('/src/');
  if (src >= 0) {
    const rest = url.slice(src + 5).split('/');
    return `makima src/${rest.length > 1 ? rest.slice(0, rest[0] === 'modules' ? 2 : 1).join('/') : rest[0]}`;
  }
  return url.split('/').slice(-2).join('/');
}

/** Self time per bucket, as a share of busy time, largest first (those above `minPercent`). */
export function profileBuckets(file: string, minPercent = 1): Bucket[] {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const time = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    if (!node) return;
    const bucket = bucketOf(node.callFrame.functionName, node.callFrame.url);
    if (bucket === null) return;
    const dt = profile.timeDeltas[i] ?? 0;
    busy += dt;
    time.set(bucket, (time.get(bucket) ?? 0) + dt);
  });
  return [...time.entries()]
    .map(([bucket, t]) => ({ bucket, percent: busy ? (100 * t) / busy : 0 }))
    .filter((b) => b.percent >= minPercent)
    .sort((a, b) => b.percent - a.percent)
    .map((b) => ({ bucket: b.bucket, percent: Number(b.percent.toFixed(1)) }));
}
