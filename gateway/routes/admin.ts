import { Router } from 'express';
import type { ReservationStore } from '../../core/reservation-store.ts';
import type { createAuth } from '../auth/jwt.ts';
import type { Catalog } from '../catalog/catalog.ts';
import { bodyValidator } from '../http/validate.ts';
import { queueSettingsSchema, saleSwitchSchema } from '../schemas.ts';
import { eventView } from './views.ts';

const validateSale = bodyValidator(saleSwitchSchema);
const validateQueue = bodyValidator(queueSettingsSchema);

export interface AdminRouteDeps {
  readonly catalog: Catalog;
  readonly store: ReservationStore;
  readonly oldestWaitMs: (eventId: string) => Promise<number>;
  readonly auth: ReturnType<typeof createAuth>;
}

/**
 * Operators' switches, effective at once on every gateway (each admission reads them from Redis):
 * the sale switch, and each event's queue depth limit.
 */
export function adminRoutes(deps: AdminRouteDeps): Router {
  const { catalog, store, auth } = deps;
  const router = Router();

  const queueView = async (eventId: string) => {
    const [stats, oldestWaitMs] = await Promise.all([store.queueStats(eventId), deps.oldestWaitMs(eventId)]);
    return {
      event_id: eventId,
      depth: stats.depth,
      max_depth: stats.maxDepth,
      drain_rate_per_s: stats.drainRatePerS,
      oldest_wait_ms: oldestWaitMs,
      // Shard ownership by lease is not built yet: one shard process serves every event.
      owner: null,
    };
  };

  router.put('/admin/events/:id/sale', ...auth.authenticate('admin'), async (req, res) => {
    const body = validateSale(req.body);
    const event = await catalog.setSaleState(String(req.params.id), body.state);
    res.json(eventView(event));
  });

  router.get('/admin/events/:id/queue', ...auth.authenticate('admin'), async (req, res) => {
    const event = await catalog.requireEvent(String(req.params.id));
    res.set('Cache-Control', 'no-store').json(await queueView(event.id));
  });

  router.put('/admin/events/:id/queue', ...auth.authenticate('admin'), async (req, res) => {
    const body = validateQueue(req.body);
    const eventId = String(req.params.id);
    await catalog.setMaxDepth(eventId, body.max_depth);
    res.json(await queueView(eventId));
  });

  return router;
}
