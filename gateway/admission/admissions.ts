import type { AdmitRequest, AdmitResult, ReservationStore } from '../../core/reservation-store.ts';
import { FlushBatcher } from './flush-batcher.ts';

/** Most requests one admission call carries (Redis runs ~100 of them in a few milliseconds). */
export const ADMISSIONS_PER_CALL = 100;

/**
 * The gateway's admission calls, grouped per event: a request that finds its event's batcher idle is
 * admitted in a call of its own at once; those that arrive while that call is in flight go together in
 * the next (`admitBatch`, in the order they arrived). A hot event then costs one script call per round
 * trip instead of one per request, and every request's result is the one that many single calls in a
 * row would have given.
 */
export class Admissions {
  readonly #store: Pick<ReservationStore, 'admitBatch'>;
  readonly #batchers = new Map<string, FlushBatcher<AdmitRequest, AdmitResult>>();

  constructor(store: Pick<ReservationStore, 'admitBatch'>) {
    this.#store = store;
  }

  admit(request: AdmitRequest): Promise<AdmitResult> {
    let batcher = this.#batchers.get(request.eventId);
    if (!batcher) {
      const eventId = request.eventId;
      batcher = new FlushBatcher((requests) => this.#store.admitBatch(eventId, requests), ADMISSIONS_PER_CALL);
      this.#batchers.set(eventId, batcher);
    }
    return batcher.add(request);
  }
}
