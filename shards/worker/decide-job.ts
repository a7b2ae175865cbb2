import { DelayedError, WaitingError, type Job } from 'bullmq';
import { parseReserveJob } from '../../core/contracts.ts';
import type { Logger } from '../../core/logger.ts';
import type { ReservationStore } from '../../core/reservation-store.ts';

export interface JobOutcome {
  /** `decided`: the batch's requests (and any earlier arrival still pending) are decided */
  readonly status: 'decided' | 'malformed';
  /** requests this run decided (0 when another job had decided them first) */
  readonly decided: number;
}

export interface DecideJobDeps {
  /** most requests one decision script call decides (DECISIONS_PER_CALL) */
  readonly decisionsPerCall: number;
  /** this shard's lease value for the event, if it holds one */
  leaseOf(eventId: string): string | undefined;
  /** called when the decision script refuses the lease (or the shard holds none) */
  fenced(eventId: string): void;
}

/**
 * The Worker's processor, kept thin: parse the batch, then decide the event's pending requests in
 * arrival order at least up to the batch's highest arrival number (decideBatch), fenced by this shard's
 * lease. A call decides up to `decisionsPerCall` requests, past the batch when the queue is deeper; the
 * highest arrival number decided so far is kept per event, and a job whose batch is all at or below it
 * completes without a call (its requests are decided: every arrival up to it is). That is how a deep
 * queue of small jobs (one per gateway flush) is decided `decisionsPerCall` at a time.
 *
 * - Fenced (the lease is gone or someone else's): nothing was decided; the job goes back to `wait`
 *   (moveToWait + WaitingError: neither completed nor failed, no attempt used) for the owner, and the
 *   shard stops serving the event.
 * - Redis unreachable: the job throws and BullMQ retries it at once (no backoff); deciding is
 *   idempotent, so a re-run decides only what is still queued.
 * - A lottery window still open (docs/fairness.md): the job is delayed until it closes (moveToDelayed
 *   + DelayedError); the first run after that draws the window's order (drawLottery) and decides.
 * - Malformed payload: never retried; each request it names is rejected `internal_error` so nobody
 *   waits forever.
 */
export function decideJob(store: ReservationStore, deps: DecideJobDeps, logger: Logger) {
  /** per event, the highest arrival number this shard has seen decided (a lower bound, never stale) */
  const decidedThrough = new Map<string, number>();
  return async (job: Job, token?: string): Promise<JobOutcome> => {
    const parsed = parseReserveJob(job.data);
    if (!parsed.ok) {
      logger.error({ job_id: job.id, err: parsed.error }, 'malformed reserve job');
      const data = job.data as { event_id?: unknown; requests?: unknown } | undefined;
      if (typeof data?.event_id === 'string' && Array.isArray(data.requests)) {
        for (const r of data.requests as { reservation_id?: unknown }[]) {
          if (typeof r?.reservation_id === 'string') await store.abandon(data.event_id, r.reservation_id);
        }
      }
      return { status: 'malformed', decided: 0 };
    }
    const { event_id: eventId, requests } = parsed.value;
    const maxSeq = Math.max(...requests.map((r) => r.seq_arrival));
    const lease = deps.leaseOf(eventId);
    // Already decided (see above): nothing to do, unless this shard knows it no longer owns the event
    // (then the job goes back like any fenced one).
    if (lease !== undefined && maxSeq <= (decidedThrough.get(eventId) ?? 0)) return { status: 'decided', decided: 0 };
    const result = lease === undefined ? { kind: 'fenced' as const, decided: 0 } : await store.decideUpTo(eventId, maxSeq, lease, deps.decisionsPerCall);
    if (result.kind === 'lottery_window') {
      // A lottery's window is open: the job waits (delayed, no attempt used) until it closes; the
      // first job run after that draws the window's order, then decides.
      await job.moveToDelayed(Date.now() + result.waitMs, token);
      throw new DelayedError();
    }
    if (result.kind === 'fenced') {
      logger.warn({ job_id: job.id, event_id: eventId, lease, request_ids: requests.flatMap((r) => (r.request_id ? [r.request_id] : [])).slice(0, 20) }, 'not the owner of this event any more: job handed back');
      deps.fenced(eventId);
      await job.moveToWait(token);
      throw new WaitingError();
    }
    if (result.through > (decidedThrough.get(eventId) ?? 0)) decidedThrough.set(eventId, result.through);
    return { status: 'decided', decided: result.decided };
  };
}
