// The record of a push under way (docs/mesh.md, "What a worker may push"). receive-pack keeps a
// push's objects in a quarantine directory and locks each ref it moves; killed together with the
// server (a power cut, a stop of the whole process group), it leaves both behind, and a lock
// refuses every later push of that ref. So each push is recorded in the data directory before git
// runs, named with the server's pid like a change's journal (journal.ts), and the record goes when
// git has exited. At the next start the records of dead servers say which repositories and refs to
// clear (locks.ts's clearDeadPush); a live server's pushes are left alone.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { claimLeftoverJournals, writeDurably } from './journal.js';
import { clearDeadPush, type PushScope } from './locks.js';

export interface PushRecord extends PushScope {
  workerId: string;
  startedAt: string;
}

/** Records a push before git runs; the function returned removes the record (call it once git has exited). */
export function recordPush(dir: string, push: Omit<PushRecord, 'startedAt'>): () => void {
  const file = path.join(dir, `${crypto.randomUUID()}.${process.pid}.json`);
  writeDurably(dir, file, JSON.stringify({ ...push, startedAt: new Date().toISOString() } satisfies PushRecord));
  return () => fs.rmSync(file, { force: true });
}

/** At start, before serving: clears what the pushes of dead servers left; each record with the paths removed. */
export async function recoverInterruptedPushes(dir: string): Promise<{ record: PushRecord; removed: string[] }[]> {
  const recovered: { record: PushRecord; removed: string[] }[] = [];
  for (const { record, release } of claimLeftoverJournals<PushRecord>(dir)) {
    recovered.push({ record, removed: await clearDeadPush(record) });
    release();
  }
  return recovered;
}
