/**
 * The fairness report's shapes (docs/fairness.md, "The JSON"): the event's settings and the rows the
 * builder takes (core/fairness/report.ts), and the report it gives.
 */

export interface FairnessEventInfo {
  readonly eventId: string;
  readonly maxPerUser: number;
  readonly mode: 'fifo' | 'lottery';
  readonly lottery?: { readonly windowS: number; readonly seed: number };
  readonly categories: readonly { readonly id: string; readonly name: string; readonly totalStock: number }[];
}

/** One request: a reservation (admitted) or a refusal at the door. Times are epoch ms. */
export interface FairnessRow {
  readonly source: 'reservation' | 'refusal';
  readonly seqArrival: number;
  readonly categoryId: string;
  readonly userId: string;
  readonly qty: number;
  /** a reservation's status; a refusal's is 'refused' */
  readonly status: string;
  readonly reason: string | null;
  readonly seqDecision: number | null;
  readonly receivedAtMs: number;
  readonly decidedAtMs: number | null;
  readonly updatedAtMs: number;
  readonly drawNo: number | null;
}

export interface CategoryFairness {
  category_id: string;
  name: string;
  total_stock: number;
  won: number;
  won_seats: number;
  returned_seats: number;
  seats_left: number;
  ideal: number;
  precision: number | null;
  late_winners: number;
  oversold_seats: number;
  undersold_refusals: number;
  servable_arrivals: number;
  servable_shed: number;
  sold_out_after_ms: number | null;
}

export interface GapFigure {
  gap_ms: number;
  pairs: number;
  inversions: number;
  inversion_rate: number | null;
}

export interface FairnessReport {
  event_id: string;
  mode: 'fifo' | 'lottery';
  generated_at: string;
  requests: {
    arrivals: number;
    admitted: number;
    decided: number;
    pending: number;
    cancelled_queued: number;
    won: number;
    rejected: { out_of_stock: number; limit_exceeded: number; sales_closed: number; internal_error: number };
    refused_at_door: { out_of_stock: number };
    shed: { queue_full: number; rate_limited: number };
  };
  order: {
    pairs: number;
    inversions: number;
    inversion_rate: number | null;
    by_gap: GapFigure[] | null;
    displacement: { max: number | null; p99: number | null; mean: number | null };
  };
  winners: { won: number; ideal: number; precision: number | null; late_winners: number };
  users: { users: number; cap_violations: number; jain_index: number | null; jain_index_ideal: number | null };
  conservation: { oversold_seats: number; undersold_refusals: number; seats_left: number };
  shedding: { servable_arrivals: number; servable_shed: number; rate: number | null };
  time: {
    to_decision_ms: { p50: number | null; p95: number | null; p99: number | null; max: number | null };
    sold_out_after_ms: number | null;
  };
  categories: CategoryFairness[];
  lottery: {
    window_s: number;
    seed: number;
    window_requests: number;
    draw_verified: boolean;
    win_rate_by_decile: (number | null)[];
    chi_squared: number | null;
    degrees_of_freedom: number;
  } | null;
}
