import { Router } from 'express';
import { AppError } from '../../core/errors.ts';
import type { HoldTransitions } from '../../core/hold-transitions.ts';
import { bodyHash, type IdempotencyKeys } from '../../core/idempotency.ts';
import { eventIdOfReservation } from '../../core/keys.ts';
import type { StoredReservation } from '../../core/reservation-store.ts';
import type { createAuth } from '../auth/jwt.ts';
import { idempotencyKeyHeader } from '../http/params.ts';
import { bodyValidator } from '../http/validate.ts';
import { confirm, type ConfirmDeps } from '../lifecycle/confirm.ts';
import { confirmSchema } from '../schemas.ts';
import { reservationView } from './views.ts';

const validateConfirm = bodyValidator(confirmSchema);

export interface LifecycleRouteDeps {
  readonly confirm: ConfirmDeps;
  readonly transitions: HoldTransitions;
  readonly read: (reservationId: string) => Promise<StoredReservation | undefined>;
  readonly idempotency: IdempotencyKeys;
  readonly auth: ReturnType<typeof createAuth>;
}

/** POST /confirm and DELETE /reservations/{id}: the owner ends a hold one way or the other. */
export function lifecycleRoutes(deps: LifecycleRouteDeps): Router {
  const { transitions, read, idempotency, auth } = deps;
  const router = Router();

  /**
   * @openapi
   * /confirm:
   *   post:
   *     operationId: confirm
   *     tags: [Reservations]
   *     summary: Confirm a hold with a (simulated) payment (owner)
   *     description: >-
   *       Confirming a confirmed reservation returns the same `booking_id` whatever `payment_ok` says. Two
   *       confirms at once both get the same `200` and the card is charged once.
   *     security: [{ bearer: [] }]
   *     parameters:
   *       - $ref: '#/components/parameters/IdempotencyKey'
   *       - $ref: '#/components/parameters/XRequestId'
   *     requestBody:
   *       required: true
   *       content: { application/json: { schema: { $ref: '#/components/schemas/Confirm' } } }
   *     responses:
   *       '200':
   *         description: Confirmed and paid
   *         headers: { X-Request-Id: { $ref: '#/components/headers/XRequestId' } }
   *         content: { application/json: { schema: { $ref: '#/components/schemas/Confirmation' } } }
   *       '400': { $ref: '#/components/responses/InvalidRequest' }
   *       '401': { $ref: '#/components/responses/Unauthorized' }
   *       '402':
   *         description: >-
   *           `payment_failed`: the payment was declined; the hold stays `reserved` until it expires, so the
   *           buyer may retry (not stored under the `Idempotency-Key`)
   *         headers: { X-Request-Id: { $ref: '#/components/headers/XRequestId' } }
   *         content: { application/problem+json: { schema: { $ref: '#/components/schemas/Problem' } } }
   *       '403': { $ref: '#/components/responses/Forbidden' }
   *       '404': { $ref: '#/components/responses/ReservationNotFound' }
   *       '409':
   *         description: >-
   *           `hold_expired` past `expires_at` (even before the seats were reaped), `not_confirmable` for a
   *           `queued`, `rejected` or `cancelled` reservation
   *         headers: { X-Request-Id: { $ref: '#/components/headers/XRequestId' } }
   *         content: { application/problem+json: { schema: { $ref: '#/components/schemas/Problem' } } }
   *       '413': { $ref: '#/components/responses/PayloadTooLarge' }
   *       '415': { $ref: '#/components/responses/UnsupportedMediaType' }
   *       '422': { $ref: '#/components/responses/IdempotencyKeyReused' }
   *       '429': { $ref: '#/components/responses/RateLimited' }
   *       '503': { $ref: '#/components/responses/ServiceUnavailable' }
   */
  router.post('/confirm', ...auth.authenticate('user'), async (req, res) => {
    const userId = req.caller!.sub;
    const key = idempotencyKeyHeader(req);
    const body = validateConfirm(req.body);
    let isKeyClaimedHere = false;
    if (key !== undefined) {
      const claimed = await idempotency.claim(userId, 'confirm', key, bodyHash(body), body.reservation_id);
      if (claimed.kind === 'reused_with_other_body') throw new AppError('idempotency_key_reused', 'this Idempotency-Key was used with another body');
      isKeyClaimedHere = claimed.kind === 'claimed';
    }
    try {
      const confirmed = await confirm(deps.confirm, userId, body.reservation_id, body.payment_ok ?? true);
      res.json({ booking_id: confirmed.bookingId, reservation_id: confirmed.reservationId, status: 'confirmed', payment_status: 'paid' });
    } catch (err) {
      // A declined payment (or a failure) is not kept under the key: the buyer may retry with it.
      if (isKeyClaimedHere && err instanceof AppError && (err.code === 'payment_failed' || err.status >= 500)) {
        await idempotency.release(userId, 'confirm', key!).catch(() => undefined);
      }
      throw err;
    }
  });

  /**
   * @openapi
   * /reservations/{id}:
   *   delete:
   *     operationId: cancelReservation
   *     tags: [Reservations]
   *     summary: Cancel a hold or a queued request (owner)
   *     description: >-
   *       A hold's seats are sellable at once; a queued request leaves the queue and takes no seat.
   *       Cancelling again returns the same `200`.
   *     security: [{ bearer: [] }]
   *     parameters:
   *       - $ref: '#/components/parameters/ReservationId'
   *       - $ref: '#/components/parameters/XRequestId'
   *     responses:
   *       '200':
   *         description: The reservation, now `cancelled`
   *         headers: { X-Request-Id: { $ref: '#/components/headers/XRequestId' } }
   *         content: { application/json: { schema: { $ref: '#/components/schemas/Reservation' } } }
   *       '401': { $ref: '#/components/responses/Unauthorized' }
   *       '403': { $ref: '#/components/responses/Forbidden' }
   *       '404': { $ref: '#/components/responses/ReservationNotFound' }
   *       '409':
   *         description: '`not_cancellable`: `confirmed`, `expired`, `rejected`, or its payment is in flight'
   *         headers: { X-Request-Id: { $ref: '#/components/headers/XRequestId' } }
   *         content: { application/problem+json: { schema: { $ref: '#/components/schemas/Problem' } } }
   *       '429': { $ref: '#/components/responses/RateLimited' }
   */
  router.delete('/reservations/:id', ...auth.authenticate('user'), async (req, res) => {
    const id = String(req.params.id);
    const userId = req.caller!.sub;
    const notFound = new AppError('reservation_not_found', `no reservation ${id}`);
    if (eventIdOfReservation(id) === undefined) throw notFound;
    const reservation = await read(id);
    if (!reservation || reservation.userId !== userId) throw notFound;
    const result = await transitions.cancel(id, reservation.categoryId, userId);
    if (result.kind === 'not_cancellable') {
      const why = result.status === 'paying' ? 'a payment is in progress' : `the reservation is ${result.status}`;
      throw new AppError('not_cancellable', why);
    }
    if (result.kind === 'not_found') {
      // Only PostgreSQL still has it: a cancelled one answers the same, anything else is final.
      if (reservation.status === 'cancelled') return res.json(reservationView(reservation));
      throw new AppError('not_cancellable', `the reservation is ${reservation.status}`);
    }
    const after = (await read(id))!;
    res.set('Cache-Control', 'no-store').json(reservationView(after));
  });

  return router;
}
