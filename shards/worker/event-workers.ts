import { Worker, type Job, type Processor } from 'bullmq';
import type { Redis } from 'ioredis';
import { reserveQueueName } from '../../core/keys.ts';
import type { Logger } from '../../core/logger.ts';

export interface EventWorkersOptions {
  readonly queuePrefix: string;
  /** Workers open at once in this process (each holds a blocking Redis connection) */
  readonly maxWorkers: number;
  /** a Worker without a job for this long may be closed */
  readonly idleMs: number;
  /** BullMQ lockDuration: a job whose Worker died is found stalled after this */
  readonly lockDurationMs: number;
  /** BullMQ stalledInterval: how often a Worker looks for stalled jobs */
  readonly stalledIntervalMs: number;
  /** BullMQ maxStalledCount: decisions are idempotent, so a job may stall (its shard die) many times */
  readonly maxStalledCount: number;
}

interface Live {
  readonly worker: Worker;
  lastActiveAt: number;
  active: number;
  closing: Promise<void> | undefined;
}

/**
 * The BullMQ Workers of one shard process, at most one per owned event (concurrency 1) and at most
 * `maxWorkers` in all. A Worker whose event has been quiet for `idleMs` is closed by closeIdle(); when
 * a Worker is needed and the bound is reached, the longest-idle one is closed to make room (never one
 * with a job in progress). open() is idempotent: the wake-up of an admission, the periodic sweep and a
 * new lease all just call it.
 */
export class EventWorkers {
  readonly #connection: Redis;
  readonly #options: EventWorkersOptions;
  readonly #processor: Processor;
  readonly #logger: Logger;
  readonly #onFailed: (eventId: string, job: Job | undefined, err: Error) => void;
  readonly #live = new Map<string, Live>();
  #opened = 0;
  #closed = false;

  constructor(connection: Redis, options: EventWorkersOptions, processor: Processor, onFailed: (eventId: string, job: Job | undefined, err: Error) => void, logger: Logger) {
    this.#connection = connection;
    this.#options = options;
    this.#processor = processor;
    this.#onFailed = onFailed;
    this.#logger = logger.child({ component: 'workers' });
  }

  /** Events with a live Worker. */
  live(): string[] {
    return [...this.#live.keys()];
  }

  /** Workers opened since start (re-opens included). */
  get opened(): number {
    return this.#opened;
  }

  /** Events whose Worker has a job in progress. */
  busy(): Set<string> {
    return new Set([...this.#live].filter(([, l]) => l.active > 0).map(([e]) => e));
  }

  /** Opens the event's Worker unless it is open; false if the bound is reached and nothing can be closed. */
  async open(eventId: string): Promise<boolean> {
    if (this.#closed) return false;
    const existing = this.#live.get(eventId);
    if (existing && !existing.closing) return true;
    if (existing?.closing) await existing.closing;
    if (this.#closed) return false;
    if (this.#live.has(eventId)) return true;
    if (this.#live.size >= this.#options.maxWorkers) {
      const idlest = [...this.#live].filter(([, l]) => l.active === 0 && !l.closing).sort(([, a], [, b]) => a.lastActiveAt - b.lastActiveAt)[0];
      if (!idlest) {
        this.#logger.warn({ event_id: eventId, max_workers: this.#options.maxWorkers }, 'every Worker is busy: the event waits for one to free up');
        return false;
      }
      await this.close(idlest[0]);
      if (this.#closed) return false;
      if (this.#live.has(eventId)) return true;
    }
    const worker = new Worker(reserveQueueName(eventId), this.#processor, {
      connection: this.#connection,
      prefix: this.#options.queuePrefix,
      concurrency: 1,
      lockDuration: this.#options.lockDurationMs,
      stalledInterval: this.#options.stalledIntervalMs,
      maxStalledCount: this.#options.maxStalledCount,
    });
    const live: Live = { worker, lastActiveAt: Date.now(), active: 0, closing: undefined };
    worker.on('active', () => { live.active++; live.lastActiveAt = Date.now(); });
    const done = () => { live.active = Math.max(0, live.active - 1); live.lastActiveAt = Date.now(); };
    worker.on('completed', done);
    worker.on('failed', (job, err) => { done(); this.#onFailed(eventId, job, err); });
    worker.on('error', (err) => this.#logger.warn({ event_id: eventId, err: err.message }, 'worker error'));
    this.#live.set(eventId, live);
    this.#opened++;
    this.#logger.debug({ event_id: eventId }, 'worker opened');
    return true;
  }

  /** Closes the event's Worker, waiting for its job in progress. */
  async close(eventId: string): Promise<void> {
    const live = this.#live.get(eventId);
    if (!live) return;
    live.closing ??= live.worker.close().finally(() => {
      if (this.#live.get(eventId) === live) this.#live.delete(eventId);
      this.#logger.debug({ event_id: eventId }, 'worker closed');
    });
    await live.closing;
  }

  /** Closes every Worker idle for `idleMs` or more; returns the events closed. */
  async closeIdle(now = Date.now()): Promise<string[]> {
    const idle = [...this.#live].filter(([, l]) => l.active === 0 && !l.closing && now - l.lastActiveAt >= this.#options.idleMs).map(([e]) => e);
    await Promise.all(idle.map((e) => this.close(e)));
    return idle;
  }

  /** Closes every Worker; open() refuses from now on. */
  async closeAll(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#live.keys()].map((e) => this.close(e)));
  }
}
