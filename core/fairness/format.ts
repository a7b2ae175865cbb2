import type { FairnessReport } from './report.ts';

/** The fairness report as a plain-text table for people (`npm run fairness`, `npm run loadtest`). */
export function formatFairnessReport(report: FairnessReport): string {
  const num = (n: number | null, digits = 0) => (n === null ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
  const pct = (n: number | null) => (n === null ? '–' : `${(n * 100).toFixed(n > 0 && n < 0.0001 ? 6 : 4)}%`);
  const ms = (n: number | null) => (n === null ? '–' : `${num(n)} ms`);
  const r = report.requests;
  const rows: [string, string, string?][] = [
    ['event', `${report.event_id} (${report.mode})`],
    ['arrivals', num(r.arrivals), `admitted ${num(r.admitted)}, decided ${num(r.decided)}, pending ${num(r.pending)}, cancelled while queued ${num(r.cancelled_queued)}`],
    ['won', num(r.won), `rejected: out_of_stock ${num(r.rejected.out_of_stock)}, limit_exceeded ${num(r.rejected.limit_exceeded)}, sales_closed ${num(r.rejected.sales_closed)}, internal_error ${num(r.rejected.internal_error)}`],
    ['refused at the door', num(r.refused_at_door.out_of_stock), 'out_of_stock'],
    ['shed (429)', num(r.shed.queue_full + r.shed.rate_limited), `queue_full ${num(r.shed.queue_full)}, rate_limited ${num(r.shed.rate_limited)}`],
    ['', ''],
    ['inversion rate', pct(report.order.inversion_rate), `${num(report.order.inversions)} of ${num(report.order.pairs)} pairs`],
    ...(report.order.by_gap ?? []).map((g): [string, string, string] => [`  arrivals > ${g.gap_ms} ms apart`, pct(g.inversion_rate), `${num(g.inversions)} of ${num(g.pairs)} pairs`]),
    ['displacement', `max ${num(report.order.displacement.max)}`, `p99 ${num(report.order.displacement.p99)}, mean ${num(report.order.displacement.mean, 3)}`],
    ['winner-set precision', pct(report.winners.precision), `${num(report.winners.won)} winners, ${num(report.winners.ideal)} in the ideal FIFO allocation`],
    ['late winners', num(report.winners.late_winners), 'must be 0 in FIFO mode'],
    ['cap violations', num(report.users.cap_violations), 'must be 0'],
    ["Jain's index", num(report.users.jain_index, 4), `over ${num(report.users.users)} users; the ideal allocation's ${num(report.users.jain_index_ideal, 4)}`],
    ['oversold seats', num(report.conservation.oversold_seats), 'must be 0'],
    ['undersold refusals', num(report.conservation.undersold_refusals), `refused while seats were free; seats left ${num(report.conservation.seats_left)}`],
    ['shedding honesty', pct(report.shedding.rate), `${num(report.shedding.servable_shed)} of ${num(report.shedding.servable_arrivals)} servable arrivals shed`],
    ['time to decision', `p50 ${ms(report.time.to_decision_ms.p50)}`, `p95 ${ms(report.time.to_decision_ms.p95)}, p99 ${ms(report.time.to_decision_ms.p99)}, max ${ms(report.time.to_decision_ms.max)}`],
    ['sold out after', ms(report.time.sold_out_after_ms), 'from the first arrival'],
  ];
  for (const c of report.categories) {
    rows.push([`category ${c.name}`, `${num(c.won_seats)} of ${num(c.total_stock)} seats won`, `returned ${num(c.returned_seats)}, left ${num(c.seats_left)}, precision ${pct(c.precision)}, late winners ${num(c.late_winners)}, sold out after ${ms(c.sold_out_after_ms)}`]);
  }
  const lottery = report.lottery;
  if (lottery) {
    rows.push(
      ['lottery', `window ${lottery.window_s} s, seed ${lottery.seed}`, `${num(lottery.window_requests)} requests drawn; draw ${lottery.draw_verified ? 'verified from the seed' : 'NOT matching the seed'}`],
      ['  win rate by decile', lottery.win_rate_by_decile.map((x) => (x === null ? '–' : x.toFixed(2))).join(' '), ''],
      ['  χ² (9 d.f.)', num(lottery.chi_squared, 2), 'above 16.92: p < 0.05, not uniform'],
    );
  }
  const width = Math.max(...rows.map(([label]) => label.length));
  const valueWidth = Math.max(...rows.map(([, value]) => value.length));
  return rows.map(([label, value, note]) => (label === '' ? '' : `${label.padEnd(width)}  ${value.padEnd(valueWidth)}${note ? `  ${note}` : ''}`)).join('\n');
}
