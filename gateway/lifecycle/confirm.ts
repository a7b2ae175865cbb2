import { randomUUID } from 'node:crypto';
import { AppError } from '../../core/errors.ts';
import type { BeginConfirmResult, FinishConfirmResult } from '../../core/hold-transitions.ts';
import type { StoredReservation } from '../../core/reservation-store.ts';
import type { PaymentGateway } from '../payment/simulated-payment.ts';

/** What confirm needs, as small interfaces (no express, no drivers). */
export interface ConfirmDeps {
  read(reservationId: string): Promise<StoredReservation | undefined>;
  beginConfirm(reservationId: string, userId: string, newBookingId: string): Promise<BeginConfirmResult>;
  finishConfirm(reservationId: string, categoryId: string, attempt: string, isPaid: boolean): Promise<FinishConfirmResult>;
  /** Waits (long-poll) until the reservation's payment in flight has finished, or `timeoutMs`. */
  waitWhilePaying(reservation: StoredReservation, timeoutMs: number): Promise<void>;
  priceOf(eventId: string, categoryId: string): Promise<number>;
  payment: PaymentGateway;
  paymentTimeoutMs: number;
}

export interface Confirmed {
  readonly bookingId: string;
  readonly reservationId: string;
}

const MAX_ROUNDS = 5;

/**
 * Confirms a hold for its owner: beginConfirm moves it to `paying` (booking id made there), the payment
 * runs, finishConfirm records the outcome. A second confirm while a payment is in flight waits for it
 * and then answers from the result, so nobody is charged twice; a confirmed reservation answers with its
 * booking whatever `paymentOk` says.
 */
export async function confirm(deps: ConfirmDeps, userId: string, reservationId: string, paymentOk: boolean): Promise<Confirmed> {
  const notFound = new AppError('reservation_not_found', `no reservation ${reservationId}`);
  const reservation = await deps.read(reservationId);
  if (!reservation || reservation.userId !== userId) throw notFound;

  for (let round = 0; round < MAX_ROUNDS; round++) {
    const begin = await deps.beginConfirm(reservationId, userId, randomUUID());
    switch (begin.kind) {
      case 'confirmed':
        return { bookingId: begin.bookingId, reservationId };
      case 'not_found':
        // Redis no longer has it: answer from the durable record.
        if (reservation.status === 'confirmed' && reservation.bookingId) return { bookingId: reservation.bookingId, reservationId };
        throw reservation.status === 'expired' ? new AppError('hold_expired') : new AppError('not_confirmable', `the reservation is ${reservation.status}`);
      case 'expired':
        throw new AppError('hold_expired', 'the hold expired before the confirm');
      case 'not_confirmable':
        throw new AppError('not_confirmable', `the reservation is ${begin.status}`);
      case 'in_flight':
        await deps.waitWhilePaying(reservation, deps.paymentTimeoutMs);
        continue;
      case 'paying': {
        const amountMinor = (await deps.priceOf(reservation.eventId, reservation.categoryId)) * reservation.qty;
        const isPaid = await deps.payment.charge({ bookingId: begin.bookingId, amountMinor, paymentOk });
        const finish = await deps.finishConfirm(reservationId, reservation.categoryId, begin.attempt, isPaid);
        if (finish.kind === 'confirmed') return { bookingId: finish.bookingId, reservationId };
        if (finish.kind === 'declined') throw new AppError('payment_failed', 'the payment was declined; the hold stays until it expires');
        if (finish.kind === 'declined_expired') throw new AppError('payment_failed', 'the payment was declined and the hold has expired');
        // The payment outlived its deadline and the hold was given up meanwhile: give the money back.
        if (isPaid) await deps.payment.refund(begin.bookingId);
        if (finish.status === 'confirmed') return { bookingId: finish.bookingId, reservationId };
        throw new AppError('service_unavailable', 'the payment took too long and was voided; retry', { retryAfterS: 1 });
      }
    }
  }
  throw new AppError('service_unavailable', 'the reservation is busy; retry', { retryAfterS: 1 });
}
