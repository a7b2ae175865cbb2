import { Router, type RequestHandler, type Response } from 'express';
import type pg from 'pg';
import type { Role } from '../../core/auth-token.ts';
import { AppError } from '../../core/errors.ts';
import { bodyHash, type IdempotencyKeys } from '../../core/idempotency.ts';
import { eventIdOfReservation } from '../../core/keys.ts';
import type { ReservationStore, StoredReservation } from '../../core/reservation-store.ts';
import { reserve, type AdmissionDeps } from '../admission/reserve.ts';
import { listArchivedReservations, readArchivedReservation } from '../catalog/archive.ts';
import { cursorQuery, idempotencyKeyHeader, limitQuery, preferWait, statusQuery, waitQuery } from '../http/params.ts';
import { bodyValidator } from '../http/validate.ts';
import { reserveSchema } from '../schemas.ts';
import type { ChangeWaiter } from '../waiting/change-waiter.ts';
import { reservationView, statusUrl } from './views.ts';

const validateReserve = bodyValidator(reserveSchema);

/** Suggested poll interval while a request is queued (seconds). */
const POLL_AFTER_S = 1;

export interface ReservationRouteDeps {
  readonly admission: AdmissionDeps;
  readonly store: ReservationStore;
  readonly db: pg.Pool;
  readonly waiter: ChangeWaiter;
  readonly idempotency: IdempotencyKeys;
  /** What a route here runs before its handler, given the roles it admits: the token check, with the rate limits and the JSON body around it (app.ts). */
  readonly guard: (...roles: Role[]) => RequestHandler[];
}

/** A reservation from Redis, or from PostgreSQL once Redis has let it go. */
export const readReservation = (store: ReservationStore, db: pg.Pool) => async (id: string): Promise<StoredReservation | undefined> =>
  (await store.read(id)) ?? (await readArchivedReservation(db, id));

function sendReservation(res: Response, reservation: StoredReservation, status = 200): void {
  if (reservation.status === 'queued') res.set('Retry-After', String(POLL_AFTER_S));
  res.status(status).set('Cache-Control', 'no-store').json(reservationView(reservation));
}

export function reservationRoutes(deps: ReservationRouteDeps): Router {
  const { admission, store, db, waiter, idempotency, guard } = deps;
  const read = readReservation(store, db);
  const router = Router();

  /**
   * @openapi
   * /reserve:
   *   post:
   *     operationId: reserve
   *     tags: [Reservations]
   *     summary: Reserve seats (user)
   *     description: >-
   *       Admits the request into the event's queue, decided in arrival order by the shard that owns the
   *       event: `202` with the status URL (poll or long-poll it). With `Prefer: wait=N` the call waits up
   *       to N seconds for the decision: `201` when seats are held, `409` when refused, `202` if still
   *       undecided. The same `Idempotency-Key` and body again returns the same reservation and queues
   *       nothing.
   *     security: [{ bearer: [] }]
   *     parameters:
   *       - $ref: '#/components/parameters/IdempotencyKey'
   *       - $ref: '#/components/parameters/PreferWait'
   *       - $ref: '#/components/parameters/XRequestId'
   *     requestBody:
   *       required: true
   *       content: { application/json: { schema: { $ref: '#/components/schemas/Reserve' } } }
   *     responses:
   *       '201':
   *         description: 'With `Prefer: wait=N`, seats were held within the wait (status `reserved`, with `expires_at`)'
   *         headers:
   *           Location: { $ref: '#/components/headers/Location' }
   *           X-Request-Id: { $ref: '#/components/headers/XRequestId' }
   *         content: { application/json: { schema: { $ref: '#/components/schemas/Reservation' } } }
   *       '202':
   *         description: Admitted and queued (`Retry-After` is the suggested poll interval while queued)
   *         headers:
   *           Location: { $ref: '#/components/headers/Location' }
   *           Retry-After: { $ref: '#/components/headers/RetryAfter' }
   *           X-Request-Id: { $ref: '#/components/headers/XRequestId' }
   *         content: { application/json: { schema: { $ref: '#/components/schemas/ReserveAccepted' } } }
   *       '400': { $ref: '#/components/responses/InvalidRequest' }
   *       '401': { $ref: '#/components/responses/Unauthorized' }
   *       '403': { $ref: '#/components/responses/Forbidden' }
   *       '404':
   *         description: '`event_not_found` or `category_not_found`'
   *         headers: { X-Request-Id: { $ref: '#/components/headers/XRequestId' } }
   *         content: { application/problem+json: { schema: { $ref: '#/components/schemas/Problem' } } }
   *       '409':
   *         description: >-
   *           `sales_not_open` (with `Retry-After`, seconds until it opens), `sales_paused`, `sales_closed`,
   *           `out_of_stock` (fewer seats left than `qty`: refused without queueing, or the decision with
   *           `Prefer: wait`), `limit_exceeded` (the decision with `Prefer: wait`); a refused decision
   *           names its `reservation_id`
   *         headers:
   *           Retry-After: { $ref: '#/components/headers/RetryAfter' }
   *           X-Request-Id: { $ref: '#/components/headers/XRequestId' }
   *         content: { application/problem+json: { schema: { $ref: '#/components/schemas/Problem' } } }
   *       '413': { $ref: '#/components/responses/PayloadTooLarge' }
   *       '415': { $ref: '#/components/responses/UnsupportedMediaType' }
   *       '422': { $ref: '#/components/responses/IdempotencyKeyReused' }
   *       '429':
   *         description: >-
   *           `queue_full` (the event's queue is at `max_depth`) or `rate_limited` (the IP's or user's
   *           requests per minute, or `MAX_QUEUED_PER_USER` requests queued at once); retry after `Retry-After`
   *         headers:
   *           Retry-After: { $ref: '#/components/headers/RetryAfter' }
   *           X-Request-Id: { $ref: '#/components/headers/XRequestId' }
   *         content: { application/problem+json: { schema: { $ref: '#/components/schemas/Problem' } } }
   *       '503': { $ref: '#/components/responses/ServiceUnavailable' }
   */
  router.post('/reserve', ...guard('user'), async (req, res) => {
    const userId = req.caller!.sub;
    const key = idempotencyKeyHeader(req);
    const body = validateReserve(req.body);
    const waitS = preferWait(req);
    let isKeyClaimedHere = false;
    const claim = key === undefined ? undefined : async (freshId: string) => {
      const claimed = await idempotency.claim(userId, 'reserve', key, bodyHash(body), freshId);
      if (claimed.kind === 'reused_with_other_body') throw new AppError('idempotency_key_reused', 'this Idempotency-Key was used with another body');
      isKeyClaimedHere = claimed.kind === 'claimed';
      return claimed.ref;
    };
    let admitted;
    try {
      admitted = await reserve(admission, userId, body, { claim, requestId: req.requestId });
    } catch (err) {
      // A request this call failed to admit leaves no result to replay (a replay's claim is not ours).
      if (isKeyClaimedHere && err instanceof AppError && err.status >= 500) await idempotency.release(userId, 'reserve', key!).catch(() => undefined);
      throw err;
    }
    const id = admitted.reservationId;
    const url = statusUrl(id);
    res.location(url);

    if (waitS !== undefined || admitted.isReplay) {
      const current = await waiter.waitFor(eventIdOfReservation(id)!, id, () => read(id), (r) => r?.status !== 'queued', (waitS ?? 0) * 1000);
      if (current?.status === 'reserved' && waitS !== undefined) return sendReservation(res, current, 201);
      if (current?.status === 'rejected' && waitS !== undefined) {
        // The refusal is a decision about an existing reservation: the problem names it.
        const members = { reservation_id: id, status_url: url };
        if (current.reason === 'out_of_stock' || current.reason === 'limit_exceeded') throw new AppError(current.reason, `reservation ${id} was refused: ${current.reason}`, { members });
        throw new AppError('service_unavailable', `reservation ${id} could not be decided; retry`, { retryAfterS: 1, members });
      }
      if (current && current.status !== 'queued') {
        return res.status(202).json({ reservation_id: id, status: current.status, status_url: url });
      }
      const position = current?.position ?? admitted.position;
      return res.status(202).set('Retry-After', String(POLL_AFTER_S)).json({ reservation_id: id, status: 'queued', position, status_url: url });
    }
    res.status(202).set('Retry-After', String(POLL_AFTER_S)).json({ reservation_id: id, status: 'queued', position: admitted.position, status_url: url });
  });

  /**
   * @openapi
   * /reservations:
   *   get:
   *     operationId: listReservations
   *     tags: [Reservations]
   *     summary: The caller's own reservations, newest first
   *     description: >-
   *       From PostgreSQL (a reservation made a few milliseconds ago may not be listed yet); each shown as
   *       Redis has it when Redis still has it.
   *     security: [{ bearer: [] }]
   *     parameters:
   *       - $ref: '#/components/parameters/Limit'
   *       - $ref: '#/components/parameters/Cursor'
   *       - $ref: '#/components/parameters/XRequestId'
   *     responses:
   *       '200':
   *         description: A page of reservations
   *         headers: { X-Request-Id: { $ref: '#/components/headers/XRequestId' } }
   *         content: { application/json: { schema: { $ref: '#/components/schemas/ReservationList' } } }
   *       '400': { $ref: '#/components/responses/InvalidRequest' }
   *       '401': { $ref: '#/components/responses/Unauthorized' }
   *       '429': { $ref: '#/components/responses/RateLimited' }
   */
  router.get('/reservations', ...guard('user', 'admin'), async (req, res) => {
    const page = await listArchivedReservations(db, req.caller!.sub, limitQuery(req), cursorQuery(req));
    // PostgreSQL may trail Redis by a moment: show each listed reservation as Redis has it, if it does.
    const fresh = await Promise.all(page.reservations.map(async (r) => (await store.read(r.reservationId)) ?? r));
    res.set('Cache-Control', 'no-store').json({ reservations: fresh.map(reservationView), next_cursor: page.nextCursor ?? null });
  });

  /**
   * @openapi
   * /reservations/{id}:
   *   get:
   *     operationId: getReservation
   *     tags: [Reservations]
   *     summary: A reservation (its owner, or an admin); long-poll with `wait`
   *     description: >-
   *       From Redis, or from PostgreSQL once Redis has let it go. With `wait`, answers as soon as the
   *       status is no longer `status` (default: the status at the call), or after `wait` seconds unchanged.
   *     security: [{ bearer: [] }]
   *     parameters:
   *       - $ref: '#/components/parameters/ReservationId'
   *       - $ref: '#/components/parameters/Wait'
   *       - $ref: '#/components/parameters/Status'
   *       - $ref: '#/components/parameters/XRequestId'
   *     responses:
   *       '200':
   *         description: The reservation (`Retry-After` while queued)
   *         headers:
   *           Retry-After: { $ref: '#/components/headers/RetryAfter' }
   *           X-Request-Id: { $ref: '#/components/headers/XRequestId' }
   *         content: { application/json: { schema: { $ref: '#/components/schemas/Reservation' } } }
   *       '400': { $ref: '#/components/responses/InvalidRequest' }
   *       '401': { $ref: '#/components/responses/Unauthorized' }
   *       '404': { $ref: '#/components/responses/ReservationNotFound' }
   *       '429': { $ref: '#/components/responses/RateLimited' }
   */
  router.get('/reservations/:id', ...guard('user', 'admin'), async (req, res) => {
    const id = String(req.params.id);
    const waitS = waitQuery(req);
    const statusParam = statusQuery(req);
    const notFound = new AppError('reservation_not_found', `no reservation ${id}`);
    const eventId = eventIdOfReservation(id);
    if (eventId === undefined) throw notFound;
    const isVisible = (r: StoredReservation | undefined): r is StoredReservation =>
      r !== undefined && (req.caller!.role === 'admin' || r.userId === req.caller!.sub);
    // Another user's reservation is indistinguishable from a missing one.
    const first = await read(id);
    if (!isVisible(first)) throw notFound;
    if (!waitS) return sendReservation(res, first);
    const from = statusParam ?? first.status;
    const current = await waiter.waitFor(eventId, id, () => read(id), (r) => r?.status !== from, waitS * 1000);
    if (!isVisible(current)) throw notFound;
    sendReservation(res, current);
  });

  return router;
}
