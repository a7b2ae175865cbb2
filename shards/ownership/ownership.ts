import type { Redis } from 'ioredis';
import { eventKeys, eventRegistryKey, eventWakeChannel, shardRegistryKey } from '../../core/keys.ts';
import type { Logger } from '../../core/logger.ts';
import { Scripts } from '../../core/redis.ts';
import { runEvery } from '../periodic.ts';
import { fairShare, planOwnership } from './plan.ts';

/** What the shard does when it gains or loses an event (both may be called again for the same event). */
export interface OwnershipHooks {
  /** the lease is ours (value `<token>:<shard id>`): serve the event */
  acquired(eventId: string, lease: string): Promise<void>;
  /** the lease is gone (lost, fenced or being handed over): stop serving, and wait for what is in progress */
  lost(eventId: string): Promise<void>;
  /** events with work queued or in progress (kept when handing an event over) */
  busy(): ReadonlySet<string>;
}

export interface OwnershipOptions {
  readonly keyPrefix: string;
  readonly shardId: string;
  readonly leaseTtlMs: number;
}

/**
 * One shard process's leases on events. Each event is owned by at most one shard at a time through a
 * Redis lease `<fencing token>:<shard id>` with a TTL; the decision script runs only for the current
 * lease value, so an owner that lost its lease (paused longer than the TTL, partitioned) cannot take
 * seats even before it notices. Every third of the TTL the loop heartbeats the shard, renews its
 * leases, and takes or hands over events by planOwnership (fair share, nothing left unowned).
 * Graceful close hands every event over at once (Worker closed, lease deleted, wake-up published).
 * Ownership changes run one at a time (one chain), so hooks never race each other.
 */
export class EventOwnership {
  readonly #redis: Redis;
  readonly #scripts: Scripts;
  readonly #options: OwnershipOptions;
  readonly #hooks: OwnershipHooks;
  readonly #logger: Logger;
  readonly #leases = new Map<string, string>();
  #freeBefore = new Set<string>();
  #chain: Promise<unknown> = Promise.resolve();
  #loop: { close(): Promise<void> } | undefined;
  #closed = false;

  constructor(redis: Redis, options: OwnershipOptions, hooks: OwnershipHooks, logger: Logger) {
    this.#redis = redis;
    this.#scripts = new Scripts(redis);
    this.#options = options;
    this.#hooks = hooks;
    this.#logger = logger.child({ component: 'ownership', shard_id: options.shardId });
  }

  get shardId(): string {
    return this.#options.shardId;
  }

  /** The lease value this shard holds for the event, if it holds one. */
  leaseOf(eventId: string): string | undefined {
    return this.#leases.get(eventId);
  }

  owned(): string[] {
    return [...this.#leases.keys()];
  }

  /** Runs the first round now, then one every third of the lease TTL. */
  async start(): Promise<void> {
    await this.round();
    const interval = Math.max(100, Math.floor(this.#options.leaseTtlMs / 3));
    this.#loop = runEvery(interval, () => this.round(), (err) => this.#logger.warn({ err: (err as Error).message }, 'ownership round failed; will retry'));
  }

  /** One round: heartbeat, renew, then take and hand over events by the plan. */
  round(): Promise<void> {
    return this.#serial(async () => {
      if (this.#closed) return;
      const liveShards = await this.#heartbeat();
      for (const [eventId, lease] of [...this.#leases]) {
        const [code] = (await this.#acquire(eventId, lease)) as [number];
        if (code !== 2) await this.#drop(eventId, 'lease lost');
      }
      const events = (await this.#redis.smembers(eventRegistryKey(this.#options.keyPrefix))).sort();
      const pipeline = this.#redis.pipeline();
      for (const eventId of events) pipeline.exists(eventKeys(this.#options.keyPrefix, eventId).lease);
      const replies = (await pipeline.exec()) ?? [];
      const free = new Set(events.filter((_, i) => replies[i]?.[1] === 0));
      const plan = planOwnership({ events, owned: new Set(this.#leases.keys()), free, freeBefore: this.#freeBefore, liveShards, busy: this.#hooks.busy() });
      for (const eventId of plan.acquire) await this.#take(eventId);
      for (const eventId of plan.release) await this.#handOver(eventId);
      this.#freeBefore = new Set([...free].filter((e) => !this.#leases.has(e)));
    });
  }

  /**
   * Takes the event at once if no shard owns it (a new event, one handed over, one whose owner died)
   * and this shard is below its fair share (registered events over live shards, read now); otherwise
   * the rounds decide (an event left free for two rounds is taken whatever the share). So a shard
   * handing an event over does not take it straight back, and a new event goes to a shard with room.
   */
  tryAcquire(eventId: string): Promise<void> {
    return this.#serial(async () => {
      if (this.#closed || this.#leases.has(eventId)) return;
      if ((await this.#redis.exists(eventKeys(this.#options.keyPrefix, eventId).lease)) === 1) return;
      const [events, live] = await Promise.all([
        this.#redis.scard(eventRegistryKey(this.#options.keyPrefix)),
        this.#redis.zcard(shardRegistryKey(this.#options.keyPrefix)),
      ]);
      if (this.#leases.size >= fairShare(Math.max(events, 1), Math.max(live, 1))) return;
      await this.#take(eventId);
    });
  }

  /** The decision script refused this shard's lease: the event is someone else's now. */
  fenced(eventId: string): Promise<void> {
    return this.#serial(() => this.#drop(eventId, 'fenced by the decision script'));
  }

  /** Hands every owned event over at once and leaves the shard registry. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#loop?.close();
    await this.#serial(async () => {
      // Leave the registry first, so the shards taking over count their share without this one.
      await this.#redis.zrem(shardRegistryKey(this.#options.keyPrefix), this.#options.shardId);
      for (const eventId of [...this.#leases.keys()]) await this.#handOver(eventId);
    });
  }

  #serial(task: () => Promise<void>): Promise<void> {
    const next = this.#chain.then(task);
    this.#chain = next.catch(() => undefined);
    return next;
  }

  async #heartbeat(): Promise<number> {
    const key = shardRegistryKey(this.#options.keyPrefix);
    const [seconds, micros] = await this.#redis.time();
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const [, , [, live] = []] = (await this.#redis
      .multi()
      .zadd(key, now + this.#options.leaseTtlMs, this.#options.shardId)
      .zremrangebyscore(key, '-inf', now)
      .zcard(key)
      .exec()) ?? [];
    return Math.max(1, Number(live ?? 1));
  }

  #acquire(eventId: string, held: string): Promise<unknown> {
    const k = eventKeys(this.#options.keyPrefix, eventId);
    return this.#scripts.run('acquireLease', [k.lease, k.fence], [this.#options.shardId, this.#options.leaseTtlMs, held]);
  }

  async #take(eventId: string): Promise<void> {
    const [code, value] = (await this.#acquire(eventId, '')) as [number, string];
    if (code !== 1) return;
    this.#leases.set(eventId, value);
    this.#logger.info({ event_id: eventId, lease: value }, 'owning event');
    await this.#hooks.acquired(eventId, value);
  }

  async #drop(eventId: string, why: string): Promise<void> {
    if (!this.#leases.delete(eventId)) return;
    this.#logger.warn({ event_id: eventId }, `no longer owning event: ${why}`);
    await this.#hooks.lost(eventId);
  }

  /** Graceful: stop serving (the job in progress finishes), then free the lease and say so. */
  async #handOver(eventId: string): Promise<void> {
    const lease = this.#leases.get(eventId);
    if (lease === undefined) return;
    await this.#hooks.lost(eventId);
    this.#leases.delete(eventId);
    const k = eventKeys(this.#options.keyPrefix, eventId);
    await this.#scripts.run('releaseLease', [k.lease], [lease]);
    await this.#redis.publish(eventWakeChannel(this.#options.keyPrefix), eventId);
    this.#logger.info({ event_id: eventId }, 'handed event over');
  }
}
