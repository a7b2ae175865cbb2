import type { Redis } from 'ioredis';
import type { HoldTransitions } from '../../core/hold-transitions.ts';
import { eventKeys } from '../../core/keys.ts';
import type { Logger } from '../../core/logger.ts';
import { runEvery } from '../periodic.ts';

/**
 * Expires the holds of the events this shard owns. Every `intervalMs` it reads, in one pipeline, the
 * earliest due time of each owned event's sorted set of holds, and runs the reapHolds script for the
 * events with something due. The due times live in Redis, so holds that came due while every process
 * was down expire on the first tick after a shard starts. The script itself judges "due" by Redis TIME;
 * the local clock only decides when to ask (with a margin for skew between hosts).
 */
const CLOCK_MARGIN_MS = 1_000;

export class Reaper {
  readonly #redis: Redis;
  readonly #transitions: HoldTransitions;
  readonly #keyPrefix: string;
  readonly #intervalMs: number;
  readonly #logger: Logger;
  #eventIds: string[] = [];
  #loop: { close(): Promise<void> } | undefined;
  #expired = 0;

  constructor(redis: Redis, transitions: HoldTransitions, options: { keyPrefix: string; intervalMs: number }, logger: Logger) {
    this.#redis = redis;
    this.#transitions = transitions;
    this.#keyPrefix = options.keyPrefix;
    this.#intervalMs = options.intervalMs;
    this.#logger = logger.child({ component: 'reaper' });
  }

  /** Holds expired since start (for tests and metrics). */
  get expired(): number {
    return this.#expired;
  }

  setEvents(eventIds: Iterable<string>): void {
    this.#eventIds = [...eventIds];
  }

  start(): void {
    this.#loop ??= runEvery(
      this.#intervalMs,
      () => this.reapDue(),
      (err) => this.#logger.warn({ err: (err as Error).message }, 'reaping failed; will retry'),
      0,
    );
  }

  async close(): Promise<void> {
    await this.#loop?.close();
  }

  /** One pass: every owned event with a hold due (by the local clock plus a margin) is reaped until none is. */
  async reapDue(): Promise<number> {
    const eventIds = this.#eventIds;
    if (eventIds.length === 0) return 0;
    const pipeline = this.#redis.pipeline();
    for (const id of eventIds) pipeline.zrange(eventKeys(this.#keyPrefix, id).holds, '0', '0', 'WITHSCORES');
    const replies = (await pipeline.exec()) ?? [];
    const horizon = Date.now() + CLOCK_MARGIN_MS;
    let expired = 0;
    for (const [i, [err, first]] of replies.entries()) {
      if (err) throw err;
      const due = (first as string[])[1];
      if (due === undefined || Number(due) > horizon) continue;
      for (;;) {
        const result = await this.#transitions.reap(eventIds[i]!);
        expired += result.expired;
        if (result.expired === 0 || result.nextDueMs === undefined || result.nextDueMs > Date.now()) break;
      }
    }
    this.#expired += expired;
    return expired;
  }
}
