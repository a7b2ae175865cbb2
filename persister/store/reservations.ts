import type { Pool, PoolClient } from 'pg';
import type { RefusalRecord, ReservationSnapshot } from '../../core/contracts.ts';

/**
 * Upserts reservation snapshots. A row only moves forward: the update applies only when the incoming
 * `version` is higher than the stored one, so a duplicate or an older snapshot delivered late changes
 * nothing. One statement for the whole batch (arrays through unnest).
 */
const UPSERT = `
INSERT INTO reservations AS r (id, event_id, category_id, user_id, qty, status, reason, seq_arrival,
  seq_decision, expires_at, decided_at, booking_id, created_at, updated_at, version, draw_no, request_id)
SELECT id, event_id, category_id, user_id, qty, status, reason, seq_arrival, seq_decision,
  to_timestamp(expires_at / 1000.0), to_timestamp(decided_at / 1000.0), booking_id,
  to_timestamp(created_at / 1000.0), to_timestamp(updated_at / 1000.0), version, draw_no, request_id
FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::text[], $5::int[], $6::text[], $7::text[], $8::bigint[],
  $9::bigint[], $10::bigint[], $11::bigint[], $12::text[], $13::bigint[], $14::bigint[], $15::int[], $16::int[], $17::text[])
  AS s(id, event_id, category_id, user_id, qty, status, reason, seq_arrival, seq_decision, expires_at,
       decided_at, booking_id, created_at, updated_at, version, draw_no, request_id)
ON CONFLICT (id) DO UPDATE SET
  status = EXCLUDED.status, reason = EXCLUDED.reason, seq_decision = EXCLUDED.seq_decision,
  expires_at = EXCLUDED.expires_at, decided_at = EXCLUDED.decided_at, booking_id = EXCLUDED.booking_id,
  updated_at = EXCLUDED.updated_at, version = EXCLUDED.version, draw_no = EXCLUDED.draw_no
WHERE r.version < EXCLUDED.version`;

/** Keeps the newest snapshot of each reservation (a statement may not touch one row twice). */
export function newestPerReservation(snapshots: readonly ReservationSnapshot[]): ReservationSnapshot[] {
  const newest = new Map<string, ReservationSnapshot>();
  for (const s of snapshots) {
    const seen = newest.get(s.reservation_id);
    if (!seen || seen.version < s.version) newest.set(s.reservation_id, s);
  }
  return [...newest.values()];
}

export async function upsertReservations(db: Pool | PoolClient, snapshots: readonly ReservationSnapshot[]): Promise<number> {
  const rows = newestPerReservation(snapshots);
  if (rows.length === 0) return 0;
  const col = <T>(pick: (s: ReservationSnapshot) => T) => rows.map(pick);
  const result = await db.query(UPSERT, [
    col((s) => s.reservation_id),
    col((s) => s.event_id),
    col((s) => s.category_id),
    col((s) => s.user_id),
    col((s) => s.qty),
    col((s) => s.status),
    col((s) => s.reason ?? null),
    col((s) => s.seq_arrival),
    col((s) => s.seq_decision ?? null),
    col((s) => s.expires_at ?? null),
    col((s) => s.decided_at ?? null),
    col((s) => s.booking_id ?? null),
    col((s) => s.created_at),
    col((s) => s.updated_at),
    col((s) => s.version),
    col((s) => s.draw_no ?? null),
    col((s) => s.request_id ?? null),
  ]);
  return result.rowCount ?? 0;
}

const INSERT_BOOKINGS = `
INSERT INTO bookings (id, reservation_id, event_id, category_id, user_id, qty, created_at)
SELECT id, reservation_id, event_id, category_id, user_id, qty, to_timestamp(created_at / 1000.0)
FROM unnest($1::text[], $2::text[], $3::uuid[], $4::uuid[], $5::text[], $6::int[], $7::bigint[])
  AS s(id, reservation_id, event_id, category_id, user_id, qty, created_at)
ON CONFLICT DO NOTHING`;

/** A booking row for each confirmed snapshot (idempotent: a booking is written once). */
export async function insertBookings(db: Pool | PoolClient, snapshots: readonly ReservationSnapshot[]): Promise<number> {
  const confirmed = newestPerReservation(snapshots).filter((s) => s.status === 'confirmed' && s.booking_id);
  if (confirmed.length === 0) return 0;
  const result = await db.query(INSERT_BOOKINGS, [
    confirmed.map((s) => s.booking_id),
    confirmed.map((s) => s.reservation_id),
    confirmed.map((s) => s.event_id),
    confirmed.map((s) => s.category_id),
    confirmed.map((s) => s.user_id),
    confirmed.map((s) => s.qty),
    confirmed.map((s) => s.updated_at),
  ]);
  return result.rowCount ?? 0;
}

const INSERT_REFUSALS = `
INSERT INTO refusals (reservation_id, event_id, category_id, user_id, qty, seq_arrival, reason, received_at, request_id)
SELECT reservation_id, event_id, category_id, user_id, qty, seq_arrival, reason, to_timestamp(received_at / 1000.0), request_id
FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::text[], $5::int[], $6::bigint[], $7::text[], $8::bigint[], $9::text[])
  AS s(reservation_id, event_id, category_id, user_id, qty, seq_arrival, reason, received_at, request_id)
ON CONFLICT DO NOTHING`;

/** A row per request refused at the door (idempotent: a redelivered record changes nothing). */
export async function insertRefusals(db: Pool | PoolClient, refusals: readonly RefusalRecord[]): Promise<number> {
  if (refusals.length === 0) return 0;
  const col = <T>(pick: (r: RefusalRecord) => T) => refusals.map(pick);
  const result = await db.query(INSERT_REFUSALS, [
    col((r) => r.reservation_id),
    col((r) => r.event_id),
    col((r) => r.category_id),
    col((r) => r.user_id),
    col((r) => r.qty),
    col((r) => r.seq_arrival),
    col((r) => r.reason),
    col((r) => r.received_at),
    col((r) => r.request_id ?? null),
  ]);
  return result.rowCount ?? 0;
}

/** Reservations, their bookings and door refusals in one transaction: all or nothing. */
export async function storeSnapshots(pool: Pool, snapshots: readonly ReservationSnapshot[], refusals: readonly RefusalRecord[] = []): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const written = (await upsertReservations(client, snapshots)) + (await insertRefusals(client, refusals));
    await insertBookings(client, snapshots);
    await client.query('COMMIT');
    return written;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** SQLSTATE classes that say "this data cannot be stored" (not "the database is unavailable"). */
export function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}
