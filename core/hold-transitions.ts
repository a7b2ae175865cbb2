import type { Redis } from 'ioredis';
import { SNAPSHOT_SCHEMA_VERSION } from './contracts.ts';
import { eventIdOfReservation, eventKeys } from './keys.ts';
import { Scripts } from './redis.ts';

/**
 * The transitions of a hold after the reserve decision: expiry (the owning shard's reaper), confirm in
 * two steps around the payment, and cancel. Each is one guarded Lua script using Redis TIME; any process
 * may run them (Redis runs scripts one at a time), and none waits behind the reserve queue.
 */

export type BeginConfirmResult =
  | { readonly kind: 'paying'; readonly bookingId: string; readonly attempt: string }
  | { readonly kind: 'confirmed' | 'in_flight'; readonly bookingId: string }
  | { readonly kind: 'expired' | 'not_found' }
  | { readonly kind: 'not_confirmable'; readonly status: string };

export type FinishConfirmResult =
  | { readonly kind: 'confirmed'; readonly bookingId: string }
  | { readonly kind: 'declined' }
  | { readonly kind: 'declined_expired' }
  | { readonly kind: 'superseded'; readonly status: string; readonly bookingId: string };

export type CancelResult =
  | { readonly kind: 'cancelled' | 'already_cancelled' | 'not_found' }
  | { readonly kind: 'not_cancellable'; readonly status: string };

export interface TransitionSettings {
  readonly keyPrefix: string;
  readonly retentionMs: number;
  readonly paymentTimeoutMs: number;
}

export class HoldTransitions {
  readonly #scripts: Scripts;
  readonly #settings: TransitionSettings;

  constructor(redis: Redis, settings: TransitionSettings) {
    this.#scripts = new Scripts(redis);
    this.#settings = settings;
  }

  /** Expires up to `limit` due holds of the event; returns how many expired and the next due time. */
  async reap(eventId: string, limit = 500): Promise<{ expired: number; nextDueMs: number | undefined }> {
    const k = eventKeys(this.#settings.keyPrefix, eventId);
    const [expired, nextDue] = (await this.#scripts.run(
      'reapHolds',
      [k.holds, k.users, k.outbox],
      [k.base, limit, this.#settings.retentionMs, SNAPSHOT_SCHEMA_VERSION, k.changes],
    )) as number[];
    return { expired: expired!, nextDueMs: nextDue! < 0 ? undefined : nextDue };
  }

  async beginConfirm(reservationId: string, userId: string, newBookingId: string): Promise<BeginConfirmResult> {
    const eventId = eventIdOfReservation(reservationId);
    if (eventId === undefined) return { kind: 'not_found' };
    const k = eventKeys(this.#settings.keyPrefix, eventId);
    const reply = (await this.#scripts.run(
      'beginConfirm',
      [k.reservation(reservationId), k.holds],
      [userId, newBookingId, this.#settings.paymentTimeoutMs],
    )) as (string | number)[];
    switch (reply[0]) {
      case 1:
        return { kind: 'paying', bookingId: String(reply[1]), attempt: String(reply[2]) };
      case 2:
        return { kind: 'confirmed', bookingId: String(reply[1]) };
      case 3:
        return { kind: 'in_flight', bookingId: String(reply[1]) };
      case 4:
        return { kind: 'expired' };
      case 5:
        return { kind: 'not_confirmable', status: String(reply[1]) };
      case 0:
        return { kind: 'not_found' };
      default:
        throw new Error(`beginConfirm returned unknown code ${String(reply[0])}`);
    }
  }

  async finishConfirm(reservationId: string, categoryId: string, attempt: string, isPaid: boolean): Promise<FinishConfirmResult> {
    const eventId = eventIdOfReservation(reservationId)!;
    const k = eventKeys(this.#settings.keyPrefix, eventId);
    const reply = (await this.#scripts.run(
      'finishConfirm',
      [k.reservation(reservationId), k.category(categoryId), k.holds, k.users, k.outbox],
      [attempt, isPaid ? '1' : '0', this.#settings.retentionMs, SNAPSHOT_SCHEMA_VERSION, k.changes],
    )) as (string | number)[];
    switch (reply[0]) {
      case 1:
        return { kind: 'confirmed', bookingId: String(reply[2]) };
      case 2:
        return { kind: 'declined' };
      case 3:
        return { kind: 'declined_expired' };
      case 0:
        return { kind: 'superseded', status: String(reply[1]), bookingId: String(reply[2]) };
      default:
        throw new Error(`finishConfirm returned unknown code ${String(reply[0])}`);
    }
  }

  async cancel(reservationId: string, categoryId: string, userId: string): Promise<CancelResult> {
    const eventId = eventIdOfReservation(reservationId);
    if (eventId === undefined) return { kind: 'not_found' };
    const k = eventKeys(this.#settings.keyPrefix, eventId);
    const reply = (await this.#scripts.run(
      'cancelReservation',
      [k.reservation(reservationId), k.category(categoryId), k.holds, k.users, k.outbox, k.depth, k.decided, k.queuedByUser, k.pending],
      [userId, this.#settings.retentionMs, SNAPSHOT_SCHEMA_VERSION, k.changes],
    )) as (string | number)[];
    switch (reply[0]) {
      case 1:
        return { kind: 'cancelled' };
      case 2:
        return { kind: 'already_cancelled' };
      case 3:
        return { kind: 'not_cancellable', status: String(reply[1]) };
      case 0:
        return { kind: 'not_found' };
      default:
        throw new Error(`cancelReservation returned unknown code ${String(reply[0])}`);
    }
  }
}
