// Replays the Dockerfile without a Docker engine (none runs in CI): each stage gets an empty
// directory as its filesystem root, COPY copies exactly what it names (from the repository, minus
// .dockerignore, or from an earlier stage), RUN runs its command there, and the last stage's
// ENTRYPOINT + CMD is started with its ENV; then `/`, `/graphql` and the HEALTHCHECK must answer.
//
// What is not replayed, said where it happens and in docs/testing.md: the base image (the
// host's node and npm stand in for node:20-bookworm-slim), `apt-get` (the replay checks that the
// packages' commands are on the host instead), `chown`/`USER` (no `node` user here), and absolute
// paths, which are mapped into the stage's root. npm ci installs from npm's cache when it is warm.
//
// Usage: node scripts/replay-dockerfile.mjs [--keep]   (CI runs it once, from .ci/run)
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The Dockerfile's stages and their instructions: `{ name, from, instructions: [{ op, args, flags,
 * line }] }`. Continuation lines are joined, comments and parser directives dropped; `args` is the
 * JSON array of an exec-form instruction, else the words after the `--flags`.
 */
export function parseDockerfile(text) {
  const stages = [];
  const logical = [];
  let pending = '';
  let startLine = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) return;
    if (pending !== '' && line.startsWith('#')) return; // a comment inside a continued instruction
    if (pending === '') startLine = i + 1;
    if (line.endsWith('\\')) pending += `${line.slice(0, -1).trim()} `;
    else {
      logical.push({ text: pending + line, line: startLine });
      pending = '';
    }
  });
  for (const { text: instruction, line } of logical) {
    const [, word, rest = ''] = /^(\S+)\s*([\s\S]*)$/.exec(instruction);
    const op = word.toUpperCase();
    const flags = {};
    let body = rest;
    for (let m; (m = /^--([a-z-]+)(?:=(\S+))?\s+/.exec(body)); body = body.slice(m[0].length)) flags[m[1]] = m[2] ?? true;
    const words = (text) => (text.startsWith('[') ? JSON.parse(text) : text.split(/\s+/).filter(Boolean));
    // HEALTHCHECK [--flags] CMD <command>: its command may be in exec form too.
    const args = op === 'HEALTHCHECK' && /^CMD\s/.test(body) ? ['CMD', ...words(body.slice(4).trim())] : words(body);
    if (op === 'FROM') {
      stages.push({ from: args[0], name: args[2] ?? String(stages.length), instructions: [] });
      continue;
    }
    if (stages.length === 0) throw new Error(`Dockerfile line ${line}: ${op} before any FROM`);
    stages.at(-1).instructions.push({ op, args, flags, line, text: body });
  }
  return stages;
}

/** The .dockerignore patterns as predicates on a path relative to the context (simple globs). */
export function dockerignore(text) {
  const patterns = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((p) => new RegExp(`^${p.replace(/\/$/, '').replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(/|$)`));
  return (rel) => patterns.some((re) => re.test(rel));
}

/** The ENV instruction's pairs (`K=V K2=V2`, or the legacy `K V`). */
function envPairs(instruction) {
  if (!instruction.args[0].includes('=')) return [[instruction.args[0], instruction.args.slice(1).join(' ')]];
  return instruction.args.map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]);
}

function copyTree(from, to, skip = () => false, rel = '') {
  const stat = fs.statSync(from);
  if (stat.isDirectory()) {
    fs.mkdirSync(to, { recursive: true });
    for (const entry of fs.readdirSync(from)) {
      const childRel = rel ? `${rel}/${entry}` : entry;
      if (!skip(childRel)) copyTree(path.join(from, entry), path.join(to, entry), skip, childRel);
    }
  } else {
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(from, to);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Replays the Dockerfile in a temp directory; resolves when the started image answered. */
export async function replay({ keep = false, log = (line) => console.log(line) } = {}) {
  const stages = parseDockerfile(fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
  const ignoreFile = path.join(ROOT, '.dockerignore');
  const ignored = dockerignore(fs.existsSync(ignoreFile) ? fs.readFileSync(ignoreFile, 'utf8') : '');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'makima-docker-'));
  const roots = {};
  let server;
  try {
    let last;
    for (const stage of stages) {
      const root = path.join(tmp, stage.name);
      fs.mkdirSync(root);
      roots[stage.name] = root;
      const inRoot = (p) => path.join(root, p);
      const state = { workdir: '/', env: {}, entrypoint: [], cmd: [], healthcheck: undefined, expose: [] };
      log(`== stage ${stage.name} (FROM ${stage.from}: the host's node ${process.version} stands in for it)`);
      for (const ins of stage.instructions) {
        const where = `Dockerfile:${ins.line} ${ins.op}`;
        if (ins.op === 'WORKDIR') {
          state.workdir = path.posix.resolve(state.workdir, ins.args[0]);
          fs.mkdirSync(inRoot(state.workdir), { recursive: true });
        } else if (ins.op === 'ENV') {
          for (const [k, v] of envPairs(ins)) state.env[k] = v;
        } else if (ins.op === 'COPY') {
          const sources = ins.args.slice(0, -1);
          const dest = path.posix.resolve(state.workdir, ins.args.at(-1));
          const intoDir = ins.args.at(-1).endsWith('/') || sources.length > 1;
          for (const source of sources) {
            const from = ins.flags.from ? path.join(roots[ins.flags.from] ?? fail(`${where}: no stage ${ins.flags.from}`), source) : path.join(ROOT, source);
            if (!ins.flags.from && ignored(source)) fail(`${where}: ${source} is excluded by .dockerignore`);
            if (!fs.existsSync(from)) fail(`${where}: ${ins.flags.from ? `stage ${ins.flags.from} has no ${source}` : `the build context has no ${source}`}`);
            // Docker copies a directory's contents (not the directory) to the destination.
            const to = inRoot(intoDir && !fs.statSync(from).isDirectory() ? path.posix.join(dest, path.posix.basename(source)) : dest);
            copyTree(from, to, ins.flags.from ? () => false : (rel) => ignored(path.posix.join(source, rel)));
          }
          log(`${where} ${ins.flags.from ? `--from=${ins.flags.from} ` : ""}${ins.text}`);
        } else if (ins.op === 'RUN') {
          runStep(ins, state, root, where, log);
        } else if (ins.op === 'ENTRYPOINT') state.entrypoint = ins.args;
        else if (ins.op === 'CMD') state.cmd = ins.args;
        else if (ins.op === 'HEALTHCHECK') state.healthcheck = ins.args.slice(ins.args.indexOf('CMD') + 1);
        else if (ins.op === 'EXPOSE') state.expose = ins.args;
        else if (ins.op === 'USER') log(`${where} ${ins.text}: not replayed (no such user here; the process runs as ${os.userInfo().username})`);
        else fail(`${where}: the replay does not know this instruction`);
      }
      last = { stage, root, state };
    }
    server = await start(last, log);
    log('== the image answers: /, /graphql and its HEALTHCHECK');
  } finally {
    if (server) await server.stop();
    if (keep) log(`(kept ${tmp})`);
    else fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function fail(message) {
  throw new Error(message);
}

/** Absolute paths in a stage's ENV or command, mapped into the stage's root. */
const mapPaths = (text, root) => text.replace(/(^|[\s=])\/(?=[A-Za-z])/g, `$1${root}/`);

function runStep(ins, state, root, where, log) {
  const command = ins.text;
  const parts = command.split(/\s*&&\s*/);
  if (parts.every((p) => /^(apt-get|rm -rf \/var\/lib\/apt)/.test(p))) {
    const packages = parts.flatMap((p) => (p.startsWith('apt-get install') ? p.split(/\s+/).slice(2).filter((w) => !w.startsWith('-')) : []));
    const commands = { 'ca-certificates': undefined };
    for (const pkg of packages) {
      if (pkg in commands) continue;
      if (spawnSync('sh', ['-c', `command -v ${pkg}`]).status !== 0) fail(`${where}: the image installs ${pkg}, which this host does not have either`);
    }
    log(`${where} apt-get install ${packages.join(' ')}: not replayed (the host has ${packages.filter((p) => !(p in commands)).join(', ')})`);
    return;
  }
  const kept = parts.filter((p) => !p.startsWith('chown '));
  if (kept.length < parts.length) log(`${where}: chown not replayed (no \`node\` user here)`);
  const env = { ...process.env, ...Object.fromEntries(Object.entries(state.env).map(([k, v]) => [k, mapPaths(v, root)])) };
  const script = mapPaths(kept.join(' && '), root);
  log(`${where} ${command}`);
  const started = Date.now();
  const r = spawnSync('sh', ['-c', script], { cwd: path.join(root, state.workdir), env, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) fail(`${where} failed (exit ${r.status ?? r.signal}): ${command}`);
  log(`   (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

/** Starts the last stage's ENTRYPOINT + CMD and checks what a user and Docker's HEALTHCHECK see. */
async function start({ root, state }, log) {
  const port = await freePort();
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, ...Object.fromEntries(Object.entries(state.env).map(([k, v]) => [k, mapPaths(v, root)])), PORT: String(port) };
  for (const dir of ['MAKIMA_DATA_DIR', 'MAKIMA_REPOS_ROOT', 'MAKIMA_WORKTREES_DIR']) if (env[dir]) fs.mkdirSync(env[dir], { recursive: true });
  const [cmd, ...args] = [...state.entrypoint, ...state.cmd];
  log(`== starting ${[cmd, ...args].join(' ')} (ENV with PORT=${port}, paths under ${root})`);
  let output = '';
  const child = spawn(cmd === 'node' ? process.execPath : cmd, args, { cwd: path.join(root, state.workdir), env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    const base = `http://127.0.0.1:${port}`;
    // Docker's own wait: the HEALTHCHECK command, every half second, until it passes or the process ends.
    const deadline = Date.now() + 180_000;
    for (;;) {
      if (child.exitCode !== null) fail(`the server exited (${child.exitCode}) before it was healthy:\n${output}`);
      if (Date.now() > deadline) fail(`the HEALTHCHECK did not pass within 180 s:\n${output}`);
      const [hcmd, ...hargs] = state.healthcheck;
      const r = spawnSync(hcmd === 'node' ? process.execPath : hcmd, hargs, { env: { ...env }, timeout: 30_000 });
      if (r.status === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const page = await fetch(`${base}/`);
    const html = await page.text();
    if (page.status !== 200 || !html.includes('<script')) fail(`GET / answered ${page.status}, not the browser view:\n${html.slice(0, 300)}`);
    const graphiql = await fetch(`${base}/graphql`, { headers: { accept: 'text/html' } });
    const graphiqlHtml = await graphiql.text();
    if (graphiql.status !== 200 || !graphiqlHtml.includes('RURU_CONFIG')) fail(`GET /graphql (text/html) answered ${graphiql.status}, not GraphiQL:\n${graphiqlHtml.slice(0, 300)}`);
    // GraphiQL's files come from web/dist/graphiql (the image has no ruru package): its main script must be there.
    const script = await fetch(`${base}/graphiql-static/ruru.js`, { headers: { 'accept-encoding': 'identity' } });
    const scriptText = await script.text();
    if (script.status !== 200 || scriptText.length < 10_000) fail(`GET /graphiql-static/ruru.js answered ${script.status} (${scriptText.length} characters), not GraphiQL's script`);
    const typename = await fetch(`${base}/graphql?query=${encodeURIComponent('{ __typename }')}`, { headers: { accept: 'application/graphql-response+json' } });
    const body = await typename.json().catch(() => undefined);
    if (!body || !('data' in body || 'errors' in body)) fail(`GET /graphql?query=… answered ${typename.status} without a GraphQL response`);
    log(`GET / ${page.status}, GET /graphql ${graphiql.status} (GraphiQL, ruru.js ${script.status}), GET /graphql?query={ __typename } ${typename.status}: ${JSON.stringify(body)}`);
    return { stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  try {
    await replay({ keep: process.argv.includes('--keep') });
    console.log(`== the Dockerfile replay passed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } catch (err) {
    console.error(`!! the Dockerfile replay failed: ${err instanceof Error ? err.message : err}`);
    process.exitCode = 1;
  }
}
