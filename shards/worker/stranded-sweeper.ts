import type { Queue } from 'bullmq';
import type { Logger } from '../../core/logger.ts';
import type { ReservationStore } from '../../core/reservation-store.ts';
import { runEvery } from '../periodic.ts';

/**
 * Finds requests that were admitted (counted in the depth, `queued`) but whose job never reached the
 * queue: a gateway that died between the admission script and `Queue.add`. Every `intervalMs` it looks
 * at each owned event's admitted, undecided reservations older than `graceMs` (far longer than the
 * milliseconds between the two steps) and releases each one that has no job: rejected
 * `internal_error`, its place in the depth freed. A request with a job, however long its queue, is
 * left alone.
 */
export class StrandedSweeper {
  readonly #store: ReservationStore;
  readonly #queueOf: (eventId: string) => Queue;
  readonly #options: { intervalMs: number; graceMs: number };
  readonly #logger: Logger;
  #eventIds: string[] = [];
  #loop: { close(): Promise<void> } | undefined;
  #released = 0;

  constructor(store: ReservationStore, queueOf: (eventId: string) => Queue, options: { intervalMs: number; graceMs: number }, logger: Logger) {
    this.#store = store;
    this.#queueOf = queueOf;
    this.#options = options;
    this.#logger = logger.child({ component: 'stranded-sweeper' });
  }

  /** Requests released since start (for tests and metrics). */
  get released(): number {
    return this.#released;
  }

  setEvents(eventIds: Iterable<string>): void {
    this.#eventIds = [...eventIds];
  }

  start(): void {
    this.#loop ??= runEvery(this.#options.intervalMs, () => this.sweep(), (err) => this.#logger.warn({ err: (err as Error).message }, 'sweep failed; will retry'));
  }

  async close(): Promise<void> {
    await this.#loop?.close();
  }

  async sweep(): Promise<number> {
    let released = 0;
    for (const eventId of this.#eventIds) {
      const candidates = await this.#store.pendingSince(eventId, Date.now() - this.#options.graceMs, 500);
      for (const reservationId of candidates) {
        if (await this.#queueOf(eventId).getJob(reservationId)) continue;
        await this.#store.abandon(eventId, reservationId);
        this.#logger.warn({ event_id: eventId, reservation_id: reservationId }, 'admitted request without a job: released (rejected internal_error)');
        released++;
      }
    }
    this.#released += released;
    return released;
  }
}
