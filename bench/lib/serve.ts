// A real `makima serve --json` as a benchmark child (embedded database in a temporary data
// directory), and the one GraphQL request a benchmark driver sends to it.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Serve {
  url: string;
  token: string;
  stop(): Promise<void>;
}

/** Starts `node <bin> serve --json` with its data under `dataDir` and its repositories under `reposRoot`. */
export async function startServe(bin: string, dataDir: string, reposRoot: string, env: Record<string, string> = {}): Promise<Serve> {
  const child = spawn(process.execPath, [bin, 'serve', '--json'], {
    env: { ...process.env, MAKIMA_DATA_DIR: dataDir, MAKIMA_REPOS_ROOT: reposRoot, PORT: '0', MAKIMA_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const first = out.split('\n').find((l) => l.startsWith('{'));
      if (first) resolve(first);
    });
    child.once('exit', (code) => reject(new Error(`makima serve (${path.basename(bin)}) exited (${code}) before serving`)));
  });
  const { url, localToken } = JSON.parse(line) as { url: string; localToken: string };
  return {
    url,
    token: localToken,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGINT');
      }),
  };
}

/** A served makima with everything in one temporary directory, `dir`, that stop() removes. */
export interface ServedRepository extends Serve {
  dir: string;
  /** The one repository under the server's repositories root, committed. */
  repo: string;
}

/** Starts `node <bin> serve --json` in a new temporary directory, beside a repository `app` committed with `files`. */
export async function serveRepository(bin: string, name: string, files: Record<string, string> = {}): Promise<ServedRepository> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `makima-bench-${name}-`));
  const repos = path.join(dir, 'repos');
  const repo = path.join(repos, 'app');
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(repo, file)), { recursive: true });
    fs.writeFileSync(path.join(repo, file), content);
  }
  fs.mkdirSync(repo, { recursive: true });
  const git = (...args: string[]) => spawnSync('git', args, { cwd: repo, stdio: 'ignore' });
  git('init', '-q', '--initial-branch=main');
  git('add', '-A');
  git('-c', 'user.name=bench', '-c', 'user.email=bench@example.com', 'commit', '-q', '--allow-empty', '-m', 'init');
  const server = await startServe(bin, path.join(dir, 'data'), repos).catch((err: unknown) => {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  return {
    ...server,
    dir,
    repo,
    async stop() {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One GraphQL request; a response with errors throws them. */
export async function gql<T>(server: Serve, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: { message: string }[] };
  if (body.errors?.length || !body.data) throw new Error(`GraphQL: ${body.errors?.map((e) => e.message).join('; ') ?? res.status}`);
  return body.data;
}
