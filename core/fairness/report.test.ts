import { expect } from 'chai';
import { formatFairnessReport } from './format.ts';
import { drawOrder } from './lottery.ts';
import { countInversions, countInversionsBruteForce, countInversionsByGap, nearestRank, ranksOf } from './metrics.ts';
import { FairnessReportBuilder, type FairnessEventInfo, type FairnessRow } from './report.ts';

// The worked examples of docs/fairness.md, figure by figure.

const CAT = 'cat-a';
const info = (totalStock: number, maxPerUser = 4, extra: Partial<FairnessEventInfo> = {}): FairnessEventInfo => ({
  eventId: 'evt', maxPerUser, mode: 'fifo', categories: [{ id: CAT, name: 'A', totalStock }], ...extra,
});

/** A decided reservation: arrival number, user, qty, received, decision number and time, final status. */
function decided(seq: number, user: string, qty: number, receivedAtMs: number, seqDecision: number, decidedAtMs: number, status: string, updatedAtMs = decidedAtMs): FairnessRow {
  return {
    source: 'reservation', seqArrival: seq, categoryId: CAT, userId: user, qty, status,
    reason: status === 'rejected' ? 'out_of_stock' : null, seqDecision, receivedAtMs, decidedAtMs, updatedAtMs, drawNo: null,
  };
}
function atDoor(seq: number, user: string, qty: number, receivedAtMs: number, reason: string): FairnessRow {
  return {
    source: 'refusal', seqArrival: seq, categoryId: CAT, userId: user, qty, status: 'refused', reason, seqDecision: null,
    receivedAtMs, decidedAtMs: null, updatedAtMs: receivedAtMs, drawNo: null,
  };
}
function build(eventInfo: FairnessEventInfo, rows: FairnessRow[]) {
  const builder = new FairnessReportBuilder(eventInfo);
  for (const row of rows) builder.add(row);
  return builder.build(new Date(0));
}

/** Two seats; requests 1, 2, 3 (one seat each) decided 1, 3, 2. */
const lateWinnerExample = (): FairnessRow[] => [
  decided(1, 'u1', 1, 0, 1, 10, 'reserved'),
  decided(2, 'u2', 1, 1, 3, 12, 'rejected'),
  decided(3, 'u3', 1, 2, 2, 11, 'reserved'),
];

describe('fairness report: the worked examples of docs/fairness.md', () => {
  it('inversions, by gap, and displacement: A–E received at 0, 0, 2, 15, 200 ms, decided A, C, B, E, D', () => {
    const report = build(info(0), [
      decided(1, 'a', 1, 0, 1, 300, 'rejected'),
      decided(2, 'b', 1, 0, 3, 302, 'rejected'),
      decided(3, 'c', 1, 2, 2, 301, 'rejected'),
      decided(4, 'd', 1, 15, 5, 304, 'rejected'),
      decided(5, 'e', 1, 200, 4, 303, 'rejected'),
    ]);
    expect(report.order).to.deep.include({ pairs: 10, inversions: 2, inversion_rate: 0.2 });
    expect(report.order.by_gap!.map((g) => [g.gap_ms, g.pairs, g.inversions])).to.deep.equal([[1, 9, 2], [10, 7, 1], [100, 4, 1]]);
    expect(report.order.by_gap![1]!.inversion_rate).to.be.closeTo(1 / 7, 1e-12);
    expect(report.order.displacement).to.deep.equal({ max: 1, p99: 1, mean: 0.8 });
  });

  it('mixed quantities and a returned seat: precision 1, no late winner, Jain 0.5333, nothing over- or undersold', () => {
    const report = build(info(4), [
      decided(1, 'U1', 2, 0, 1, 10, 'expired', 40),
      decided(2, 'U2', 3, 1, 3, 12, 'rejected'),
      decided(3, 'U3', 1, 2, 2, 11, 'reserved'),
      decided(4, 'U4', 2, 3, 4, 13, 'rejected'),
      decided(5, 'U5', 1, 50, 5, 60, 'reserved'),
    ]);
    expect(report.winners).to.deep.equal({ won: 3, ideal: 3, precision: 1, late_winners: 0 });
    expect(report.order.inversions).to.equal(1);
    expect(report.users.users).to.equal(5);
    expect(report.users.cap_violations).to.equal(0);
    expect(report.users.jain_index).to.be.closeTo(16 / 30, 1e-12);
    expect(report.users.jain_index_ideal).to.be.closeTo(16 / 30, 1e-12);
    expect(report.conservation).to.deep.equal({ oversold_seats: 0, undersold_refusals: 0, seats_left: 2 });
    expect(report.categories[0]).to.include({ won_seats: 4, returned_seats: 2, sold_out_after_ms: null });
    expect(report.time.to_decision_ms).to.deep.equal({ p50: 10, p95: 11, p99: 11, max: 11 });
    expect(report.requests).to.deep.include({ arrivals: 5, admitted: 5, decided: 5, won: 3 });
    expect(report.requests.rejected.out_of_stock).to.equal(2);
  });

  it('a late winner: two seats, requests 1, 2, 3 decided 1, 3, 2', () => {
    const report = build(info(2), lateWinnerExample());
    expect(report.winners).to.deep.equal({ won: 2, ideal: 2, precision: 0.5, late_winners: 1 });
    expect(report.categories[0]!.sold_out_after_ms).to.equal(11);
    expect(report.time.sold_out_after_ms).to.equal(11);
  });

  it('a winner of a seat returned after an earlier buyer was refused is not a late winner', () => {
    // One seat: 1 wins at 10, its hold expires at 40; 2 (arrived 1) is refused at 20; 3 (arrived 30) wins at 50.
    const report = build(info(1), [
      decided(1, 'u1', 1, 0, 1, 10, 'expired', 40),
      decided(2, 'u2', 1, 1, 2, 20, 'rejected'),
      decided(3, 'u3', 1, 30, 3, 50, 'confirmed'),
    ]);
    expect(report.winners).to.deep.include({ precision: 1, late_winners: 0 });
  });

  it('cap violations: a user holding more than max_per_user at one moment', () => {
    const report = build(info(10, 2), [
      decided(1, 'U', 2, 0, 1, 10, 'reserved'),
      decided(2, 'V', 2, 1, 2, 10, 'expired', 15),
      decided(3, 'U', 1, 2, 3, 20, 'reserved'),
      decided(4, 'V', 2, 3, 4, 20, 'reserved'),
    ]);
    expect(report.users.cap_violations).to.equal(1);
  });

  it('undersell: a refusal while enough seats were free; a return in the same millisecond counts after the refusal', () => {
    const report = build(info(2), [
      decided(1, 'u1', 2, 0, 1, 1, 'expired', 5),
      atDoor(2, 'u2', 1, 5, 'out_of_stock'),
      atDoor(3, 'u3', 1, 6, 'out_of_stock'),
    ]);
    expect(report.conservation.undersold_refusals).to.equal(1);
    expect(report.requests.refused_at_door.out_of_stock).to.equal(2);
  });

  it('oversell: more seats held than the stock', () => {
    const report = build(info(1), [decided(1, 'u1', 1, 0, 1, 1, 'reserved'), decided(2, 'u2', 1, 0, 2, 2, 'reserved')]);
    expect(report.conservation.oversold_seats).to.equal(1);
  });

  it('shedding honesty: three seats; arrivals 1, 3, 4 admitted, 2 and 5 shed: 1 of 3 servable arrivals shed', () => {
    const report = build(info(3), [
      decided(1, 'u1', 1, 0, 1, 10, 'reserved'),
      atDoor(2, 'u2', 1, 1, 'queue_full'),
      decided(3, 'u3', 1, 2, 2, 11, 'reserved'),
      decided(4, 'u4', 1, 3, 3, 12, 'reserved'),
      atDoor(5, 'u5', 1, 4, 'queue_full'),
    ]);
    expect(report.shedding.servable_arrivals).to.equal(3);
    expect(report.shedding.servable_shed).to.equal(1);
    expect(report.shedding.rate).to.be.closeTo(1 / 3, 1e-12);
    expect(report.requests.shed).to.deep.equal({ queue_full: 2, rate_limited: 0 });
  });

  describe('lottery', () => {
    const SEED = 42;
    /** 20 requests in the window, drawn with SEED; `isWinner(arrivalIndex)` says who won. */
    function lotteryRows(isWinner: (i: number) => boolean, drawNos: ArrayLike<number> = drawOrder(20, SEED)): FairnessRow[] {
      const rows = Array.from({ length: 20 }, (_, i) => ({
        ...decided(i + 1, `u${i}`, 1, i, drawNos[i]!, 1000 + drawNos[i]!, isWinner(i) ? 'reserved' : 'rejected'),
        drawNo: drawNos[i]!,
      }));
      return rows.sort((a, b) => a.drawNo - b.drawNo);
    }
    const lotteryInfo = info(10, 4, { mode: 'lottery', lottery: { windowS: 30, seed: SEED } });

    it('one winner in each decile: every win rate 0.5, χ² 0, the draw verified from the seed', () => {
      const report = build(lotteryInfo, lotteryRows((i) => i % 2 === 0));
      expect(report.lottery).to.deep.include({ window_requests: 20, draw_verified: true, chi_squared: 0, degrees_of_freedom: 9 });
      expect(report.lottery!.win_rate_by_decile).to.deep.equal(Array(10).fill(0.5));
      // Decided in draw order: no inversion against the queue order, and no gap figures.
      expect(report.order.inversions).to.equal(0);
      expect(report.order.by_gap).to.equal(null);
    });

    it('the first five deciles take all ten wins: χ² 10; a draw that does not follow the seed is not verified', () => {
      const report = build(lotteryInfo, lotteryRows((i) => i < 10));
      expect(report.lottery!.chi_squared).to.be.closeTo(10, 1e-12);
      const tampered = Array.from(drawOrder(20, SEED));
      [tampered[0], tampered[1]] = [tampered[1]!, tampered[0]!];
      expect(build(lotteryInfo, lotteryRows((i) => i < 10, tampered)).lottery!.draw_verified).to.equal(false);
    });
  });
});

describe('fairness metrics', () => {
  it('counts inversions in O(n log n) exactly as comparing every pair, with and without a gap', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 30; round++) {
      const n = 1 + Math.floor(random() * 300);
      const receivedAt: number[] = [];
      let t = 0;
      for (let i = 0; i < n; i++) receivedAt.push((t += Math.floor(random() * 4)));
      // Mostly in order with local swaps, or fully random.
      const decisions = receivedAt.map((_, i) => (round % 2 ? random() * n : i + random() * 20));
      const ranks = ranksOf(decisions);
      expect(countInversions(ranks)).to.deep.equal(countInversionsBruteForce(ranks));
      for (const gap of [0, 1, 3, 10]) {
        expect(countInversionsByGap(ranks, receivedAt, gap), `n=${n} gap=${gap}`).to.deep.equal(countInversionsBruteForce(ranks, receivedAt, gap));
      }
    }
  });

  it('a reversed order has every pair inverted; times going backwards give no gap figure', () => {
    expect(countInversions(Int32Array.from([4, 3, 2, 1]))).to.deep.equal({ pairs: 6, inversions: 6 });
    expect(countInversionsByGap(Int32Array.from([1, 2]), [5, 4], 1)).to.equal(null);
  });

  it('nearest-rank percentiles', () => {
    expect(nearestRank([0, 1, 1, 1, 1], 99)).to.equal(1);
    expect(nearestRank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)).to.equal(5);
    expect(nearestRank([], 50)).to.equal(null);
  });

  it('the lottery draw is a permutation fixed by its seed', () => {
    const draw = drawOrder(1000, 123);
    expect([...draw].sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(drawOrder(1000, 123)).to.deep.equal(draw);
    expect(drawOrder(1000, 124)).to.not.deep.equal(draw);
    expect(() => drawOrder(3, -1)).to.throw(RangeError);
  });
});

describe('formatFairnessReport', () => {
  it('prints every headline figure with its label, and the lottery lines for a lottery', () => {
    const report = build(info(2), lateWinnerExample());
    const text = formatFairnessReport(report);
    expect(text).to.match(/^late winners +1 /m);
    expect(text).to.match(/^winner-set precision +50\.0000% /m);
    expect(text).to.match(/^inversion rate +33\.3333% +1 of 3 pairs/m);
    expect(text).to.match(/^oversold seats +0 /m);
    expect(text).to.not.include('lottery');
    const lottery = formatFairnessReport({ ...report, mode: 'lottery', lottery: { window_s: 30, seed: 7, window_requests: 3, draw_verified: false, win_rate_by_decile: Array(10).fill(null), chi_squared: null, degrees_of_freedom: 9 } });
    expect(lottery).to.include('NOT matching the seed');
  });
});
