import type { StoredReservation } from '../../core/reservation-store.ts';
import type { CategoryRow, EventRow } from '../catalog/catalog.ts';

/** Response bodies: snake_case, RFC 3339 times, absent optional fields left out. */

export type SaleState = 'scheduled' | 'open' | 'paused' | 'closed';

/** The admin's switch if set, else the sale window (the admission script applies the same rule). */
export function saleState(event: EventRow, nowMs = Date.now()): SaleState {
  if (event.saleState) return event.saleState;
  if (event.salesOpenAt && nowMs < event.salesOpenAt.getTime()) return 'scheduled';
  if (event.salesCloseAt && nowMs >= event.salesCloseAt.getTime()) return 'closed';
  return 'open';
}

export const eventView = (e: EventRow) => ({
  id: e.id,
  name: e.name,
  date: e.date.toISOString(),
  max_per_user: e.maxPerUser,
  sales_open_at: e.salesOpenAt?.toISOString() ?? null,
  sales_close_at: e.salesCloseAt?.toISOString() ?? null,
  sale_state: saleState(e),
  // The lottery's seed stays out of public views: it is in the admin queue view and the fairness report.
  admission: e.admission.mode === 'lottery' ? { mode: 'lottery', window_s: e.admission.windowS } : { mode: 'fifo' },
  created_at: e.createdAt.toISOString(),
});

export const categoryView = (c: CategoryRow) => ({
  id: c.id,
  event_id: c.eventId,
  name: c.name,
  total_stock: c.totalStock,
  price: c.price,
});

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

export function reservationView(r: StoredReservation) {
  const view: Record<string, unknown> = {
    reservation_id: r.reservationId,
    user_id: r.userId,
    event_id: r.eventId,
    category: r.category,
    qty: r.qty,
    status: r.status,
  };
  if (r.reason) view.reason = r.reason;
  if (r.position !== undefined) view.position = r.position;
  if (r.expiresAtMs !== undefined) view.expires_at = iso(r.expiresAtMs);
  if (r.bookingId) view.booking_id = r.bookingId;
  view.created_at = iso(r.createdAtMs);
  view.updated_at = iso(r.updatedAtMs);
  return view;
}

export const statusUrl = (reservationId: string) => `/reservations/${reservationId}`;
