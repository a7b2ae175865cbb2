/**
 * The fairness report's building blocks (docs/fairness.md), pure and over typed arrays: inversions
 * (Kendall distance) in O(n log n), nearest-rank percentiles, Jain's index, χ², deciles and the ideal FIFO
 * allocation.
 */

/** A Float64Array that grows by doubling: a few bytes per value, never an object per value. */
export class Column {
  #data: Float64Array;
  #length = 0;

  constructor(capacity = 1024) {
    this.#data = new Float64Array(Math.max(1, capacity));
  }

  get length(): number {
    return this.#length;
  }

  push(value: number): void {
    if (this.#length === this.#data.length) {
      const grown = new Float64Array(this.#data.length * 2);
      grown.set(this.#data);
      this.#data = grown;
    }
    this.#data[this.#length++] = value;
  }

  at(i: number): number {
    return this.#data[i]!;
  }

  /** The values (a view: valid until the next push). */
  view(): Float64Array {
    return this.#data.subarray(0, this.#length);
  }
}

/** Fenwick tree over ranks 1..n: counts how many inserted ranks are at or below a rank. */
class Fenwick {
  readonly #tree: Int32Array;
  constructor(n: number) {
    this.#tree = new Int32Array(n + 1);
  }
  add(rank: number): void {
    for (let i = rank; i < this.#tree.length; i += i & -i) this.#tree[i]! += 1;
  }
  countAtMost(rank: number): number {
    let sum = 0;
    for (let i = rank; i > 0; i -= i & -i) sum += this.#tree[i]!;
    return sum;
  }
}

/** Ranks 1..n of `values` (distinct), as an Int32Array in the same order. */
export function ranksOf(values: ArrayLike<number>): Int32Array {
  const n = values.length;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => values[a]! - values[b]!);
  const ranks = new Int32Array(n);
  for (let r = 0; r < n; r++) ranks[order[r]!] = r + 1;
  return ranks;
}

export interface PairCount {
  readonly pairs: number;
  readonly inversions: number;
}

/**
 * Pairs (i before j in `decisionRanks`' order, the queue order) decided the other way round: j's rank
 * below i's. O(n log n).
 */
export function countInversions(decisionRanks: Int32Array): PairCount {
  const n = decisionRanks.length;
  const seen = new Fenwick(n);
  let inversions = 0;
  for (let j = 0; j < n; j++) {
    inversions += j - seen.countAtMost(decisionRanks[j]!);
    seen.add(decisionRanks[j]!);
  }
  return { pairs: (n * (n - 1)) / 2, inversions };
}

/**
 * The same, restricted to pairs whose arrivals are more than `gapMs` apart: receivedAt[j] −
 * receivedAt[i] > gapMs. `receivedAt` must not decrease along the queue order (true in FIFO order: the
 * arrival number and the time are taken in the same script); null otherwise.
 */
export function countInversionsByGap(decisionRanks: Int32Array, receivedAt: ArrayLike<number>, gapMs: number): PairCount | null {
  const n = decisionRanks.length;
  for (let j = 1; j < n; j++) if (receivedAt[j]! < receivedAt[j - 1]!) return null;
  const seen = new Fenwick(n);
  let pairs = 0;
  let inversions = 0;
  let p = 0;
  for (let j = 0; j < n; j++) {
    while (p < j && receivedAt[j]! - receivedAt[p]! > gapMs) seen.add(decisionRanks[p++]!);
    pairs += p;
    inversions += p - seen.countAtMost(decisionRanks[j]!);
  }
  return { pairs, inversions };
}

/** The number of pairs decided the other way round, by comparing every pair (for tests). */
export function countInversionsBruteForce(decisionRanks: ArrayLike<number>, receivedAt?: ArrayLike<number>, gapMs = -Infinity): PairCount {
  let pairs = 0;
  let inversions = 0;
  for (let i = 0; i < decisionRanks.length; i++) {
    for (let j = i + 1; j < decisionRanks.length; j++) {
      if (receivedAt && !(receivedAt[j]! - receivedAt[i]! > gapMs)) continue;
      pairs += 1;
      if (decisionRanks[j]! < decisionRanks[i]!) inversions += 1;
    }
  }
  return { pairs, inversions };
}

/** Nearest rank: the smallest value with at least p% of the values at or below it; null when empty. */
export function nearestRank(sorted: ArrayLike<number>, p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/** Jain's index (Σx)² / (n·Σx²); null when nobody got anything or there is nobody. */
export function jainIndex(sum: number, sumOfSquares: number, n: number): number | null {
  if (n === 0 || sumOfSquares === 0) return null;
  return (sum * sum) / (n * sumOfSquares);
}

/** Σ (O − E)² / E over the cells with E > 0. */
export function chiSquared(observed: readonly number[], expected: readonly number[]): number {
  let chi = 0;
  for (let i = 0; i < observed.length; i++) {
    const e = expected[i]!;
    if (e > 0) chi += (observed[i]! - e) ** 2 / e;
  }
  return chi;
}

/** The first index of each of `parts` groups as equal as possible: group d holds ⌊d·n/parts⌋ .. ⌊(d+1)·n/parts⌋ − 1. */
export function groupStarts(n: number, parts: number): number[] {
  return Array.from({ length: parts + 1 }, (_, d) => Math.floor((d * n) / parts));
}

/** A seat coming back (a won hold that expired or was cancelled) at `atMs`. */
export interface SeatReturn {
  readonly atMs: number;
  readonly qty: number;
}

export interface IdealInput {
  /** seats of the category */
  readonly totalStock: number;
  /** competing requests in queue order: their qty */
  readonly qty: ArrayLike<number>;
  /**
   * the real decision moments of the same requests, as sortable keys (the caller's order: time, then
   * shard decisions by seq_decision before refusals at the door); `slotTimeMs[k]` is the time of key k
   */
  readonly slotOrder: Int32Array;
  readonly slotTimeMs: ArrayLike<number>;
  /** returns sorted by time */
  readonly returns: readonly SeatReturn[];
}

/**
 * The ideal FIFO allocation: the k-th real decision moment goes to the k-th request in queue order;
 * seats that came back at or before a moment count at it; first fit. Returns 1 for each ideal winner.
 */
export function idealAllocation(input: IdealInput): Uint8Array {
  const n = input.qty.length;
  const ideal = new Uint8Array(n);
  let free = input.totalStock;
  let r = 0;
  for (let k = 0; k < n; k++) {
    const at = input.slotTimeMs[input.slotOrder[k]!]!;
    while (r < input.returns.length && input.returns[r]!.atMs <= at) free += input.returns[r++]!.qty;
    const qty = input.qty[k]!;
    if (free >= qty) {
      ideal[k] = 1;
      free -= qty;
    }
  }
  return ideal;
}

/** First fit in queue order with the whole supply: 1 for each request the stock could have served. */
export function servable(qty: ArrayLike<number>, supply: number): Uint8Array {
  const result = new Uint8Array(qty.length);
  let free = supply;
  for (let i = 0; i < qty.length; i++) {
    if (free >= qty[i]!) {
      result[i] = 1;
      free -= qty[i]!;
    }
  }
  return result;
}

/** A rate, or null when nothing was counted. */
export const rate = (part: number, whole: number): number | null => (whole > 0 ? part / whole : null);
