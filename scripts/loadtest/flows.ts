import { setTimeout as sleep } from 'node:timers/promises';
import { attempt, type AttemptContext } from './attempt.ts';
import type { Cohort } from './contract.ts';
import { IdleUsers, startsDue, type RequestBudget } from './pacing.ts';

export interface FlowRunLimits {
  readonly budget: RequestBudget;
  /** Stop starting attempts after this long (0: never). */
  readonly durationMs: number;
  /** Reserve attempts per user at most (0: no limit). */
  readonly attempts: number;
  readonly users: number;
}

export interface FlowRunResult {
  /** Attempts started. */
  readonly started: number;
  /** Start slots that found every user busy with an attempt (k6: dropped_iterations). */
  readonly dropped: number;
}

/** How often the pacer looks at the clock. */
const TICK_MS = 5;

/**
 * ticket-war: reserve attempts start at a constant rate (open model, like k6's constant-arrival-rate);
 * each goes to the user idle the longest, so every user has at most one attempt in flight. Ends when
 * the budget is spent, the duration is over, or every user has used its attempts.
 */
export async function runTicketWar(ctx: AttemptContext, limits: FlowRunLimits, ratePerS: number, isStopped: () => boolean): Promise<FlowRunResult> {
  const idle = new IdleUsers(limits.users, limits.attempts);
  const inFlight = new Set<Promise<void>>();
  const t0 = Date.now();
  let started = 0;
  let slots = 0;
  let dropped = 0;
  const isOver = () =>
    isStopped() || limits.budget.isSpent || (limits.durationMs > 0 && Date.now() - t0 >= limits.durationMs) || (idle.idle === 0 && inFlight.size === 0);
  while (!isOver()) {
    const due = startsDue(Date.now() - t0, ratePerS);
    for (; slots < due && !limits.budget.isSpent; slots++) {
      const user = idle.take();
      if (user === undefined) {
        dropped++;
        continue;
      }
      started++;
      const run: Promise<void> = attempt(ctx, user).then(
        () => undefined,
        () => undefined,
      ).finally(() => {
        inFlight.delete(run);
        idle.release(user);
      });
      inFlight.add(run);
    }
    await sleep(TICK_MS);
  }
  await Promise.all(inFlight);
  return { started, dropped };
}

/** The users of cohort `c` of `k`: user i belongs to cohort i mod k (k6/fairness.js splits them the same way). */
export const cohortOfUser = (user: number, cohorts: number): number => user % cohorts;

/**
 * fairness: each cohort runs its own clients in a closed loop (think, then one attempt, again), each
 * cohort on its own connection pool, over its own users. With a rate, attempt starts are also paced
 * over all cohorts together.
 */
export async function runFairness(
  ctxOf: (cohort: Cohort) => AttemptContext,
  cohorts: readonly Cohort[],
  clientsOf: (cohort: Cohort) => number,
  limits: FlowRunLimits,
  ratePerS: number,
  isStopped: () => boolean,
): Promise<FlowRunResult> {
  const t0 = Date.now();
  let started = 0;
  let paced = 0;
  const isOver = () => isStopped() || limits.budget.isSpent || (limits.durationMs > 0 && Date.now() - t0 >= limits.durationMs);
  const waitForSlot = async () => {
    if (ratePerS <= 0) return;
    const mine = paced++;
    const dueAtMs = (mine * 1000) / ratePerS;
    const delay = dueAtMs - (Date.now() - t0);
    if (delay > 0) await sleep(delay);
  };
  const runCohort = async (cohort: Cohort, index: number) => {
    const members = Math.ceil((limits.users - index) / cohorts.length);
    if (members <= 0) return;
    const idle = new IdleUsers(members, limits.attempts);
    const ctx = ctxOf(cohort);
    let busy = 0;
    const client = async () => {
      while (!isOver()) {
        if (cohort.thinkMs > 0) await sleep(cohort.thinkMs);
        const member = idle.take();
        if (member === undefined) {
          if (busy === 0) return; // every user of this cohort has used its attempts
          await sleep(20);
          continue;
        }
        busy++;
        try {
          await waitForSlot();
          if (isOver()) return;
          started++;
          await attempt(ctx, index + member * cohorts.length, cohort.name).catch(() => undefined);
        } finally {
          busy--;
          idle.release(member);
        }
      }
    };
    await Promise.all(Array.from({ length: clientsOf(cohort) }, client));
  };
  await Promise.all(cohorts.map(runCohort));
  return { started, dropped: 0 };
}
