// Whether a worktree provably holds what its index says, without hashing what git would hash again
// (docs/design.md §11, "Where a task's code lives"). git trusts a file's recorded stat data only to
// the second: a file whose mtime is not older than the index file itself is "racily clean", and the
// next `git add --all` reads and hashes it again. A worktree git has just checked out was written in
// the same second as its index, so the first `add --all` hashes all of it (a second of CPU for a
// large tree, on every remote claim of a task whose server worktree nobody used).
//
// The index records each file's ctime and mtime to the nanosecond. The kernel sets a file's ctime on
// every change to it (content, mode, name, times) and no call sets it back, so git's own rule holds
// at the kernel's precision: a file whose recorded ctime and mtime are older than the index file,
// and whose ctime, mtime, size, inode and mode are still the recorded ones, has not changed since
// git hashed it. Files that fail the age rule (written in the same clock tick as the index) are
// hashed here one by one and compared with the index; anything else — a file changed, gone or
// added, a conflict, a flag — means "not proven", and the caller stages everything as before.
import fs from 'node:fs';
import path from 'node:path';
import { git } from './repo.js';

/** One index entry as `git ls-files --debug --stage -z` prints it. */
interface Entry {
  mode: string;
  oid: string;
  stage: string;
  name: string;
  ctime: bigint;
  mtime: bigint;
  ino: bigint;
  size: bigint;
  flags: string;
}

const ENTRY = /(\d{6}) ([0-9a-f]{40,64}) (\d)\t([^\0]*)\0 {2}ctime: (\d+):(\d+)\n {2}mtime: (\d+):(\d+)\n {2}dev: \d+\tino: (\d+)\n {2}uid: \d+\tgid: \d+\n {2}size: (\d+)\tflags: ([0-9a-f]+)\n/gy;
const U32 = 0xffffffffn;
const NS = 1_000_000_000n;

function parse(listing: string): Entry[] | undefined {
  const entries: Entry[] = [];
  ENTRY.lastIndex = 0;
  let end = 0; // a failed exec resets lastIndex: keep where the last entry ended
  let m: RegExpExecArray | null;
  while ((m = ENTRY.exec(listing))) {
    end = ENTRY.lastIndex;
    entries.push({ mode: m[1]!, oid: m[2]!, stage: m[3]!, name: m[4]!, ctime: BigInt(m[5]!) * NS + BigInt(m[6]!), mtime: BigInt(m[7]!) * NS + BigInt(m[8]!), ino: BigInt(m[9]!), size: BigInt(m[10]!), flags: m[11]! });
  }
  return end === listing.length ? entries : undefined;
}

/** The index file of a worktree (`.git` a file naming its git dir) or of a repository's own work tree; undefined when it is neither. */
function indexOf(worktreePath: string): string | undefined {
  const dotGit = path.join(worktreePath, '.git');
  const st = fs.statSync(dotGit, { throwIfNoEntry: false });
  if (st?.isDirectory()) return path.join(dotGit, 'index');
  if (!st?.isFile()) return undefined;
  const gitdir = /^gitdir: (.+)$/m.exec(fs.readFileSync(dotGit, 'utf8'))?.[1];
  return gitdir ? path.join(path.resolve(worktreePath, gitdir), 'index') : undefined;
}

/** The recorded seconds are 32-bit, as are inode and size: compare what the index can hold. */
function sameStat(e: Entry, st: fs.BigIntStats): boolean {
  const ns = (t: bigint) => (((t / NS) & U32) * NS) + (t % NS);
  if (e.ctime !== ns(st.ctimeNs) || e.mtime !== ns(st.mtimeNs)) return false;
  if (e.ino !== (st.ino & U32) || e.size !== (st.size & U32)) return false;
  if (e.mode === '120000') return st.isSymbolicLink();
  if (!st.isFile()) return false;
  return (e.mode === '100755') === ((st.mode & 0o100n) !== 0n);
}

/**
 * True when staging everything in `worktreePath` (`git add --all`) would change nothing: every
 * tracked file is as the index recorded it, and there is no untracked file that is not ignored.
 * False whenever that is not proven.
 */
export async function worktreeMatchesIndex(worktreePath: string): Promise<boolean> {
  const indexFile = indexOf(worktreePath);
  if (!indexFile) return false;
  const g = git(worktreePath, { trimmed: false }); // the listing ends with the newline the parse expects
  const written = fs.statSync(indexFile, { bigint: true }).mtimeNs;
  const entries = parse(await g.raw(['ls-files', '--debug', '--stage', '-z']));
  if (!entries) return false;
  const toHash: Entry[] = [];
  for (const e of entries) {
    if (e.stage !== '0' || e.flags !== '0' || e.mode === '160000') return false;
    const st = fs.lstatSync(path.join(worktreePath, e.name), { bigint: true, throwIfNoEntry: false });
    if (!st || !sameStat(e, st)) return false;
    if (!(e.ctime < written && e.mtime < written)) toHash.push(e);
  }
  const untracked = await g.raw(['ls-files', '--others', '--exclude-standard', '--directory', '--no-empty-directory', '-z']);
  if (untracked !== '') return false;
  if (toHash.length === 0) return true;
  // Written in the index's own clock tick: compare their content, as git would.
  // (A symlink's target or a name with a newline would need a read of its own: not worth it.)
  if (toHash.some((e) => e.mode === '120000' || e.name.includes('\n'))) return false;
  const names = `${toHash.map((e) => e.name).join('\n')}\n`;
  const oids = (await git(worktreePath, { input: () => names }).raw(['hash-object', '--stdin-paths'])).split('\n');
  return oids.length === toHash.length && toHash.every((e, i) => e.oid === oids[i]);
}
