import { Router } from 'express';
import type pg from 'pg';
import { AppError } from '../../core/errors.ts';
import { eventIdOfReservation } from '../../core/keys.ts';
import type { ReservationStore } from '../../core/reservation-store.ts';
import { reserve, type AdmissionDeps } from '../admission/reserve.ts';
import type { createAuth } from '../auth/jwt.ts';
import { readArchivedReservation } from '../catalog/archive.ts';
import { bodyValidator } from '../http/validate.ts';
import { reserveSchema } from '../schemas.ts';
import { reservationView, statusUrl } from './views.ts';

const validateReserve = bodyValidator(reserveSchema);

/** Suggested poll interval after a 202 (seconds). */
const POLL_AFTER_S = 1;

export function reservationRoutes(deps: {
  admission: AdmissionDeps;
  store: ReservationStore;
  db: pg.Pool;
  auth: ReturnType<typeof createAuth>;
}): Router {
  const { admission, store, db, auth } = deps;
  const router = Router();

  router.post('/reserve', auth.authenticate('user'), async (req, res) => {
    const body = validateReserve(req.body);
    const admitted = await reserve(admission, req.caller!.sub, body);
    const url = statusUrl(admitted.reservationId);
    res
      .status(202)
      .location(url)
      .set('Retry-After', String(POLL_AFTER_S))
      .json({ reservation_id: admitted.reservationId, status: 'queued', position: admitted.position, status_url: url });
  });

  router.get('/reservations/:id', auth.authenticate('user', 'admin'), async (req, res) => {
    const id = String(req.params.id);
    const notFound = new AppError('reservation_not_found', `no reservation ${id}`);
    if (eventIdOfReservation(id) === undefined) throw notFound;
    const reservation = (await store.read(id)) ?? (await readArchivedReservation(db, id));
    // Another user's reservation is indistinguishable from a missing one.
    if (!reservation || (req.caller!.role !== 'admin' && reservation.userId !== req.caller!.sub)) throw notFound;
    if (reservation.status === 'queued') res.set('Retry-After', String(POLL_AFTER_S));
    res.set('Cache-Control', 'no-store').json(reservationView(reservation));
  });

  return router;
}
