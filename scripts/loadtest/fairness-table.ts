import type { LatencyStats } from './recorder.ts';
import { cell, ms, table, type Cell } from './text-table.ts';

/**
 * The fairness report (`GET /admin/events/{id}/fairness`, JSON in docs/fairness.md) as text: first
 * beside what the driver saw of the same run, then the figures only the server can know. Reads the
 * JSON defensively: a field it lacks prints as '–'.
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

export function formatFairnessReport(report: unknown, driver?: DriverView): string {
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

  out.push('', 'Order (decided requests)');
  const byGap = pick(report, 'order.by_gap');
  out.push(
    table(
      ['pairs counted', 'pairs', 'inversions', 'inversion rate'],
      [
        ['all', num(report, 'order.pairs'), num(report, 'order.inversions'), num(report, 'order.inversion_rate')],
        ...(Array.isArray(byGap) ? byGap : []).map((g): Cell[] => [`arrivals > ${cell(num(g, 'gap_ms'))} ms apart`, num(g, 'pairs'), num(g, 'inversions'), num(g, 'inversion_rate')]),
      ],
    ),
  );
  out.push(`  displacement: max ${cell(num(report, 'order.displacement.max'))}, p99 ${cell(num(report, 'order.displacement.p99'))}, mean ${cell(num(report, 'order.displacement.mean'))}`);

  out.push('', 'Winners, users, stock');
  out.push(
    table(
      ['measure', 'value'],
      [
        ['winners / ideal FIFO winners', `${cell(num(report, 'winners.won'))} / ${cell(num(report, 'winners.ideal'))}`],
        ['winner-set precision', num(report, 'winners.precision')],
        ['late winners (must be 0)', num(report, 'winners.late_winners')],
        ['users with an arrival', num(report, 'users.users')],
        ['cap violations (must be 0)', num(report, 'users.cap_violations')],
        ["Jain's index / ideal", `${cell(num(report, 'users.jain_index'))} / ${cell(num(report, 'users.jain_index_ideal'))}`],
        ['oversold seats (must be 0)', num(report, 'conservation.oversold_seats')],
        ['undersold refusals (false sold-outs)', num(report, 'conservation.undersold_refusals')],
        ['shedding: servable shed / servable', `${cell(num(report, 'shedding.servable_shed'))} / ${cell(num(report, 'shedding.servable_arrivals'))} = ${cell(num(report, 'shedding.rate'))}`],
        ['time to decision max (ms)', num(report, 'time.to_decision_ms.max')],
        ['sold out after (ms)', num(report, 'time.sold_out_after_ms')],
      ],
    ),
  );

  const categories = pick(report, 'categories');
  if (Array.isArray(categories) && categories.length > 0) {
    out.push('', 'Categories');
    out.push(
      table(
        ['name', 'stock', 'won', 'seats won', 'returned', 'left', 'precision', 'late', 'oversold', 'undersold', 'shed/servable', 'sold out after ms'],
        categories.map((c): Cell[] => [
          cell(pick(c, 'name') as Cell),
          num(c, 'total_stock'),
          num(c, 'won'),
          num(c, 'won_seats'),
          num(c, 'returned_seats'),
          num(c, 'seats_left'),
          num(c, 'precision'),
          num(c, 'late_winners'),
          num(c, 'oversold_seats'),
          num(c, 'undersold_refusals'),
          `${cell(num(c, 'servable_shed'))}/${cell(num(c, 'servable_arrivals'))}`,
          num(c, 'sold_out_after_ms'),
        ]),
      ),
    );
  }
  const lottery = pick(report, 'lottery');
  if (lottery !== null && lottery !== undefined) {
    const deciles = pick(lottery, 'win_rate_by_decile');
    out.push('', `Lottery: window ${cell(num(lottery, 'window_s'))} s, ${cell(num(lottery, 'window_requests'))} requests, draw verified ${String(pick(lottery, 'draw_verified'))}`);
    out.push(`  win rate by arrival decile: ${Array.isArray(deciles) ? deciles.map((v) => cell(v as Cell)).join(' ') : '–'}`);
    out.push(`  chi-squared ${cell(num(lottery, 'chi_squared'))} (${cell(num(lottery, 'degrees_of_freedom'))} degrees of freedom; above 16.92: p < 0.05)`);
  }
  const problems = fairnessProblems(report);
  out.push('', problems.length === 0 ? 'Fairness invariants: no late winner, no cap violation, nothing oversold.' : `FAIRNESS BUG (docs/fairness.md, "Reading it"): ${problems.join(', ')}`);
  return out.join('\n');
}
