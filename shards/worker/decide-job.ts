import type { Job } from 'bullmq';
import { parseReserveJob } from '../../core/contracts.ts';
import type { Logger } from '../../core/logger.ts';
import type { DecideResult, ReservationStore } from '../../core/reservation-store.ts';

export interface JobOutcome {
  readonly status: string;
  readonly reason?: string;
}

/**
 * The Worker's processor, kept thin: parse the job, run the decision script, report the outcome. A job
 * that throws (Redis unreachable) is retried by BullMQ without backoff; the decision is idempotent, so a
 * re-run returns the first decision. A malformed payload is never retried: if it names a reservation,
 * that reservation is rejected `internal_error` so nobody waits on it forever.
 */
export function decideJob(store: ReservationStore, logger: Logger) {
  return async (job: Job): Promise<JobOutcome> => {
    const parsed = parseReserveJob(job.data);
    if (!parsed.ok) {
      const data = job.data as { reservation_id?: unknown; event_id?: unknown } | undefined;
      logger.error({ job_id: job.id, err: parsed.error }, 'malformed reserve job');
      if (typeof data?.reservation_id === 'string' && typeof data.event_id === 'string') {
        await store.abandon(data.event_id, data.reservation_id);
      }
      return { status: 'malformed' };
    }
    const { reservation_id: reservationId, event_id: eventId, category_id: categoryId } = parsed.value;
    const result: DecideResult = await store.decide(eventId, reservationId, categoryId);
    if (result.kind === 'unknown_reservation') {
      logger.warn({ job_id: job.id, reservation_id: reservationId, event_id: eventId }, 'reserve job names no reservation');
      return { status: 'unknown' };
    }
    return result.reason ? { status: result.status, reason: result.reason } : { status: result.status };
  };
}
