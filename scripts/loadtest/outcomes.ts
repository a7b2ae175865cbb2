import { LatencyHistogram } from './recorder.ts';

/** How one reserve attempt (reserve, long-polls, confirm) ended, as its user saw it. */
export type AttemptOutcome = 'won' | 'out_of_stock' | 'limit_exceeded' | 'shed' | 'rejected' | 'error' | 'abandoned';

export const ATTEMPT_OUTCOMES: readonly AttemptOutcome[] = ['won', 'out_of_stock', 'limit_exceeded', 'shed', 'rejected', 'error', 'abandoned'];

export interface CohortOutcomes {
  attempts: number;
  won: number;
  seatsWon: number;
  readonly decision: LatencyHistogram;
}

interface Hold {
  readonly reservationId: string;
  readonly qty: number;
  /** Epoch ms; a hold not confirmed by then gives its seats back. */
  readonly expiresAt: number;
}

/**
 * What the users got, from the driver's side: outcomes per attempt and per cohort, the time from a
 * reserve to its decision, and each user's seats, to check the invariants the fairness report also
 * checks (no user above the cap at any moment, no more seats taken than exist).
 */
export class Outcomes {
  readonly counts = new Map<AttemptOutcome, number>(ATTEMPT_OUTCOMES.map((o) => [o, 0]));
  readonly decision = new LatencyHistogram();
  readonly cohorts = new Map<string, CohortOutcomes>();
  private readonly confirmedSeats = new Map<number, number>();
  private readonly unconfirmed = new Map<number, Hold[]>();
  private readonly overCap = new Set<number>();
  seatsWon = 0;

  constructor(private readonly maxPerUser: number) {}

  cohort(name: string): CohortOutcomes {
    let c = this.cohorts.get(name);
    if (!c) this.cohorts.set(name, (c = { attempts: 0, won: 0, seatsWon: 0, decision: new LatencyHistogram() }));
    return c;
  }

  /** An attempt ended. `decisionMs`: from sending the reserve to seeing the shard's decision, when it was seen. */
  finish(outcome: AttemptOutcome, cohort?: string, decisionMs?: number): void {
    this.counts.set(outcome, this.counts.get(outcome)! + 1);
    if (decisionMs !== undefined) this.decision.record(decisionMs);
    if (cohort === undefined) return;
    const c = this.cohort(cohort);
    c.attempts++;
    if (outcome === 'won') c.won++;
    if (decisionMs !== undefined) c.decision.record(decisionMs);
  }

  /** A hold was won. Checks the user's seats at this moment (bookings and live holds) against the cap. */
  held(user: number, hold: Hold, nowMs: number, cohort?: string): void {
    this.seatsWon += hold.qty;
    if (cohort !== undefined) this.cohort(cohort).seatsWon += hold.qty;
    const holds = this.liveHolds(user, nowMs);
    holds.push(hold);
    this.unconfirmed.set(user, holds);
    if (this.seatsOf(user, nowMs) > this.maxPerUser) this.overCap.add(user);
  }

  confirmed(user: number, reservationId: string): void {
    const holds = this.unconfirmed.get(user) ?? [];
    const i = holds.findIndex((h) => h.reservationId === reservationId);
    if (i < 0) return;
    const [hold] = holds.splice(i, 1);
    this.confirmedSeats.set(user, (this.confirmedSeats.get(user) ?? 0) + hold!.qty);
  }

  /** Users who held or had bought more than `max_per_user` seats at some moment. */
  get capViolations(): number {
    return this.overCap.size;
  }

  /** Seats booked plus seats held and not expired at `nowMs`, over all users. */
  seatsTaken(nowMs: number): number {
    let n = 0;
    for (const seats of this.confirmedSeats.values()) n += seats;
    for (const holds of this.unconfirmed.values()) for (const h of holds) if (h.expiresAt > nowMs) n += h.qty;
    return n;
  }

  get seatsConfirmed(): number {
    let n = 0;
    for (const seats of this.confirmedSeats.values()) n += seats;
    return n;
  }

  private liveHolds(user: number, nowMs: number): Hold[] {
    return (this.unconfirmed.get(user) ?? []).filter((h) => h.expiresAt > nowMs);
  }

  private seatsOf(user: number, nowMs: number): number {
    return (this.confirmedSeats.get(user) ?? 0) + this.liveHolds(user, nowMs).reduce((n, h) => n + h.qty, 0);
  }
}
