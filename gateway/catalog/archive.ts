import type pg from 'pg';
import type { ReservationStatus } from '../../core/contracts.ts';
import { AppError } from '../../core/errors.ts';
import type { StoredReservation } from '../../core/reservation-store.ts';

/**
 * A reservation from PostgreSQL, for when Redis no longer has it (its status retention passed). Redis
 * stays the authority while it has the reservation; Postgres converges to it through Kafka.
 */
export async function readArchivedReservation(db: pg.Pool, reservationId: string): Promise<StoredReservation | undefined> {
  let rows: Record<string, unknown>[];
  try {
    rows = (
      await db.query(
        `SELECT r.*, c.name AS category_name FROM reservations r JOIN ticket_categories c ON c.id = r.category_id WHERE r.id = $1`,
        [reservationId],
      )
    ).rows as Record<string, unknown>[];
  } catch (err) {
    throw new AppError('service_unavailable', 'the database is unavailable', { cause: err, retryAfterS: 2 });
  }
  const r = rows[0];
  if (!r) return undefined;
  const ms = (d: unknown) => (d instanceof Date ? d.getTime() : undefined);
  return {
    reservationId,
    userId: String(r.user_id),
    eventId: String(r.event_id),
    categoryId: String(r.category_id),
    category: String(r.category_name),
    qty: Number(r.qty),
    status: r.status as ReservationStatus,
    reason: (r.reason as string | null) ?? undefined,
    position: undefined,
    seqArrival: Number(r.seq_arrival),
    seqDecision: r.seq_decision == null ? undefined : Number(r.seq_decision),
    expiresAtMs: ms(r.expires_at),
    bookingId: (r.booking_id as string | null) ?? undefined,
    createdAtMs: ms(r.created_at)!,
    updatedAtMs: ms(r.updated_at)!,
    version: Number(r.version),
  };
}
