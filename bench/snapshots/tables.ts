// The two tables of bench:snapshots, as the run prints them and as bench/snapshots/markdown.ts
// prints them from a results file: one head and one row builder each, so that the two agree.
import { bytes } from '../lib/report.js';

/** What a design stores for the conversation (the results file's `storage`). */
export interface StorageFigures {
  design: string;
  messagesOnDisk: number;
  snapshots: number;
  snapshotsRowBytes: number;
  snapshotsOnDisk: number;
}

export const STORAGE_HEAD = ['design', 'messages on disk', 'snapshots (row bytes)', 'snapshots on disk', 'per snapshot', 'messages + snapshots on disk'];

export function storageRow(x: StorageFigures): string[] {
  return [
    x.design,
    bytes(x.messagesOnDisk),
    bytes(x.snapshotsRowBytes),
    bytes(x.snapshotsOnDisk),
    bytes(Math.round(x.snapshotsRowBytes / x.snapshots)),
    bytes(x.messagesOnDisk + x.snapshotsOnDisk),
  ];
}

type Timing = { median: number };

/** One conversation size's medians (the results file's `timingsMs`). */
export interface TimingFigures {
  messages: number;
  rewindConversation: Timing;
  forkAtMessage: Timing;
  forkAtCheckpoint: Timing;
  firstPage: Timing;
  originCopy: Timing;
}

export const TIMING_HEAD = ['messages', 'rewindConversation', 'forkTask (messageId)', 'forkTask (checkpointId)', 'conversation(first: 50)', 'origin: JSON copy of the conversation (SQL only)'];

export function timingRow(x: TimingFigures, ms: (value: number) => string): string[] {
  return [x.messages.toLocaleString('en-US'), ...[x.rewindConversation, x.forkAtMessage, x.forkAtCheckpoint, x.firstPage, x.originCopy].map((y) => ms(y.median))];
}
