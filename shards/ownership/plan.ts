/**
 * How a shard decides which events to take and which to hand over, as a pure function of what it
 * sees in one round of its ownership loop.
 *
 * - Fair share: ceil(events / live shards). A shard takes free events while it owns fewer than that,
 *   in the order given (event id order), so shards starting together split the events instead of the first one
 *   taking them all.
 * - Nothing stays unowned: an event seen free in the previous round too is taken whatever the share
 *   (the shard whose share it is may be full, dying or not started).
 * - Balance: a shard owning more than its share hands the excess over (quiet events first), so a shard
 *   that joins gets its share within a round or two. The excess is at most one event per round, so a
 *   shard joining does not stall many queues at once.
 */
export interface OwnershipView {
  /** every registered event */
  readonly events: readonly string[];
  /** events whose lease this shard holds */
  readonly owned: ReadonlySet<string>;
  /** events whose lease no shard holds now */
  readonly free: ReadonlySet<string>;
  /** events that were free in the previous round as well */
  readonly freeBefore: ReadonlySet<string>;
  /** live shards, this one included (at least 1) */
  readonly liveShards: number;
  /** owned events with work queued or in progress (kept when handing over) */
  readonly busy: ReadonlySet<string>;
}

export interface OwnershipPlan {
  readonly acquire: string[];
  readonly release: string[];
}

export function fairShare(events: number, liveShards: number): number {
  return Math.ceil(events / Math.max(1, liveShards));
}

export function planOwnership(view: OwnershipView): OwnershipPlan {
  const share = fairShare(view.events.length, view.liveShards);
  const acquire: string[] = [];
  let count = view.owned.size;
  for (const eventId of view.events) {
    if (!view.free.has(eventId) || view.owned.has(eventId)) continue;
    if (count < share || view.freeBefore.has(eventId)) {
      acquire.push(eventId);
      count++;
    }
  }
  const release: string[] = [];
  if (view.owned.size > share && view.liveShards > 1) {
    const quiet = [...view.owned].filter((e) => !view.busy.has(e));
    const candidate = quiet[0] ?? [...view.owned][0];
    if (candidate !== undefined) release.push(candidate);
  }
  return { acquire, release };
}
