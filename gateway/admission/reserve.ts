import { randomUUID } from 'node:crypto';
import type { QueuedRequest } from '../../core/contracts.ts';
import { AppError } from '../../core/errors.ts';
import { newReservationId } from '../../core/keys.ts';
import type { AdmitRequest, AdmitResult } from '../../core/reservation-store.ts';
import type { CategoryRow, EventWithCategories } from '../catalog/catalog.ts';
import type { ReserveBody } from '../schemas.ts';

/** What admission needs, as small interfaces (no express, no drivers), so it can be tested alone. */
export interface AdmissionDeps {
  resolve(eventId: string, categoryName: string): Promise<{ event: EventWithCategories; category: CategoryRow }>;
  repairStock(category: CategoryRow, maxPerUser: number): Promise<void>;
  admit(request: AdmitRequest): Promise<AdmitResult>;
  abandon(eventId: string, reservationId: string): Promise<void>;
  enqueue(eventId: string, request: QueuedRequest): Promise<void>;
  newId?: () => string;
  /** told how each admission ended (metrics) */
  observe?(eventId: string, outcome: AdmissionOutcome): void;
}

/** How an admission ended. */
export type AdmissionOutcome =
  | 'admitted' | 'duplicate' | 'out_of_stock' | 'queue_full' | 'rate_limited' | 'sales_not_open' | 'sales_paused' | 'sales_closed' | 'not_ready' | 'enqueue_failed';

const OUTCOME_OF: Record<AdmitResult['kind'], AdmissionOutcome> = {
  admitted: 'admitted',
  duplicate: 'duplicate',
  category_not_ready: 'not_ready',
  sales_not_open: 'sales_not_open',
  sales_paused: 'sales_paused',
  sales_closed: 'sales_closed',
  out_of_stock: 'out_of_stock',
  queue_full: 'queue_full',
  too_many_queued: 'rate_limited',
};

export interface Admitted {
  readonly reservationId: string;
  /** admitted requests of the event ahead of it; null in a lottery window until the draw */
  readonly position: number | null;
  readonly seqArrival: number;
  /** the reservation existed already (an idempotent replay) */
  readonly isReplay: boolean;
}

export interface ReserveOptions {
  /**
   * Called once the request is known valid, with a fresh reservation id; returns the id to use (another
   * one when an Idempotency-Key was claimed before: the replay then re-admits that reservation, which
   * admission and the queue both treat as a no-op if it exists).
   */
  readonly claim?: (freshReservationId: string) => Promise<string>;
  /** the HTTP request's correlation id (X-Request-Id): kept with the reservation, its job and its Kafka messages */
  readonly requestId?: string;
}

/**
 * Admits one reserve request: resolve event and category (404s), check qty against the event's cap
 * (400), then one Lua call refuses it at the door (sale not open, sold out, queue full) or takes the
 * arrival number, records `queued` and counts the depth; only after the job is in the queue is the
 * request admitted. If the job cannot be added, the admission is undone
 * (rejected `internal_error`) and the caller gets a 503 to retry. Re-admitting an existing reservation
 * (an idempotent replay) changes nothing and re-adds its job, which the queue ignores if it is there
 * (the job id is the reservation id) and the shard decides as a no-op if it was already decided.
 */
export async function reserve(deps: AdmissionDeps, userId: string, body: ReserveBody, options: ReserveOptions = {}): Promise<Admitted> {
  const { event, category } = await deps.resolve(body.event_id, body.category);
  if (body.qty > event.maxPerUser) {
    throw AppError.invalid([{ name: 'qty', reason: `must be at most ${event.maxPerUser} (this event's max_per_user)` }]);
  }
  const freshId = newReservationId(event.id, (deps.newId ?? randomUUID)());
  const reservationId = options.claim ? await options.claim(freshId) : freshId;
  const request: AdmitRequest = {
    reservationId, userId, eventId: event.id, categoryId: category.id, categoryName: category.name, qty: body.qty, requestId: options.requestId,
  };

  let result = await deps.admit(request);
  if (result.kind === 'category_not_ready') {
    await deps.repairStock(category, event.maxPerUser);
    result = await deps.admit(request);
  }
  deps.observe?.(event.id, OUTCOME_OF[result.kind]);
  switch (result.kind) {
    case 'admitted':
    case 'duplicate':
      break;
    case 'category_not_ready':
      throw new AppError('service_unavailable', 'the category is not ready for sale yet', { retryAfterS: 1 });
    case 'sales_not_open':
      throw new AppError('sales_not_open', 'the sale has not opened yet', { retryAfterS: result.retryAfterS });
    case 'sales_paused':
      throw new AppError('sales_paused', 'the sale is paused; try again later');
    case 'sales_closed':
      throw new AppError('sales_closed');
    case 'out_of_stock':
      throw new AppError('out_of_stock', `fewer than ${body.qty} seats are left in ${category.name}`);
    case 'queue_full':
      throw new AppError('queue_full', "the event's queue is full; retry after Retry-After", { retryAfterS: result.retryAfterS });
    case 'too_many_queued':
      throw new AppError('rate_limited', 'you have as many requests queued for this event as allowed; wait for their decisions', { retryAfterS: 1 });
  }

  try {
    await deps.enqueue(event.id, { reservation_id: reservationId, seq_arrival: result.seqArrival, ...(options.requestId ? { request_id: options.requestId } : {}) });
  } catch (err) {
    // Undo only an admission this call made: a replay must not reject the original's request.
    if (result.kind === 'admitted') await deps.abandon(event.id, reservationId).catch(() => undefined);
    deps.observe?.(event.id, 'enqueue_failed');
    throw new AppError('service_unavailable', 'the request could not be queued; retry', { cause: err, retryAfterS: 1 });
  }
  return { reservationId, position: result.position, seqArrival: result.seqArrival, isReplay: result.kind === 'duplicate' };
}
