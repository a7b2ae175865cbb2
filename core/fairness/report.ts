import { drawOrder } from './lottery.ts';
import {
  chiSquared,
  Column,
  countInversions,
  countInversionsByGap,
  groupStarts,
  idealAllocation,
  jainIndex,
  nearestRank,
  ranksOf,
  rate,
  servable,
  type SeatReturn,
} from './metrics.ts';
import type { CategoryFairness, FairnessEventInfo, FairnessReport, FairnessRow, GapFigure } from './types.ts';

/**
 * The fairness report of one event (docs/fairness.md defines every figure). Rows are fed one at a time
 * in queue order (FairnessReportBuilder.add), so a caller can stream them from PostgreSQL; what is kept
 * is a few numbers per request in typed arrays, plus one small integer per distinct user.
 */

export type { CategoryFairness, FairnessEventInfo, FairnessReport, FairnessRow, GapFigure } from './types.ts';

export const GAPS_MS = [1, 10, 100] as const;

const WON_STATUSES = new Set(['reserved', 'confirmed', 'expired', 'cancelled']);
const RETURNED_STATUSES = new Set(['expired', 'cancelled']);
const RULE_REASONS = ['limit_exceeded', 'sales_closed', 'internal_error'] as const;

/** What one category keeps: its competing and shed requests in queue order, its wins and returns. */
class CategoryState {
  // Competing and shed requests, in queue order (shedding honesty walks them all).
  readonly walkQty = new Column();
  readonly walkShed = new Column();
  // Competing requests only, in queue order.
  readonly qty = new Column();
  readonly won = new Column();
  readonly user = new Column();
  readonly slotTimeMs = new Column();
  /** 0 for a shard decision, 1 for a refusal at the door (after shard decisions of the same ms) */
  readonly slotIsDoor = new Column();
  /** seq_decision, or seq_arrival for a refusal at the door */
  readonly slotTie = new Column();
  readonly wins: { atMs: number; qty: number; user: number; seqDecision: number }[] = [];
  readonly returns: (SeatReturn & { user: number })[] = [];
  /** out_of_stock refusals (shard or door): when and for how many */
  readonly refusalAtMs = new Column();
  readonly refusalQty = new Column();

  constructor(
    readonly id: string,
    readonly name: string,
    readonly totalStock: number,
  ) {}
}

export class FairnessReportBuilder {
  readonly #info: FairnessEventInfo;
  readonly #categories = new Map<string, CategoryState>();
  readonly #users = new Map<string, number>();
  readonly #counts = {
    arrivals: 0, admitted: 0, decided: 0, pending: 0, cancelledQueued: 0, won: 0,
    rejected: { out_of_stock: 0, limit_exceeded: 0, sales_closed: 0, internal_error: 0 },
    doorOutOfStock: 0, queueFull: 0, rateLimited: 0,
  };
  // Decided requests in queue order.
  readonly #decidedSeq = new Column();
  readonly #decidedReceivedAt = new Column();
  readonly #toDecisionMs = new Column();
  // Lottery: drawn requests (their arrival number, draw number, whether they won).
  readonly #drawnSeq = new Column();
  readonly #drawnNo = new Column();
  readonly #drawnWon = new Column();
  #firstArrivalMs = Infinity;

  constructor(info: FairnessEventInfo) {
    this.#info = info;
    for (const c of info.categories) this.#categories.set(c.id, new CategoryState(c.id, c.name, c.totalStock));
  }

  #userIndex(userId: string): number {
    let index = this.#users.get(userId);
    if (index === undefined) this.#users.set(userId, (index = this.#users.size));
    return index;
  }

  #category(id: string): CategoryState {
    let state = this.#categories.get(id);
    // A row of a category the event no longer lists: keep it, with no stock.
    if (!state) this.#categories.set(id, (state = new CategoryState(id, id, 0)));
    return state;
  }

  /** Adds the next request in queue order. */
  add(row: FairnessRow): void {
    const counts = this.#counts;
    const cat = this.#category(row.categoryId);
    const user = this.#userIndex(row.userId);
    counts.arrivals += 1;
    this.#firstArrivalMs = Math.min(this.#firstArrivalMs, row.receivedAtMs);

    if (row.source === 'refusal') {
      if (row.reason === 'out_of_stock') {
        counts.doorOutOfStock += 1;
        this.#competing(cat, row, user, false, row.receivedAtMs, 1, row.seqArrival);
        cat.refusalAtMs.push(row.receivedAtMs);
        cat.refusalQty.push(row.qty);
      } else {
        if (row.reason === 'queue_full') counts.queueFull += 1;
        else counts.rateLimited += 1;
        cat.walkQty.push(row.qty);
        cat.walkShed.push(1);
      }
      return;
    }

    counts.admitted += 1;
    const isDecided = row.seqDecision !== null && row.decidedAtMs !== null;
    const isWon = isDecided && WON_STATUSES.has(row.status);
    if (row.drawNo !== null) {
      this.#drawnSeq.push(row.seqArrival);
      this.#drawnNo.push(row.drawNo);
      this.#drawnWon.push(isWon ? 1 : 0);
    }
    if (row.seqDecision === null || row.decidedAtMs === null) {
      if (row.status === 'cancelled') counts.cancelledQueued += 1;
      else counts.pending += 1;
      return;
    }
    counts.decided += 1;
    this.#decidedSeq.push(row.seqDecision);
    this.#decidedReceivedAt.push(row.receivedAtMs);
    this.#toDecisionMs.push(row.decidedAtMs - row.receivedAtMs);
    if (isWon) {
      counts.won += 1;
      this.#competing(cat, row, user, true, row.decidedAtMs, 0, row.seqDecision);
      cat.wins.push({ atMs: row.decidedAtMs, qty: row.qty, user, seqDecision: row.seqDecision });
      if (RETURNED_STATUSES.has(row.status)) cat.returns.push({ atMs: row.updatedAtMs, qty: row.qty, user });
      return;
    }
    const reason = (RULE_REASONS as readonly string[]).includes(row.reason ?? '') ? (row.reason as (typeof RULE_REASONS)[number]) : 'out_of_stock';
    counts.rejected[reason] += 1;
    if (reason === 'out_of_stock') {
      this.#competing(cat, row, user, false, row.decidedAtMs, 0, row.seqDecision);
      cat.refusalAtMs.push(row.decidedAtMs);
      cat.refusalQty.push(row.qty);
    }
  }

  #competing(cat: CategoryState, row: FairnessRow, user: number, isWon: boolean, atMs: number, isDoor: number, tie: number): void {
    cat.walkQty.push(row.qty);
    cat.walkShed.push(0);
    cat.qty.push(row.qty);
    cat.won.push(isWon ? 1 : 0);
    cat.user.push(user);
    cat.slotTimeMs.push(atMs);
    cat.slotIsDoor.push(isDoor);
    cat.slotTie.push(tie);
  }

  build(now = new Date()): FairnessReport {
    const c = this.#counts;
    const categories = [...this.#categories.values()].map((cat) => this.#categoryFigures(cat));
    const perUser = this.#perUser(categories.map((x) => x.idealWinners));
    const sum = (pick: (x: CategoryFairness) => number) => categories.reduce((total, x) => total + pick(x.figures), 0);
    const soldOut = categories.map((x) => x.figures.sold_out_after_ms);
    const toDecision = Float64Array.from(this.#toDecisionMs.view()).sort();
    const won = sum((x) => x.won);
    const precisionWins = categories.reduce((total, x) => total + x.wonAndIdeal, 0);
    const servableArrivals = sum((x) => x.servable_arrivals);
    const servableShed = sum((x) => x.servable_shed);
    return {
      event_id: this.#info.eventId,
      mode: this.#info.mode,
      generated_at: now.toISOString(),
      requests: {
        arrivals: c.arrivals, admitted: c.admitted, decided: c.decided, pending: c.pending, cancelled_queued: c.cancelledQueued, won: c.won,
        rejected: { ...c.rejected },
        refused_at_door: { out_of_stock: c.doorOutOfStock },
        shed: { queue_full: c.queueFull, rate_limited: c.rateLimited },
      },
      order: this.#order(),
      winners: { won, ideal: sum((x) => x.ideal), precision: rate(precisionWins, won), late_winners: sum((x) => x.late_winners) },
      users: { users: this.#users.size, ...perUser },
      conservation: {
        oversold_seats: sum((x) => x.oversold_seats),
        undersold_refusals: sum((x) => x.undersold_refusals),
        seats_left: sum((x) => x.seats_left),
      },
      shedding: { servable_arrivals: servableArrivals, servable_shed: servableShed, rate: rate(servableShed, servableArrivals) },
      time: {
        to_decision_ms: { p50: nearestRank(toDecision, 50), p95: nearestRank(toDecision, 95), p99: nearestRank(toDecision, 99), max: nearestRank(toDecision, 100) },
        sold_out_after_ms: soldOut.length > 0 && soldOut.every((ms) => ms !== null) ? Math.max(...(soldOut as number[])) : null,
      },
      categories: categories.map((x) => x.figures),
      lottery: this.#lottery(),
    };
  }

  #order(): FairnessReport['order'] {
    const decisionRanks = ranksOf(this.#decidedSeq.view());
    const all = countInversions(decisionRanks);
    const receivedAt = this.#decidedReceivedAt.view();
    // By gap only in FIFO order: a lottery's draw order has no arrival-time meaning.
    let byGap: GapFigure[] | null = null;
    if (this.#info.mode === 'fifo') {
      byGap = [];
      for (const gapMs of GAPS_MS) {
        const counted = countInversionsByGap(decisionRanks, receivedAt, gapMs);
        if (!counted) {
          byGap = null;
          break;
        }
        byGap.push({ gap_ms: gapMs, pairs: counted.pairs, inversions: counted.inversions, inversion_rate: rate(counted.inversions, counted.pairs) });
      }
    }
    const n = decisionRanks.length;
    const displacement = new Float64Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) {
      displacement[i] = Math.abs(i + 1 - decisionRanks[i]!);
      total += displacement[i]!;
    }
    displacement.sort();
    return {
      pairs: all.pairs,
      inversions: all.inversions,
      inversion_rate: rate(all.inversions, all.pairs),
      by_gap: byGap,
      displacement: { max: nearestRank(displacement, 100), p99: nearestRank(displacement, 99), mean: n > 0 ? total / n : null },
    };
  }

  #categoryFigures(cat: CategoryState): { figures: CategoryFairness; idealWinners: { user: Float64Array; qty: Float64Array; ideal: Uint8Array }; wonAndIdeal: number } {
    const n = cat.qty.length;
    const slotTime = cat.slotTimeMs.view();
    const slotIsDoor = cat.slotIsDoor.view();
    const slotTie = cat.slotTie.view();
    const slotOrder = new Int32Array(n);
    for (let i = 0; i < n; i++) slotOrder[i] = i;
    slotOrder.sort((a, b) => slotTime[a]! - slotTime[b]! || slotIsDoor[a]! - slotIsDoor[b]! || slotTie[a]! - slotTie[b]!);
    const returns = [...cat.returns].sort((a, b) => a.atMs - b.atMs);
    const qty = cat.qty.view();
    const won = cat.won.view();
    const ideal = idealAllocation({ totalStock: cat.totalStock, qty, slotOrder, slotTimeMs: slotTime, returns });

    let idealCount = 0;
    let wonCount = 0;
    let wonAndIdeal = 0;
    let firstWrongedRefusal = Infinity;
    for (let i = 0; i < n; i++) {
      if (ideal[i]) idealCount += 1;
      if (won[i]) wonCount += 1;
      if (won[i] && ideal[i]) wonAndIdeal += 1;
      if (ideal[i] && !won[i] && i < firstWrongedRefusal) firstWrongedRefusal = i;
    }
    let lateWinners = 0;
    for (let i = firstWrongedRefusal + 1; i < n; i++) if (won[i] && !ideal[i]) lateWinners += 1;

    const returnedSeats = returns.reduce((total, r) => total + r.qty, 0);
    const wonSeats = cat.wins.reduce((total, w) => total + w.qty, 0);
    const walkServable = servable(cat.walkQty.view(), cat.totalStock + returnedSeats);
    const walkShed = cat.walkShed.view();
    let servableArrivals = 0;
    let servableShed = 0;
    for (let i = 0; i < walkServable.length; i++) {
      if (!walkServable[i]) continue;
      servableArrivals += 1;
      if (walkShed[i]) servableShed += 1;
    }

    const sweep = this.#sweep(cat, returns);
    return {
      figures: {
        category_id: cat.id,
        name: cat.name,
        total_stock: cat.totalStock,
        won: wonCount,
        won_seats: wonSeats,
        returned_seats: returnedSeats,
        seats_left: cat.totalStock - wonSeats + returnedSeats,
        ideal: idealCount,
        precision: rate(wonAndIdeal, wonCount),
        late_winners: lateWinners,
        oversold_seats: sweep.oversold,
        undersold_refusals: sweep.undersold,
        servable_arrivals: servableArrivals,
        servable_shed: servableShed,
        sold_out_after_ms: sweep.soldOutAtMs === null ? null : sweep.soldOutAtMs - this.#firstArrivalMs,
      },
      idealWinners: { user: cat.user.view(), qty, ideal },
      wonAndIdeal,
    };
  }

  /**
   * Seats taken over time: wins (+qty at their decision) and returns (−qty). Oversell and the sold-out
   * moment look at each millisecond as a whole (a return in the same ms as a win counts first); an
   * out_of_stock refusal sees the wins of its millisecond but not its returns.
   */
  #sweep(cat: CategoryState, returns: readonly SeatReturn[]): { oversold: number; undersold: number; soldOutAtMs: number | null } {
    const WIN = 0;
    const REFUSAL = 1;
    const RETURN = 2;
    const events: { atMs: number; kind: number; qty: number; tie: number }[] = [];
    for (const w of cat.wins) events.push({ atMs: w.atMs, kind: WIN, qty: w.qty, tie: w.seqDecision });
    for (const r of returns) events.push({ atMs: r.atMs, kind: RETURN, qty: r.qty, tie: 0 });
    const refusalAt = cat.refusalAtMs.view();
    const refusalQty = cat.refusalQty.view();
    const refusalOrder = new Int32Array(refusalAt.length);
    for (let i = 0; i < refusalOrder.length; i++) refusalOrder[i] = i;
    refusalOrder.sort((a, b) => refusalAt[a]! - refusalAt[b]!);
    events.sort((a, b) => a.atMs - b.atMs || a.kind - b.kind || a.tie - b.tie);

    let taken = 0;
    let oversold = 0;
    let undersold = 0;
    let soldOutAtMs: number | null = null;
    let r = 0;
    for (let i = 0; i < events.length; ) {
      const atMs = events[i]!.atMs;
      // Refusals before this millisecond saw the state as it was.
      while (r < refusalOrder.length && refusalAt[refusalOrder[r]!]! < atMs) {
        if (cat.totalStock - taken >= refusalQty[refusalOrder[r]!]!) undersold += 1;
        r += 1;
      }
      let j = i;
      while (j < events.length && events[j]!.atMs === atMs && events[j]!.kind === WIN) taken += events[j++]!.qty;
      // Refusals of this millisecond: after its wins, before its returns.
      while (r < refusalOrder.length && refusalAt[refusalOrder[r]!]! === atMs) {
        if (cat.totalStock - taken >= refusalQty[refusalOrder[r]!]!) undersold += 1;
        r += 1;
      }
      while (j < events.length && events[j]!.atMs === atMs) taken -= events[j++]!.qty;
      oversold = Math.max(oversold, taken - cat.totalStock);
      if (soldOutAtMs === null && cat.totalStock > 0 && taken >= cat.totalStock) soldOutAtMs = atMs;
      i = j;
    }
    for (; r < refusalOrder.length; r++) if (cat.totalStock - taken >= refusalQty[refusalOrder[r]!]!) undersold += 1;
    return { oversold, undersold, soldOutAtMs };
  }

  /** Cap violations from each user's wins and returns; Jain's index of the real and the ideal allocation. */
  #perUser(idealWinners: { user: Float64Array; qty: Float64Array; ideal: Uint8Array }[]): Omit<FairnessReport['users'], 'users'> {
    const timeline = new Map<number, { atMs: number; delta: number }[]>();
    const seats = new Map<number, number>();
    for (const cat of this.#categories.values()) {
      for (const w of cat.wins) {
        seats.set(w.user, (seats.get(w.user) ?? 0) + w.qty);
        let t = timeline.get(w.user);
        if (!t) timeline.set(w.user, (t = []));
        t.push({ atMs: w.atMs, delta: w.qty });
      }
      for (const r of cat.returns) timeline.get(r.user)?.push({ atMs: r.atMs, delta: -r.qty });
    }
    let capViolations = 0;
    for (const events of timeline.values()) {
      // Returns before wins of the same millisecond.
      events.sort((a, b) => a.atMs - b.atMs || a.delta - b.delta);
      let held = 0;
      let peak = 0;
      for (const e of events) peak = Math.max(peak, (held += e.delta));
      if (peak > this.#info.maxPerUser) capViolations += 1;
    }
    let sum = 0;
    let sumSq = 0;
    for (const x of seats.values()) {
      sum += x;
      sumSq += x * x;
    }
    const idealSeats = new Map<number, number>();
    for (const { user, qty, ideal } of idealWinners) {
      for (let i = 0; i < ideal.length; i++) if (ideal[i]) idealSeats.set(user[i]!, (idealSeats.get(user[i]!) ?? 0) + qty[i]!);
    }
    let idealSum = 0;
    let idealSumSq = 0;
    for (const x of idealSeats.values()) {
      idealSum += x;
      idealSumSq += x * x;
    }
    const n = this.#users.size;
    return { cap_violations: capViolations, jain_index: jainIndex(sum, sumSq, n), jain_index_ideal: jainIndex(idealSum, idealSumSq, n) };
  }

  #lottery(): FairnessReport['lottery'] {
    const lottery = this.#info.lottery;
    if (this.#info.mode !== 'lottery' || !lottery) return null;
    const k = this.#drawnSeq.length;
    const seq = this.#drawnSeq.view();
    const byArrival = new Int32Array(k);
    for (let i = 0; i < k; i++) byArrival[i] = i;
    byArrival.sort((a, b) => seq[a]! - seq[b]!);
    const expectedDraw = drawOrder(k, lottery.seed);
    let isVerified = true;
    for (let i = 0; i < k && isVerified; i++) isVerified = this.#drawnNo.at(byArrival[i]!) === expectedDraw[i];

    const starts = groupStarts(k, 10);
    const wins: number[] = [];
    const sizes: number[] = [];
    for (let d = 0; d < 10; d++) {
      let w = 0;
      for (let i = starts[d]!; i < starts[d + 1]!; i++) w += this.#drawnWon.at(byArrival[i]!);
      wins.push(w);
      sizes.push(starts[d + 1]! - starts[d]!);
    }
    const totalWins = wins.reduce((a, b) => a + b, 0);
    const expected = sizes.map((size) => (k > 0 ? (totalWins * size) / k : 0));
    return {
      window_s: lottery.windowS,
      seed: lottery.seed,
      window_requests: k,
      draw_verified: isVerified,
      win_rate_by_decile: wins.map((w, d) => rate(w, sizes[d]!)),
      chi_squared: k > 0 && totalWins > 0 ? chiSquared(wins, expected) : null,
      degrees_of_freedom: 9,
    };
  }
}
