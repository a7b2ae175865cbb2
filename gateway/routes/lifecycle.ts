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
