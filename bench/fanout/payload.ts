// What the fan-out benchmark publishes and subscribes to, shared by the writers, the subscribers
// and the bare graphql-ws server: the same selection of HistoryEvent fields makima serves.

export const TIMELINE_SUBSCRIPTION = 'subscription Live { timeline { id seq eventType eventSubtype phase createdAt data } }';

/** The event's data: which write batch it belongs to (the writer knows when that batch was sent and committed), and why. */
export interface BenchEventData {
  batch: number;
  kind: 'probe' | 'warmup' | 'measure';
  n: number;
}

/** An event as the bare server publishes it: the values makima's resolvers would produce. */
export interface PublishedEvent {
  ownerId: string;
  event: { id: string; seq: string; eventType: 'CHAT'; eventSubtype: string; phase: null; createdAt: string; data: BenchEventData };
}

/** Wall-clock milliseconds with sub-millisecond precision (comparable across processes). */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
