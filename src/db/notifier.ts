// Notifications sent after commit, not inside the writing transaction (docs/design.md §6). A
// transaction that calls pg_notify takes PostgreSQL's cluster-wide notify lock at COMMIT, so every
// notifying writer of every user would commit one at a time. Instead a change tells this process's
// notifier, once it has committed, which owner's history (and which task's event stream) grew; the
// notifier sends them with one pg_notify statement at a time, gathering what arrives meanwhile and
// keeping only the largest seq of each owner. A notification is only a wake-up: readers read by seq
// from the tables, and re-check what they follow now and then, so one that is late, lost (the
// process died between the commit and the send) or early (it is read before its row is visible)
// delays an event, never loses or repeats one.

/** Where notifications go: one call with the channels and payloads of a batch, in order. */
export type SendNotifications = (channels: string[], payloads: string[]) => Promise<void>;

/** The statement that sends a batch; `$1` channels, `$2` payloads. */
export const NOTIFY_BATCH_SQL = 'SELECT count(pg_notify(c, p)) AS sent FROM unnest($1::text[], $2::text[]) AS x(c, p)';

export class Notifier {
  /** channel → payload key → the largest seq waiting (null: the payload is the key alone). */
  private readonly pending = new Map<string, Map<string, bigint | null>>();
  private sending: Promise<void> | undefined;
  private closed = false;
  private failed: (err: unknown) => void = () => undefined;
  /** Statements sent and payloads they carried, for metrics and tests. */
  readonly sent = { batches: 0, notifications: 0 };

  constructor(private readonly send: SendNotifications) {}

  /** Whoever logs a batch that could not be sent (the readers' re-check covers it). */
  onFailure(listener: (err: unknown) => void): void {
    this.failed = listener;
  }

  /** `key` on `channel`, with the payload `<key> <seq>` (the largest seq asked for) or `<key>`. */
  notify(channel: string, key: string, seq?: bigint): void {
    if (this.closed) return;
    let keys = this.pending.get(channel);
    if (!keys) this.pending.set(channel, (keys = new Map()));
    const waiting = keys.get(key);
    const next = seq === undefined ? null : waiting == null || seq > waiting ? seq : waiting;
    keys.set(key, next);
    this.sending ??= this.run();
  }

  /** Resolves once everything asked for so far has been sent (or failed). */
  async flush(): Promise<void> {
    while (this.sending) await this.sending;
  }

  /** Sends what is waiting, then takes no more. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
  }

  private async run(): Promise<void> {
    try {
      while (this.pending.size > 0) {
        const channels: string[] = [];
        const payloads: string[] = [];
        for (const [channel, keys] of this.pending) {
          for (const [key, seq] of keys) {
            channels.push(channel);
            payloads.push(seq === null ? key : `${key} ${seq}`);
          }
        }
        this.pending.clear();
        try {
          await this.send(channels, payloads);
          this.sent.batches++;
          this.sent.notifications += payloads.length;
        } catch (err) {
          this.failed(err);
        }
      }
    } finally {
      this.sending = undefined;
    }
  }
}

const notifiers = new WeakMap<object, Notifier>();

/** Makes `notifier` the one that changes made through `prisma` use (db/database.ts, on opening). */
export function registerNotifier(prisma: object, notifier: Notifier): void {
  notifiers.set(prisma, notifier);
}

/** The notifier of the database `prisma` belongs to. */
export function notifierOf(prisma: object): Notifier {
  const notifier = notifiers.get(prisma);
  if (!notifier) throw new Error('no notifier is registered for this Prisma client: open it with openDatabase()');
  return notifier;
}
