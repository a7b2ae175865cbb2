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

  router.put('/admin/events/:id/sale', ...auth.authenticate('admin'), async (req, res) => {
    const body = validateSale(req.body);
    const event = await catalog.setSaleState(String(req.params.id), body.state);
    res.json(eventView(event));
  });

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
