// The repositories bench:mesh works on, written from scratch in a temporary directory: a source
// tree of many small files (checkpoints), one of large incompressible files (claims), and the 100
// files a round of checkpoints changes, the same in every tree.
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const IDENTITY = ['-c', 'user.name=bench', '-c', 'user.email=bench@example.com'];

/** Runs git in `cwd`; throws with git's stderr when it fails. */
export function gitSync(cwd: string, ...args: string[]): string {
  const result = spawnSync('git', [...IDENTITY, ...args], { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')} in ${cwd} failed: ${result.stderr}`);
  return result.stdout.trim();
}

/** `count` files of text, `bytes` each, in nested folders (a/b/file), one commit. */
export function sourceTree(dir: string, count: number, bytes: number): string[] {
  fs.mkdirSync(dir, { recursive: true });
  gitSync(dir, 'init', '-q', '-b', 'main');
  const files: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const file = path.join(`pkg${Math.floor(i / 1000)}`, `mod${Math.floor(i / 100) % 10}`, `part${Math.floor(i / 10) % 10}`, `file${i}.ts`);
    fs.mkdirSync(path.join(dir, path.dirname(file)), { recursive: true });
    // Printable and a little compressible, as source is.
    fs.writeFileSync(path.join(dir, file), crypto.randomBytes(Math.ceil((bytes * 3) / 4)).toString('base64').slice(0, bytes).replace(/(.{79})/g, '$1\n'));
    files.push(file);
  }
  gitSync(dir, 'add', '--all');
  gitSync(dir, 'commit', '-q', '-m', `${count} files`);
  return files;
}

/** `count` files of random bytes totalling about `megabytes`, in two commits (the first half, then the rest). */
export function blobTree(dir: string, count: number, megabytes: number): void {
  fs.mkdirSync(dir, { recursive: true });
  gitSync(dir, 'init', '-q', '-b', 'main');
  const size = Math.round((megabytes * 2 ** 20) / count);
  const half = Math.ceil(count / 2);
  for (const [from, to] of [[0, half], [half, count]]) {
    for (let i = from; i < to; i += 1) {
      const file = path.join(`assets${i % 8}`, `blob${i}.bin`);
      fs.mkdirSync(path.join(dir, path.dirname(file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), crypto.randomBytes(size));
    }
    gitSync(dir, 'add', '--all');
    gitSync(dir, 'commit', '-q', '-m', `blobs ${from}–${to - 1}`);
  }
}

/** The files round `round` changes: `changed` of them, spread over the tree, a different set each round. */
export function changedFiles(files: string[], changed: number, round: number): string[] {
  const stride = Math.max(1, Math.floor(files.length / changed));
  return Array.from({ length: Math.min(changed, files.length) }, (_, k) => files[(k * stride + round) % files.length]);
}

/** Changes `files` under `root` the same way in every tree: a line naming the round at their end. */
export function touch(root: string, files: string[], round: number): void {
  for (const file of files) fs.appendFileSync(path.join(root, file), `\n// round ${round}\n`);
}
