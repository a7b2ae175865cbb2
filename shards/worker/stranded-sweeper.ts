import type { Logger } from '../../core/logger.ts';
import type { ReservationStore } from '../../core/reservation-store.ts';
import { runEvery } from '../periodic.ts';

/**
 * Finds requests that were admitted (counted in the depth, `queued`) but whose job never reached the
 * queue: a gateway that died between the admission script and `Queue.add`. Such a request is decided
 * in turn if any later request of its event is queued (a job decides every pending request at least up
 * to its batch's highest arrival number); it is stranded only if none follows. So every `intervalMs`, for each
 * owned event whose queue holds no job at all (none waiting, active, delayed or paused), the pending
 * requests admitted more than `graceMs` ago (far longer than the milliseconds between admission and
 * enqueue) have no job, and each is released: rejected `internal_error`, its place in the depth freed.
 */
export class StrandedSweeper {
  readonly #store: ReservationStore;
  readonly #queueHasJobs: (eventId: string) => Promise<boolean>;
  readonly #options: { intervalMs: number; graceMs: number };
  readonly #logger: Logger;
  #eventIds: string[] = [];
  #loop: { close(): Promise<void> } | undefined;
  #released = 0;

  constructor(store: ReservationStore, queueHasJobs: (eventId: string) => Promise<boolean>, options: { intervalMs: number; graceMs: number }, logger: Logger) {
    this.#store = store;
    this.#queueHasJobs = queueHasJobs;
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
      if (candidates.length === 0 || (await this.#queueHasJobs(eventId))) continue;
      for (const reservationId of candidates) {
        await this.#store.abandon(eventId, reservationId);
        this.#logger.warn({ event_id: eventId, reservation_id: reservationId }, 'admitted request without a job: released (rejected internal_error)');
        released++;
      }
    }
    this.#released += released;
    return released;
  }
}
