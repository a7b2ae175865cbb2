import type { CategoryAvailability } from './admin-api.ts';
import { thresholdLabel, type ScenarioName, type Threshold } from './contract.ts';
import { ATTEMPT_OUTCOMES, type AttemptOutcome, type Outcomes } from './outcomes.ts';
import type { LatencyStats, Recorder } from './recorder.ts';
import { cell, ms, table } from './text-table.ts';

/** What a run measured, from the driver's side: the input of the printed report. */
export interface RunSummary {
  readonly scenario: ScenarioName;
  readonly baseUrl: string;
  readonly eventId: string;
  readonly seats: number;
  readonly categories: number;
  readonly maxPerUser: number;
  readonly users: number;
  readonly elapsedS: number;
  /** Offered reserve requests per second (null: unpaced). */
  readonly offeredRate: number | null;
  readonly requestBudget: number;
  readonly sent: number;
  readonly completed: number;
  readonly reserves: number;
  readonly dropped: number;
  readonly latency: readonly { readonly name: string; readonly stats: LatencyStats }[];
  readonly statuses: readonly (readonly [string, number])[];
  readonly thresholds: readonly ThresholdResult[];
  readonly flows?: FlowSummary;
  readonly availability?: readonly CategoryAvailability[];
  readonly hints: readonly string[];
}

export interface FlowSummary {
  readonly outcomes: readonly (readonly [AttemptOutcome, number])[];
  readonly decision: LatencyStats;
  readonly seatsWon: number;
  readonly seatsConfirmed: number;
  readonly seatsTaken: number;
  readonly capViolations: number;
  readonly cohorts: readonly { readonly name: string; readonly clients: number; readonly thinkMs: number; readonly attempts: number; readonly won: number; readonly seatsWon: number; readonly reserve: LatencyStats; readonly decision: LatencyStats }[];
}

export interface ThresholdResult {
  readonly label: string;
  readonly actual: string;
  readonly isPassed: boolean;
}

/** The contract's thresholds, measured on this run (the `show` ones only matter to k6's summary). */
export function evaluateThresholds(thresholds: readonly Threshold[], recorder: Recorder, outcomes?: Outcomes): ThresholdResult[] {
  const results: ThresholdResult[] = [];
  for (const t of thresholds) {
    if (t.kind === 'latency') {
      const key = t.endpoint ?? 'all';
      const h = recorder.hasHistogram(key) ? recorder.histogram(key) : undefined;
      const value = h && h.count > 0 ? h.at(t.percentile) : undefined;
      results.push({ label: thresholdLabel(t), actual: value === undefined ? 'no requests' : `${ms(value)} ms`, isPassed: value === undefined || value < t.belowMs });
    } else if (t.kind === 'failed_rate') {
      const rate = recorder.completed === 0 ? 0 : recorder.failed / recorder.completed;
      results.push({ label: thresholdLabel(t), actual: `${cell(rate)} (${recorder.failed} of ${recorder.completed})`, isPassed: rate < t.below });
    } else if (t.kind === 'zero') {
      const count = outcomes?.capViolations ?? 0;
      results.push({ label: thresholdLabel(t), actual: String(count), isPassed: count === 0 });
    }
  }
  return results;
}

/** Advice when the answers show a setting, not the system, limited the run. */
export function hintsFor(recorder: Recorder, dropped: number, offeredRate: number | null, elapsedS: number): string[] {
  const hints: string[] = [];
  const share = (n: number) => (recorder.completed === 0 ? 0 : n / recorder.completed);
  const rateLimited = recorder.countError('rate_limited');
  if (rateLimited > 0 && share(rateLimited) >= 0.01) {
    hints.push(
      `${rateLimited} answers were 429 rate_limited: the stack's limits for people stopped the load test. Start it with the load-test settings ` +
        '(docs/config.md): RATE_LIMIT_PER_MIN=0 RATE_LIMIT_USER_PER_MIN=0 MAX_QUEUED_PER_USER=0 npm run stack',
    );
  }
  const queueFull = recorder.countError('queue_full');
  if (queueFull > 0 && share(queueFull) >= 0.01) hints.push(`${queueFull} answers were 429 queue_full: raise the event's queue limit (--max-depth, or QUEUE_MAX_DEPTH) unless shedding is what you test`);
  if (recorder.networkErrors > 0) hints.push(`${recorder.networkErrors} requests got no answer (network errors or timeouts): see the NDJSON 'error' field; fewer --connections or a lower --rate may help`);
  if (dropped > 0) hints.push(`${dropped} attempt starts found every user busy (k6: dropped_iterations): use more --users or a lower --rate`);
  if (offeredRate !== null && elapsedS > 0 && recorder.completed / elapsedS < offeredRate * 0.9) {
    hints.push(`the achieved rate stayed below 90% of the offered rate: the gateway (or this machine) could not keep up, or there were too few --connections`);
  }
  return hints;
}

export function formatRunSummary(s: RunSummary): string {
  const out: string[] = [];
  out.push(`war-ticket load test: scenario ${s.scenario} against ${s.baseUrl}`);
  out.push(`  event ${s.eventId}: ${s.seats} seats in ${s.categories} categor${s.categories === 1 ? 'y' : 'ies'}, max ${s.maxPerUser} per user; ${s.users} users`);
  out.push('');
  const achieved = s.elapsedS > 0 ? s.completed / s.elapsedS : 0;
  const achievedReserves = s.elapsedS > 0 ? s.reserves / s.elapsedS : 0;
  out.push('Throughput');
  out.push(
    table(
      ['', 'requests/s', 'requests', 'seconds'],
      [
        [s.offeredRate === null ? 'offered (reserve): unpaced' : 'offered (reserve)', s.offeredRate === null ? null : Math.round(s.offeredRate * 10) / 10, null, null],
        ['achieved (reserve)', Math.round(achievedReserves * 10) / 10, s.reserves, Math.round(s.elapsedS * 10) / 10],
        ['achieved (all)', Math.round(achieved * 10) / 10, s.completed, Math.round(s.elapsedS * 10) / 10],
      ],
    ),
  );
  out.push(`  request budget ${s.requestBudget}, sent ${s.sent}${s.dropped > 0 ? `, ${s.dropped} attempt starts dropped` : ''}`);
  out.push('');
  out.push('Latency (ms)');
  out.push(table(['requests', 'count', 'p50', 'p90', 'p95', 'p99', 'max'], s.latency.map(({ name, stats: l }) => [name, l.count, ms(l.p50), ms(l.p90), ms(l.p95), ms(l.p99), ms(l.max)])));
  out.push('');
  out.push('Statuses');
  out.push(table(['status', 'count', 'share'], s.statuses.map(([key, n]) => [key, n, `${((100 * n) / Math.max(1, s.completed)).toFixed(1)}%`])));
  if (s.flows) out.push('', ...formatFlows(s.flows, s.seats, s.availability));
  out.push('', 'Thresholds (scripts/loadtest/contract.ts, the same as the k6 script)');
  out.push(table(['threshold', 'measured', 'result'], s.thresholds.map((t) => [t.label, t.actual, t.isPassed ? 'pass' : 'FAIL'])));
  if (s.hints.length > 0) out.push('', 'Hints', ...s.hints.map((h) => `  - ${h}`));
  return out.join('\n');
}

function formatFlows(f: FlowSummary, seats: number, availability?: readonly CategoryAvailability[]): string[] {
  const out: string[] = ['Attempts (reserve, long-poll while queued, confirm when held)'];
  const counts = new Map(f.outcomes);
  out.push(table(['outcome', 'attempts'], ATTEMPT_OUTCOMES.map((o) => [o, counts.get(o) ?? 0])));
  const d = f.decision;
  out.push(`  reserve to decision seen (ms): p50 ${ms(d.p50)}  p90 ${ms(d.p90)}  p99 ${ms(d.p99)}  max ${ms(d.max)}  (${d.count} decided)`);
  out.push('');
  out.push('Invariants, from the driver\'s side');
  const left = availability?.reduce((n, c) => n + c.available, 0);
  const held = availability?.reduce((n, c) => n + c.held, 0);
  out.push(
    table(
      ['check', 'value', 'result'],
      [
        ['seats won (holds, incl. confirmed)', f.seatsWon, ''],
        ['seats confirmed', f.seatsConfirmed, ''],
        [`seats taken now (booked + live holds) of ${seats}`, f.seatsTaken, f.seatsTaken <= seats ? 'ok' : 'OVERSOLD'],
        ['users above max_per_user at some moment', f.capViolations, f.capViolations === 0 ? 'ok' : 'VIOLATED'],
        ['availability now: available / held', availability ? `${left} / ${held}` : '–', left === undefined || left >= 0 ? 'ok' : 'NEGATIVE'],
      ],
    ),
  );
  if (f.cohorts.length > 0) {
    out.push('', 'Cohorts');
    out.push(
      table(
        ['cohort', 'clients', 'think ms', 'attempts', 'won', 'win rate', 'seats', 'reserve p50', 'reserve p99', 'decision p50', 'decision p99'],
        f.cohorts.map((c) => [c.name, c.clients, c.thinkMs, c.attempts, c.won, c.attempts === 0 ? null : c.won / c.attempts, c.seatsWon, ms(c.reserve.p50), ms(c.reserve.p99), ms(c.decision.p50), ms(c.decision.p99)]),
      ),
    );
  }
  return out;
}
