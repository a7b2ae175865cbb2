import type { Request } from 'express';
import { RESERVATION_STATUSES, type ReservationStatus } from '../../core/contracts.ts';
import { AppError } from '../../core/errors.ts';
import { isValidIdempotencyKey } from '../../core/idempotency.ts';

/** Longest long-poll or `Prefer: wait`, in seconds. */
export const MAX_WAIT_S = 30;

/** `?wait=N` (0..30 seconds); undefined when absent. */
export function waitQuery(req: Request): number | undefined {
  const raw = req.query.wait;
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !/^\d{1,2}$/.test(raw) || Number(raw) > MAX_WAIT_S) {
    throw AppError.invalid([{ name: 'wait', reason: `must be an integer from 0 to ${MAX_WAIT_S} (seconds)` }]);
  }
  return Number(raw);
}

/** `?status=S`: one of the reservation statuses; undefined when absent. */
export function statusQuery(req: Request): ReservationStatus | undefined {
  const raw = req.query.status;
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !(RESERVATION_STATUSES as readonly string[]).includes(raw)) {
    throw AppError.invalid([{ name: 'status', reason: `must be one of ${RESERVATION_STATUSES.join(', ')}` }]);
  }
  return raw as ReservationStatus;
}

/**
 * `Prefer: wait=N` (RFC 7240): a preference, not a command, so a larger value is served as the most
 * this server waits (30 s) rather than refused. Undefined when absent or not a number.
 */
export function preferWait(req: Request): number | undefined {
  const match = /(?:^|[;,\s])wait\s*=\s*"?(\d+)"?/i.exec(req.get('prefer') ?? '');
  return match ? Math.min(Number(match[1]), MAX_WAIT_S) : undefined;
}

/** The `Idempotency-Key` header: 1–128 visible ASCII characters; undefined when absent. */
export function idempotencyKeyHeader(req: Request): string | undefined {
  const key = req.get('idempotency-key');
  if (key === undefined) return undefined;
  if (!isValidIdempotencyKey(key)) throw AppError.invalid([{ name: 'Idempotency-Key', reason: 'must be 1 to 128 visible ASCII characters' }]);
  return key;
}

/** `?limit` for pages: 1..100, default 20. */
export function limitQuery(req: Request): number {
  const raw = req.query.limit;
  if (raw === undefined) return 20;
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 100) {
    throw AppError.invalid([{ name: 'limit', reason: 'must be an integer from 1 to 100' }]);
  }
  return Number(raw);
}

/** `?cursor`: a single string when present. */
export function cursorQuery(req: Request): string | undefined {
  const raw = req.query.cursor;
  if (raw !== undefined && typeof raw !== 'string') throw AppError.invalid([{ name: 'cursor', reason: 'must be a single string' }]);
  return raw;
}
