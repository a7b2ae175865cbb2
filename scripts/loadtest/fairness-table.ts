import { formatFairnessReport } from '../../core/fairness/format.ts';
import type { FairnessReport } from '../../core/fairness/report.ts';
import type { LatencyStats } from './recorder.ts';
import { cell, ms, table, type Cell } from './text-table.ts';

/**
 * The fairness report (`GET /admin/events/{id}/fairness`, JSON in docs/fairness.md) as text: first
 * beside what the driver saw of the same run, then the report's own figures as `npm run fairness`
 * prints them (core/fairness/format.ts). The side-by-side part reads the JSON defensively (a field it
 * lacks prints as '–'), since it may come from a gateway of another version.
 */

/** The driver's counts that the report also has. */
export interface DriverView {
  readonly reserves: number;
  readonly won: number | undefined;
  readonly outOfStock: number;
  readonly limitExceeded: number;
  readonly queueFull: number;
  readonly rateLimited: number;
  readonly capViolations: number | undefined;
  readonly oversoldSeats: number | undefined;
  readonly seatsLeft: number | undefined;
  readonly decision: LatencyStats | undefined;
}

/** The value at a dotted path of the report, or undefined. */
export function pick(report: unknown, path: string): unknown {
  let v: unknown = report;
  for (const key of path.split('.')) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** A number (or null, which the report uses for rates without a denominator) at a path. */
const num = (report: unknown, path: string): number | null | undefined => {
  const v = pick(report, path);
  return typeof v === 'number' || v === null ? v : undefined;
};

const sum = (...values: (number | null | undefined)[]): number | undefined =>
  values.every((v) => typeof v === 'number') ? values.reduce<number>((a, v) => a + (v as number), 0) : undefined;

/** Flags the figures that must be 0 in FIFO mode (docs/fairness.md, "Reading it"). */
export function fairnessProblems(report: unknown): string[] {
  const problems: string[] = [];
  const mustBeZero: [string, string][] = [
    ['winners.late_winners', 'late winners'],
    ['users.cap_violations', 'cap violations'],
    ['conservation.oversold_seats', 'oversold seats'],
  ];
  for (const [path, label] of mustBeZero) {
    const v = num(report, path);
    if (typeof v === 'number' && v > 0 && (path !== 'winners.late_winners' || pick(report, 'mode') !== 'lottery')) problems.push(`${label}: ${v}`);
  }
  return problems;
}

export function formatFairnessSideBySide(report: unknown, driver?: DriverView): string {
  const out: string[] = [`Fairness report (GET /admin/events/{id}/fairness, generated ${cell(pick(report, 'generated_at') as Cell)}, mode ${cell(pick(report, 'mode') as Cell)})`];
  const d = driver;
  const sideBySide: Cell[][] = [
    ['reserve requests / arrivals', d?.reserves, num(report, 'requests.arrivals')],
    ['won', d?.won, num(report, 'requests.won')],
    ['refused out_of_stock', d?.outOfStock, sum(num(report, 'requests.rejected.out_of_stock'), num(report, 'requests.refused_at_door.out_of_stock'))],
    ['rejected limit_exceeded', d?.limitExceeded, num(report, 'requests.rejected.limit_exceeded')],
    ['429 queue_full', d?.queueFull, num(report, 'requests.shed.queue_full')],
    ['429 rate_limited (report: queued-at-once only)', d?.rateLimited, num(report, 'requests.shed.rate_limited')],
    ['users above the cap', d?.capViolations, num(report, 'users.cap_violations')],
    ['oversold seats', d?.oversoldSeats, num(report, 'conservation.oversold_seats')],
    ['seats left', d?.seatsLeft, num(report, 'conservation.seats_left')],
    ['time to decision p50 (ms)', d?.decision ? ms(d.decision.p50) : undefined, num(report, 'time.to_decision_ms.p50')],
    ['time to decision p95 (ms)', d?.decision ? ms(d.decision.p95) : undefined, num(report, 'time.to_decision_ms.p95')],
    ['time to decision p99 (ms)', d?.decision ? ms(d.decision.p99) : undefined, num(report, 'time.to_decision_ms.p99')],
  ];
  out.push(table(['', 'driver saw', 'report'], sideBySide));
  out.push('  (the driver times a decision from sending the reserve to reading it, long-polls included; the report from admission to decision)');
  if (isFullReport(report)) out.push('', formatFairnessReport(report));
  const problems = fairnessProblems(report);
  out.push('', problems.length === 0 ? 'Fairness invariants: no late winner, no cap violation, nothing oversold.' : `FAIRNESS BUG (docs/fairness.md, "Reading it"): ${problems.join(', ')}`);
  return out.join('\n');
}

/** Shaped as this version's report (the sections the table prints are there). */
function isFullReport(report: unknown): report is FairnessReport {
  return ['requests', 'order', 'winners', 'users', 'conservation', 'shedding', 'time', 'categories'].every((k) => typeof pick(report, k) === 'object');
}
