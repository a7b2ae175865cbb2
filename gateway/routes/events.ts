import { Router } from 'express';
import { AppError } from '../../core/errors.ts';
import type { ReservationStore } from '../../core/reservation-store.ts';
import type { createAuth } from '../auth/jwt.ts';
import type { Catalog } from '../catalog/catalog.ts';
import { cursorQuery, limitQuery } from '../http/params.ts';
import { bodyValidator } from '../http/validate.ts';
import { createCategorySchema, createEventSchema } from '../schemas.ts';
import { categoryView, eventView, saleState } from './views.ts';

const validateEvent = bodyValidator(createEventSchema);
const validateCategory = bodyValidator(createCategorySchema);

export function eventRoutes(deps: { catalog: Catalog; store: ReservationStore; auth: ReturnType<typeof createAuth> }): Router {
  const { catalog, store, auth } = deps;
  const router = Router();

  router.post('/events', ...auth.authenticate('admin'), async (req, res) => {
    const body = validateEvent(req.body);
    const problems = [];
    if (body.sales_open_at && body.sales_close_at && Date.parse(body.sales_close_at) <= Date.parse(body.sales_open_at)) {
      problems.push({ name: 'sales_close_at', reason: 'must be after sales_open_at' });
    }
    if (body.admission?.mode === 'lottery') {
      if (body.admission.window_s === undefined) problems.push({ name: 'admission.window_s', reason: 'is required for a lottery' });
      if (!body.sales_open_at) problems.push({ name: 'sales_open_at', reason: 'is required for a lottery (its window starts then)' });
    } else if (body.admission && (body.admission.window_s !== undefined || body.admission.seed !== undefined)) {
      problems.push({ name: 'admission', reason: 'window_s and seed apply to mode "lottery" only' });
    }
    if (problems.length > 0) throw AppError.invalid(problems);
    const event = await catalog.createEvent(body);
    res.status(201).location(`/events/${event.id}`).json(eventView(event));
  });

  router.get('/events', async (req, res) => {
    const page = await catalog.listEvents(limitQuery(req), cursorQuery(req));
    res.json({ events: page.events.map(eventView), next_cursor: page.nextCursor ?? null });
  });

  router.get('/events/:id', async (req, res) => {
    const event = await catalog.requireEvent(String(req.params.id));
    res.json({ ...eventView(event), categories: event.categories.map((c) => ({ id: c.id, name: c.name, total_stock: c.totalStock, price: c.price })) });
  });

  router.post('/events/:id/ticket-category', ...auth.authenticate('admin'), async (req, res) => {
    const body = validateCategory(req.body);
    const category = await catalog.createCategory(String(req.params.id), body);
    res.status(201).json(categoryView(category));
  });

  router.get('/events/:id/availability', async (req, res) => {
    const event = await catalog.requireEvent(String(req.params.id));
    const stock = await store.readStock(event.id, event.categories.map((c) => c.id));
    res.set('Cache-Control', 'no-store').json({
      event_id: event.id,
      sale_state: saleState(event),
      categories: event.categories.map((c) => {
        const s = stock.get(c.id);
        return { id: c.id, name: c.name, total_stock: c.totalStock, available: s?.available ?? c.totalStock, held: s?.held ?? 0, price: c.price };
      }),
    });
  });

  return router;
}
