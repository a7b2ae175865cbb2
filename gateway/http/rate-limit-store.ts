import type { ClientRateLimitInfo, Options, Store } from 'express-rate-limit';
import type { Redis } from 'ioredis';
import { Scripts } from '../../core/redis.ts';
import { FlushBatcher } from '../admission/flush-batcher.ts';

/** Hits one count takes at most (one script call). */
const MAX_BATCH = 1000;

interface Hit {
  readonly key: string;
  readonly windowMs: number;
}

/**
 * A gateway's rate-limit hits, counted in Redis (so every limit holds across gateways) many at a time:
 * one script call (core/lua/countHits-n.lua) counts the hits of every limiter that came since the last
 * one. A hit that finds the counter idle is counted a microtask later, with any hit that comes before
 * then (a request's per-IP and per-user hits, when both limiters start at once: see `rate-limits.ts`);
 * hits that come while a count is in flight, or within `minIntervalMs` of its start, go together in the
 * next (`FlushBatcher`), one client's hits in one `INCRBY`, and each hit gets its own total in the order
 * the hits came. As many hits are counted, in the same order, so every limit decides as it would with
 * one call per hit; a hit costs the gateway and Redis a share of a call instead of a round trip of its
 * own.
 */
export class HitCounter {
  readonly #scripts: Scripts;
  readonly #batcher: FlushBatcher<Hit, ClientRateLimitInfo>;

  constructor(redis: Redis, minIntervalMs = 0) {
    this.#scripts = new Scripts(redis);
    this.#batcher = new FlushBatcher((hits) => this.#count(hits), MAX_BATCH, minIntervalMs, { deferIdleFlush: true });
  }

  /** Counts one hit on `key` (a full Redis key), whose window is `windowMs` long once it starts. */
  hit(key: string, windowMs: number): Promise<ClientRateLimitInfo> {
    return this.#batcher.add({ key, windowMs });
  }

  async #count(hits: Hit[]): Promise<ClientRateLimitInfo[]> {
    const perKey = new Map<string, { hits: number; windowMs: number; next: number; resetTime: Date | undefined }>();
    for (const { key, windowMs } of hits) {
      const counter = perKey.get(key);
      if (counter) counter.hits++;
      else perKey.set(key, { hits: 1, windowMs, next: 0, resetTime: undefined });
    }
    const args: number[] = [];
    for (const counter of perKey.values()) args.push(counter.hits, counter.windowMs);
    const reply = (await this.#scripts.run('countHits', [...perKey.keys()], args)) as number[];
    const now = Date.now();
    let i = 0;
    // A key's first hit in the batch gets the total before the batch plus one, its next plus two…
    for (const counter of perKey.values()) {
      counter.next = reply[i]! - counter.hits + 1;
      counter.resetTime = new Date(now + reply[i + 1]!);
      i += 2;
    }
    return hits.map(({ key }) => {
      const counter = perKey.get(key)!;
      return { totalHits: counter.next++, resetTime: counter.resetTime };
    });
  }
}

/**
 * An express-rate-limit store over a `HitCounter`: its keys are `prefix` + the limiter's key. Every key
 * of every such store must carry the same Redis hash tag (one count touches them all, so in a Redis
 * Cluster they share a slot).
 */
export class BatchedRedisStore implements Store {
  /** Counts are in Redis, shared by every gateway. */
  readonly localKeys = false;
  readonly prefix: string;
  windowMs = 60_000;
  readonly #redis: Redis;
  readonly #counter: HitCounter;

  constructor(redis: Redis, counter: HitCounter, prefix: string) {
    this.#redis = redis;
    this.#counter = counter;
    this.prefix = prefix;
  }

  /** express-rate-limit passes its options once: the window is the counters' expiry. */
  init(options: Options): void {
    this.windowMs = options.windowMs;
  }

  increment(key: string): Promise<ClientRateLimitInfo> {
    return this.#counter.hit(this.prefix + key, this.windowMs);
  }

  async decrement(key: string): Promise<void> {
    await this.#redis.decr(this.prefix + key);
  }

  async resetKey(key: string): Promise<void> {
    await this.#redis.del(this.prefix + key);
  }

  /** A client's count and the end of its window, without a hit (express-rate-limit's `getKey`). */
  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const [[, hits], [, ttl]] = (await this.#redis.multi().get(this.prefix + key).pttl(this.prefix + key).exec()) as [[null, string | null], [null, number]];
    return hits === null ? undefined : { totalHits: Number(hits), resetTime: new Date(Date.now() + ttl) };
  }
}
