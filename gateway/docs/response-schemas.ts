import { REJECT_REASONS, RESERVATION_STATUSES } from '../../core/contracts.ts';
import { ERROR_CATALOGUE } from '../../core/errors.ts';
import type { FairnessReport } from '../../core/fairness/report.ts';
import type { categoryView, eventView } from '../routes/views.ts';

/**
 * The response bodies as OpenAPI 3.0 schemas (`#/components/schemas/<name>`), one definition each.
 * Our own shapes are closed (`additionalProperties: false`), so test/openapi.test.ts, which validates
 * real responses against them, fails when a view gains a field these do not list. Where a view's type
 * is exported, the property list is typed against it (a missing or extra key does not compile).
 */

export type JsonSchema = { readonly [keyword: string]: unknown };

const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const string: JsonSchema = { type: 'string' };
const uuid: JsonSchema = { type: 'string', format: 'uuid' };
const time: JsonSchema = { type: 'string', format: 'date-time' };
const count: JsonSchema = { type: 'integer', minimum: 0 };
const closed = (properties: Record<string, JsonSchema>, required = Object.keys(properties), description?: string): JsonSchema => ({
  type: 'object',
  additionalProperties: false,
  required,
  properties,
  ...(description ? { description } : {}),
});
/** An object of numeric figures, for the fairness report's nested parts. */
const figures = (description: string): JsonSchema => ({ type: 'object', description, additionalProperties: true });

const saleState: JsonSchema = {
  type: 'string',
  enum: ['scheduled', 'open', 'paused', 'closed'],
  description: "the admin's switch if set, else the sale window: scheduled before sales_open_at, closed from sales_close_at, else open",
};
const reservationId: JsonSchema = { type: 'string', description: '`<event id>.<uuid>`' };

const eventProperties: Record<keyof ReturnType<typeof eventView>, JsonSchema> = {
  id: uuid,
  name: string,
  date: time,
  max_per_user: { type: 'integer', minimum: 1, maximum: 100 },
  sales_open_at: { ...time, nullable: true },
  sales_close_at: { ...time, nullable: true },
  sale_state: saleState,
  admission: {
    ...closed({ mode: { type: 'string', enum: ['fifo', 'lottery'] }, window_s: { type: 'integer', minimum: 1, maximum: 3600 } }, ['mode']),
    description: 'window_s for a lottery only; the seed is shown to admins only (queue view, fairness report)',
  },
  created_at: time,
};

const categoryProperties: Record<keyof ReturnType<typeof categoryView>, JsonSchema> = {
  id: uuid,
  event_id: uuid,
  name: { type: 'string', description: 'as given at creation' },
  total_stock: { type: 'integer', minimum: 1 },
  price: { type: 'integer', minimum: 0, description: 'in minor units' },
};
const { event_id: _eventId, ...categorySummary } = categoryProperties;

const fairnessProperties: Record<keyof FairnessReport, JsonSchema> = {
  event_id: uuid,
  mode: { type: 'string', enum: ['fifo', 'lottery'] },
  generated_at: time,
  requests: figures('arrivals, admitted, decided, pending, cancelled_queued, won; rejected, refused_at_door and shed by reason'),
  order: figures('pairs, inversions, inversion_rate, by_gap (null for a lottery), displacement {max, p99, mean}'),
  winners: figures('won, ideal, precision, late_winners'),
  users: figures('users, cap_violations, jain_index, jain_index_ideal'),
  conservation: figures('oversold_seats, undersold_refusals, seats_left'),
  shedding: figures('servable_arrivals, servable_shed, rate'),
  time: figures('to_decision_ms {p50, p95, p99, max}, sold_out_after_ms'),
  categories: { type: 'array', items: figures('the same figures per category (category_id, name, total_stock, won, ideal, precision, ...)') },
  lottery: { ...figures('window_s, seed, window_requests, draw_verified, win_rate_by_decile, chi_squared, degrees_of_freedom'), nullable: true },
};

export const RESPONSE_SCHEMAS: Record<string, JsonSchema> = {
  Event: closed(eventProperties, undefined, 'An event as every view shows it'),
  EventDetail: closed({ ...eventProperties, categories: { type: 'array', items: closed(categorySummary) } }, undefined, 'An event with its ticket categories'),
  EventList: closed({ events: { type: 'array', items: ref('Event') }, next_cursor: { type: 'string', nullable: true, description: 'pass it back as `cursor`; null on the last page' } }),
  Category: closed(categoryProperties, undefined, 'A ticket category'),
  Availability: closed({
    event_id: uuid,
    sale_state: saleState,
    categories: {
      type: 'array',
      items: closed({ id: uuid, name: string, total_stock: count, available: count, held: { ...count, description: 'seats held now, which may still come back' }, price: count }),
    },
  }, undefined, 'Seats left per category, read live from Redis'),
  ReserveAccepted: closed({
    reservation_id: reservationId,
    status: { type: 'string', enum: [...RESERVATION_STATUSES], description: '`queued`; a replayed Idempotency-Key whose reservation was decided shows its status' },
    position: { type: 'integer', minimum: 0, nullable: true, description: "admitted requests of this event ahead of this one; null in a lottery window until the draw; absent when not queued" },
    status_url: { type: 'string', description: 'the reservation to poll (also in Location)' },
  }, ['reservation_id', 'status', 'status_url'], 'The request was admitted into the event queue and waits for its decision'),
  Reservation: closed({
    reservation_id: reservationId,
    user_id: string,
    event_id: uuid,
    category: { type: 'string', description: "the category's name" },
    qty: { type: 'integer', minimum: 1 },
    status: { type: 'string', enum: [...RESERVATION_STATUSES] },
    reason: { type: 'string', enum: [...REJECT_REASONS], description: 'why it was rejected (rejected only)' },
    position: { type: 'integer', minimum: 0, description: 'requests ahead (queued only; absent while a lottery window waits for its draw)' },
    expires_at: { ...time, description: 'when the hold ends unless confirmed (once reserved)' },
    booking_id: { type: 'string', description: 'confirmed only' },
    created_at: time,
    updated_at: time,
  }, ['reservation_id', 'user_id', 'event_id', 'category', 'qty', 'status', 'created_at', 'updated_at'], 'A reservation: queued, then reserved or rejected; a hold ends confirmed, expired or cancelled'),
  ReservationList: closed({ reservations: { type: 'array', items: ref('Reservation') }, next_cursor: { type: 'string', nullable: true, description: 'pass it back as `cursor`; null on the last page' } }),
  Confirmation: closed({
    booking_id: string,
    reservation_id: reservationId,
    status: { type: 'string', enum: ['confirmed'] },
    payment_status: { type: 'string', enum: ['paid'] },
  }),
  QueueView: closed({
    event_id: uuid,
    depth: { ...count, description: 'admitted, undecided requests (not BullMQ jobs)' },
    max_depth: { type: 'integer', minimum: 1, description: "the event's own limit or QUEUE_MAX_DEPTH" },
    drain_rate_per_s: { type: 'number', minimum: 0, description: 'decisions per second, sampled by admissions' },
    oldest_wait_ms: { ...count, description: 'how long the earliest undecided request has waited (0 when none waits)' },
    owner: { ...closed({ shard_id: string, token: { type: 'integer', description: 'the lease fencing token' } }), nullable: true, description: 'the shard holding the event lease; null while no shard owns it' },
    lottery: {
      ...closed({ window_s: { type: 'integer', minimum: 1 }, seed: count, drawn: { type: 'boolean' }, drawn_requests: { ...count, nullable: true } }),
      nullable: true,
      description: 'null for a FIFO event',
    },
  }, undefined, "An event's queue and its depth limit"),
  FairnessReport: closed(fairnessProperties, undefined, 'Was the sale first come, first served? Every figure is defined in docs/fairness.md'),
  Health: closed({ status: { type: 'string', enum: ['ok'] } }),
  Ready: closed({ status: { type: 'string', enum: ['ready'] }, checks: { type: 'object', additionalProperties: { type: 'string', enum: ['ok'] } } }),
  Problem: {
    type: 'object',
    description: 'RFC 9457 problem details (application/problem+json); `code` is stable, `detail` is for people (docs/errors.md)',
    required: ['type', 'title', 'status', 'detail', 'code'],
    additionalProperties: true,
    properties: {
      type: { type: 'string', format: 'uri', example: 'https://war-ticket.dev/errors/invalid_request' },
      title: string,
      status: { type: 'integer', minimum: 400, maximum: 599 },
      detail: string,
      code: { type: 'string', enum: Object.keys(ERROR_CATALOGUE) },
      invalid_params: {
        type: 'array',
        description: 'a 400 only: one entry per bad field, all at once',
        items: closed({ name: string, reason: string }),
      },
      reservation_id: { ...reservationId, description: 'a reserve refused after queueing (with Prefer: wait) names its reservation' },
      status_url: string,
    },
  },
};
