import { Router } from 'express';
import { AppError } from '../../core/errors.ts';
import type { FairnessReport } from '../../core/fairness/report.ts';
import type { ReservationStore } from '../../core/reservation-store.ts';
import type { createAuth } from '../auth/jwt.ts';
import type { Catalog, EventRow } from '../catalog/catalog.ts';
import { bodyValidator } from '../http/validate.ts';
import { queueSettingsSchema, saleSwitchSchema } from '../schemas.ts';
import { eventView } from './views.ts';

const validateSale = bodyValidator(saleSwitchSchema);
const validateQueue = bodyValidator(queueSettingsSchema);

export interface AdminRouteDeps {
  readonly catalog: Catalog;
  readonly store: ReservationStore;
  readonly auth: ReturnType<typeof createAuth>;
  /** computes an event's fairness report off the event loop (core/fairness); throws when busy */
  readonly fairness?: { report(eventId: string): Promise<FairnessReport | null> };
}

/**
 * Operators' switches, effective at once on every gateway (each admission reads them from Redis):
 * the sale switch, and each event's queue depth limit.
 */
export function adminRoutes(deps: AdminRouteDeps): Router {
  const { catalog, store, auth, fairness } = deps;
  const router = Router();

  const queueView = async (event: EventRow) => {
    const eventId = event.id;
    const [stats, draw] = await Promise.all([store.queueStats(eventId), event.admission.mode === 'lottery' ? store.lotteryDraw(eventId) : undefined]);
    return {
      event_id: eventId,
      depth: stats.depth,
      max_depth: stats.maxDepth,
      drain_rate_per_s: stats.drainRatePerS,
      oldest_wait_ms: stats.oldestWaitMs,
      // The shard holding the event's lease, and its fencing token; null while no shard owns it.
      owner: stats.owner ? { shard_id: stats.owner.shardId, token: stats.owner.token } : null,
      // A lottery pre-queue: its window, seed and whether the window has been drawn (docs/fairness.md).
      lottery: event.admission.mode === 'lottery'
        ? { window_s: event.admission.windowS, seed: event.admission.seed, drawn: draw?.isDrawn ?? false, drawn_requests: draw?.drawnCount ?? null }
        : null,
    };
  };

  /**
   * @openapi
   * /admin/events/{id}/sale:
   *   put:
   *     operationId: setSaleState
   *     tags: [Operators]
   *     summary: Open, pause or close a sale at once on every gateway (admin)
   *     description: >-
   *       The switch wins over the sale window. Paused, new reserves are refused `409 sales_paused` and
   *       queued ones are still decided; closed, new reserves are refused `409 sales_closed` and queued
   *       ones are decided `rejected` with reason `sales_closed`.
   *     security: [{ bearer: [] }]
   *     parameters:
   *       - $ref: '#/components/parameters/EventId'
   *       - $ref: '#/components/parameters/XRequestId'
   *     requestBody:
   *       required: true
   *       content: { application/json: { schema: { $ref: '#/components/schemas/SaleSwitch' } } }
   *     responses:
   *       '200':
   *         description: The event
   *         headers: { X-Request-Id: { $ref: '#/components/headers/XRequestId' } }
   *         content: { application/json: { schema: { $ref: '#/components/schemas/Event' } } }
   *       '400': { $ref: '#/components/responses/InvalidRequest' }
   *       '401': { $ref: '#/components/responses/Unauthorized' }
   *       '403': { $ref: '#/components/responses/Forbidden' }
   *       '404': { $ref: '#/components/responses/EventNotFound' }
   *       '413': { $ref: '#/components/responses/PayloadTooLarge' }
   *       '415': { $ref: '#/components/responses/UnsupportedMediaType' }
   *       '429': { $ref: '#/components/responses/RateLimited' }
   */
  router.put('/admin/events/:id/sale', ...auth.authenticate('admin'), async (req, res) => {
    const body = validateSale(req.body);
    const event = await catalog.setSaleState(String(req.params.id), body.state);
    res.json(eventView(event));
  });

  /**
   * @openapi
   * /admin/events/{id}/queue:
   *   get:
   *     operationId: getQueue
   *     tags: [Operators]
   *     summary: "An event's queue: depth, limit, drain rate, oldest wait, owner shard (admin)"
   *     security: [{ bearer: [] }]
   *     parameters:
   *       - $ref: '#/components/parameters/EventId'
   *       - $ref: '#/components/parameters/XRequestId'
   *     responses:
   *       '200':
   *         description: The queue view
   *         headers: { X-Request-Id: { $ref: '#/components/headers/XRequestId' } }
   *         content: { application/json: { schema: { $ref: '#/components/schemas/QueueView' } } }
   *       '401': { $ref: '#/components/responses/Unauthorized' }
   *       '403': { $ref: '#/components/responses/Forbidden' }
   *       '404': { $ref: '#/components/responses/EventNotFound' }
   *       '429': { $ref: '#/components/responses/RateLimited' }
   *   put:
   *     operationId: setQueueSettings
   *     tags: [Operators]
   *     summary: "Bound an event's queue depth, at once on every gateway (admin)"
   *     description: Beyond `max_depth` admitted, undecided requests, reserves are refused `429 queue_full`.
   *     security: [{ bearer: [] }]
   *     parameters:
   *       - $ref: '#/components/parameters/EventId'
   *       - $ref: '#/components/parameters/XRequestId'
   *     requestBody:
   *       required: true
   *       content: { application/json: { schema: { $ref: '#/components/schemas/QueueSettings' } } }
   *     responses:
   *       '200':
   *         description: The queue view with the new limit
   *         headers: { X-Request-Id: { $ref: '#/components/headers/XRequestId' } }
   *         content: { application/json: { schema: { $ref: '#/components/schemas/QueueView' } } }
   *       '400': { $ref: '#/components/responses/InvalidRequest' }
   *       '401': { $ref: '#/components/responses/Unauthorized' }
   *       '403': { $ref: '#/components/responses/Forbidden' }
   *       '404': { $ref: '#/components/responses/EventNotFound' }
   *       '413': { $ref: '#/components/responses/PayloadTooLarge' }
   *       '415': { $ref: '#/components/responses/UnsupportedMediaType' }
   *       '429': { $ref: '#/components/responses/RateLimited' }
   */
  router.get('/admin/events/:id/queue', ...auth.authenticate('admin'), async (req, res) => {
    const event = await catalog.requireEvent(String(req.params.id));
    res.set('Cache-Control', 'no-store').json(await queueView(event));
  });

  router.put('/admin/events/:id/queue', ...auth.authenticate('admin'), async (req, res) => {
    const body = validateQueue(req.body);
    const eventId = String(req.params.id);
    await catalog.setMaxDepth(eventId, body.max_depth);
    res.json(await queueView(await catalog.requireEvent(eventId)));
  });

  // The fairness report (docs/fairness.md), computed from PostgreSQL in a worker thread.
  /**
   * @openapi
   * /admin/events/{id}/fairness:
   *   get:
   *     operationId: getFairnessReport
   *     tags: [Operators]
   *     summary: "The event's fairness report: was it first come, first served? (admin)"
   *     description: >-
   *       Computed from PostgreSQL (so it trails the live sale by the persister's lag) in a worker thread.
   *       Every figure is defined in docs/fairness.md.
   *     security: [{ bearer: [] }]
   *     parameters:
   *       - $ref: '#/components/parameters/EventId'
   *       - $ref: '#/components/parameters/XRequestId'
   *     responses:
   *       '200':
   *         description: The report
   *         headers: { X-Request-Id: { $ref: '#/components/headers/XRequestId' } }
   *         content: { application/json: { schema: { $ref: '#/components/schemas/FairnessReport' } } }
   *       '401': { $ref: '#/components/responses/Unauthorized' }
   *       '403': { $ref: '#/components/responses/Forbidden' }
   *       '404': { $ref: '#/components/responses/EventNotFound' }
   *       '429': { $ref: '#/components/responses/RateLimited' }
   *       '503':
   *         description: >-
   *           `service_unavailable`: reports are busy (one is computed at a time, four wait), PostgreSQL
   *           is down, or this gateway computes none; retry after `Retry-After`
   *         headers:
   *           Retry-After: { $ref: '#/components/headers/RetryAfter' }
   *           X-Request-Id: { $ref: '#/components/headers/XRequestId' }
   *         content: { application/problem+json: { schema: { $ref: '#/components/schemas/Problem' } } }
   */
  router.get('/admin/events/:id/fairness', ...auth.authenticate('admin'), async (req, res) => {
    const event = await catalog.requireEvent(String(req.params.id));
    if (!fairness) throw new AppError('service_unavailable', 'fairness reports are not enabled on this gateway');
    let report: FairnessReport | null;
    try {
      report = await fairness.report(event.id);
    } catch (err) {
      throw new AppError('service_unavailable', 'the fairness report could not be computed now; retry', { cause: err, retryAfterS: 5 });
    }
    if (!report) throw new AppError('event_not_found');
    res.set('Cache-Control', 'no-store').json(report);
  });

  return router;
}
