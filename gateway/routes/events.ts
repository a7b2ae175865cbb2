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

  /**
   * @openapi
   * /events:
   *   post:
   *     operationId: createEvent
   *     tags: [Events]
   *     summary: Create an event (admin)
   *     description: >-
   *       `sale_state` is `scheduled` before `sales_open_at`, `closed` from `sales_close_at`, else `open`.
   *       `sales_close_at` must be after `sales_open_at`. A lottery pre-queue (`admission.mode: lottery`)
   *       needs `admission.window_s` and `sales_open_at`; `seed` is random when omitted.
   *     security: [{ bearer: [] }]
   *     parameters: [{ $ref: '#/components/parameters/XRequestId' }]
   *     requestBody:
   *       required: true
   *       content: { application/json: { schema: { $ref: '#/components/schemas/CreateEvent' } } }
   *     responses:
   *       '201':
   *         description: Created
   *         headers:
   *           Location: { $ref: '#/components/headers/Location' }
   *           X-Request-Id: { $ref: '#/components/headers/XRequestId' }
   *         content: { application/json: { schema: { $ref: '#/components/schemas/Event' } } }
   *       '400': { $ref: '#/components/responses/InvalidRequest' }
   *       '401': { $ref: '#/components/responses/Unauthorized' }
   *       '403': { $ref: '#/components/responses/Forbidden' }
   *       '413': { $ref: '#/components/responses/PayloadTooLarge' }
   *       '415': { $ref: '#/components/responses/UnsupportedMediaType' }
   *       '429': { $ref: '#/components/responses/RateLimited' }
   */
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

  /**
   * @openapi
   * /events:
   *   get:
   *     operationId: listEvents
   *     tags: [Events]
   *     summary: List events, newest first
   *     security: []
   *     parameters:
   *       - $ref: '#/components/parameters/Limit'
   *       - $ref: '#/components/parameters/Cursor'
   *       - $ref: '#/components/parameters/XRequestId'
   *     responses:
   *       '200':
   *         description: A page of events
   *         headers: { X-Request-Id: { $ref: '#/components/headers/XRequestId' } }
   *         content: { application/json: { schema: { $ref: '#/components/schemas/EventList' } } }
   *       '400': { $ref: '#/components/responses/InvalidRequest' }
   *       '429': { $ref: '#/components/responses/RateLimited' }
   */
  router.get('/events', async (req, res) => {
    const page = await catalog.listEvents(limitQuery(req), cursorQuery(req));
    res.json({ events: page.events.map(eventView), next_cursor: page.nextCursor ?? null });
  });

  /**
   * @openapi
   * /events/{id}:
   *   get:
   *     operationId: getEvent
   *     tags: [Events]
   *     summary: An event with its ticket categories
   *     security: []
   *     parameters:
   *       - $ref: '#/components/parameters/EventId'
   *       - $ref: '#/components/parameters/XRequestId'
   *     responses:
   *       '200':
   *         description: The event
   *         headers: { X-Request-Id: { $ref: '#/components/headers/XRequestId' } }
   *         content: { application/json: { schema: { $ref: '#/components/schemas/EventDetail' } } }
   *       '404': { $ref: '#/components/responses/EventNotFound' }
   *       '429': { $ref: '#/components/responses/RateLimited' }
   */
  router.get('/events/:id', async (req, res) => {
    const event = await catalog.requireEvent(String(req.params.id));
    res.json({ ...eventView(event), categories: event.categories.map((c) => ({ id: c.id, name: c.name, total_stock: c.totalStock, price: c.price })) });
  });

  /**
   * @openapi
   * /events/{id}/ticket-category:
   *   post:
   *     operationId: createCategory
   *     tags: [Events]
   *     summary: Add a ticket category to an event (admin)
   *     description: Names are unique per event whatever their case, and returned as given.
   *     security: [{ bearer: [] }]
   *     parameters:
   *       - $ref: '#/components/parameters/EventId'
   *       - $ref: '#/components/parameters/XRequestId'
   *     requestBody:
   *       required: true
   *       content: { application/json: { schema: { $ref: '#/components/schemas/CreateCategory' } } }
   *     responses:
   *       '201':
   *         description: Created
   *         headers: { X-Request-Id: { $ref: '#/components/headers/XRequestId' } }
   *         content: { application/json: { schema: { $ref: '#/components/schemas/Category' } } }
   *       '400': { $ref: '#/components/responses/InvalidRequest' }
   *       '401': { $ref: '#/components/responses/Unauthorized' }
   *       '403': { $ref: '#/components/responses/Forbidden' }
   *       '404': { $ref: '#/components/responses/EventNotFound' }
   *       '409':
   *         description: '`category_exists`: the event already has a category of that name, whatever its case'
   *         headers: { X-Request-Id: { $ref: '#/components/headers/XRequestId' } }
   *         content: { application/problem+json: { schema: { $ref: '#/components/schemas/Problem' } } }
   *       '413': { $ref: '#/components/responses/PayloadTooLarge' }
   *       '415': { $ref: '#/components/responses/UnsupportedMediaType' }
   *       '429': { $ref: '#/components/responses/RateLimited' }
   */
  router.post('/events/:id/ticket-category', ...auth.authenticate('admin'), async (req, res) => {
    const body = validateCategory(req.body);
    const category = await catalog.createCategory(String(req.params.id), body);
    res.status(201).json(categoryView(category));
  });

  /**
   * @openapi
   * /events/{id}/availability:
   *   get:
   *     operationId: getAvailability
   *     tags: [Events]
   *     summary: Seats left per category, live
   *     description: Read from Redis; `held` tells buyers how many seats may still come back.
   *     security: []
   *     parameters:
   *       - $ref: '#/components/parameters/EventId'
   *       - $ref: '#/components/parameters/XRequestId'
   *     responses:
   *       '200':
   *         description: Availability
   *         headers: { X-Request-Id: { $ref: '#/components/headers/XRequestId' } }
   *         content: { application/json: { schema: { $ref: '#/components/schemas/Availability' } } }
   *       '404': { $ref: '#/components/responses/EventNotFound' }
   *       '429': { $ref: '#/components/responses/RateLimited' }
   */
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
