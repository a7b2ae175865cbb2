import type pg from 'pg';
import type { ReservationStatus } from '../../core/contracts.ts';
import { AppError } from '../../core/errors.ts';
import { eventIdOfReservation } from '../../core/keys.ts';
import type { StoredReservation } from '../../core/reservation-store.ts';
import { decodeCursor, encodeCursor } from '../http/cursor.ts';

/**
 * A reservation from PostgreSQL, for when Redis no longer has it (its status retention passed). Redis
 * stays the authority while it has the reservation; Postgres converges to it through Kafka.
 */
async function query(db: pg.Pool, text: string, values: unknown[]): Promise<Record<string, unknown>[]> {
  try {
    return (await db.query(text, values)).rows as Record<string, unknown>[];
  } catch (err) {
    throw new AppError('service_unavailable', 'the database is unavailable', { cause: err, retryAfterS: 2 });
  }
}

const SELECT = `SELECT r.*, r.created_at::text AS created_key, c.name AS category_name
  FROM reservations r JOIN ticket_categories c ON c.id = r.category_id`;

export async function readArchivedReservation(db: pg.Pool, reservationId: string): Promise<StoredReservation | undefined> {
  const r = (await query(db, `${SELECT} WHERE r.id = $1`, [reservationId]))[0];
  return r ? toStored(r) : undefined;
}

/** The user's reservations, newest first, as PostgreSQL has them (a few ms behind Redis). */
export async function listArchivedReservations(
  db: pg.Pool,
  userId: string,
  limit: number,
  cursor: string | undefined,
): Promise<{ reservations: StoredReservation[]; nextCursor: string | undefined }> {
  const after = cursor === undefined ? undefined : decodeCursor(cursor, (id) => eventIdOfReservation(id) !== undefined);
  const rows = await query(
    db,
    `${SELECT} WHERE r.user_id = $1 AND ($2::timestamptz IS NULL OR (r.created_at, r.id) < ($2::timestamptz, $3::text))
     ORDER BY r.created_at DESC, r.id DESC LIMIT $4`,
    [userId, after?.[0] ?? null, after?.[1] ?? null, limit + 1],
  );
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    reservations: page.map(toStored),
    nextCursor: rows.length > limit && last ? encodeCursor(String(last.created_key), String(last.id)) : undefined,
  };
}

function toStored(r: Record<string, unknown>): StoredReservation {
  const ms = (d: unknown) => (d instanceof Date ? d.getTime() : undefined);
  return {
    isPaying: false,
    reservationId: String(r.id),
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
