import type { Redis } from 'ioredis';
import { eventKeys } from '../../core/keys.ts';
import type { Logger } from '../../core/logger.ts';

/**
 * Long-polls without a Redis connection each: one subscriber connection per gateway, subscribed to the
 * change channels of the events that have waiters (reference-counted), fanning each message out to the
 * waiters of that reservation.
 *
 * No wake-up is lost: a waiter registers and its channel's SUBSCRIBE is acknowledged before the first
 * read of the status, and a message that arrives between two reads marks the waiter so the next wait
 * returns at once. After a reconnect every waiter re-reads (messages sent while disconnected are gone).
 * At most `maxWaiters` wait at once; beyond that a request is answered at once with what it reads.
 * close() answers every waiter at once.
 */

class Waiter {
  #isDirty = false;
  #resolve: (() => void) | undefined;

  wake(): void {
    this.#isDirty = true;
    this.#resolve?.();
  }

  /** Resolves at the next wake (at once if woken since the last call) or after `ms`. */
  next(ms: number): Promise<void> {
    if (this.#isDirty) {
      this.#isDirty = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#resolve = undefined;
        this.#isDirty = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#resolve = done;
    });
  }
}

export class ChangeWaiter {
  readonly #subscriber: Redis;
  readonly #keyPrefix: string;
  readonly #maxWaiters: number;
  readonly #logger: Logger;
  readonly #waiters = new Map<string, Set<Waiter>>();
  readonly #channels = new Map<string, { count: number; ready: Promise<unknown> }>();
  #count = 0;
  #isClosed = false;
  #hasBeenReady = false;

  constructor(subscriber: Redis, options: { keyPrefix: string; maxWaiters: number }, logger: Logger) {
    this.#subscriber = subscriber;
    this.#keyPrefix = options.keyPrefix;
    this.#maxWaiters = options.maxWaiters;
    this.#logger = logger;
    // One line `<reservation id> <status>` per change; a batch of decisions announces its changes in one
    // message, a line each.
    subscriber.on('message', (_channel: string, message: string) => {
      for (const line of message.split('\n')) {
        const reservationId = line.slice(0, line.indexOf(' '));
        for (const waiter of this.#waiters.get(reservationId) ?? []) waiter.wake();
      }
    });
    subscriber.on('ready', () => {
      if (this.#hasBeenReady) this.#wakeAll();
      this.#hasBeenReady = true;
    });
  }

  /** Long-polls in progress. */
  get size(): number {
    return this.#count;
  }

  /**
   * Reads with `read` until `isDone` holds or `timeoutMs` passes, re-reading on every change announced
   * for the reservation; returns the last value read.
   */
  async waitFor<T>(eventId: string, reservationId: string, read: () => Promise<T>, isDone: (value: T) => boolean, timeoutMs: number): Promise<T> {
    if (this.#isClosed || timeoutMs <= 0 || this.#count >= this.#maxWaiters) return read();
    const waiter = new Waiter();
    let set = this.#waiters.get(reservationId);
    if (!set) this.#waiters.set(reservationId, (set = new Set()));
    set.add(waiter);
    this.#count++;
    const channel = eventKeys(this.#keyPrefix, eventId).changes;
    try {
      try {
        await this.#subscribe(channel);
      } catch (err) {
        // Without the subscription a wait could miss its wake-up: answer with what is there now.
        this.#logger.warn({ err: (err as Error).message }, 'subscribe failed; answering without waiting');
        return await read();
      }
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = await read();
        const left = deadline - Date.now();
        if (isDone(value) || this.#isClosed || left <= 0) return value;
        await waiter.next(left);
      }
    } finally {
      set.delete(waiter);
      if (set.size === 0) this.#waiters.delete(reservationId);
      this.#count--;
      this.#unsubscribe(channel);
    }
  }

  async #subscribe(channel: string): Promise<void> {
    let entry = this.#channels.get(channel);
    if (!entry) {
      const ready = this.#subscriber.subscribe(channel).catch((err: unknown) => {
        this.#channels.delete(channel);
        throw err;
      });
      entry = { count: 0, ready };
      this.#channels.set(channel, entry);
    }
    entry.count++;
    await entry.ready;
  }

  #unsubscribe(channel: string): void {
    const entry = this.#channels.get(channel);
    if (!entry || --entry.count > 0) return;
    this.#channels.delete(channel);
    this.#subscriber.unsubscribe(channel).catch((err: unknown) => this.#logger.warn({ err: (err as Error).message }, 'unsubscribe failed'));
  }

  #wakeAll(): void {
    for (const set of this.#waiters.values()) for (const waiter of set) waiter.wake();
  }

  /** Answers every waiter now (each re-reads once and returns), then closes the subscriber. */
  async close(): Promise<void> {
    this.#isClosed = true;
    this.#wakeAll();
    const deadline = Date.now() + 5_000;
    while (this.#count > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    await this.#subscriber.quit().catch(() => undefined);
  }
}
