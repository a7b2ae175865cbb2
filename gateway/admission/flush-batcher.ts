/**
 * Group commit for one key's items: an item that finds the batcher idle is flushed at once; items that
 * arrive while a flush is in flight wait for it and go together in the next one (at most `maxBatch`
 * per flush, in the order they came). With `minIntervalMs`, flushes also start at least that far apart,
 * unless a full batch is waiting: under load the items of that interval travel together (fewer, larger
 * flushes), and an item that finds the batcher idle for that long still goes at once. Each `add`
 * resolves with its own item's result (the flush returns one per item, in order; none for `void`) or
 * rejects with the flush that carried it. Flushes of one batcher never overlap, so they reach their
 * destination in the order their items were added. With `deferIdleFlush`, an idle batcher starts its
 * flush a microtask later instead of inside `add`: the items added before that microtask runs (by
 * callers resuming in the same turn of the event loop) go in that first flush together.
 */
export class FlushBatcher<T, R = void> {
  readonly #flush: (items: T[]) => Promise<R[] | void>;
  readonly #maxBatch: number;
  readonly #minIntervalMs: number;
  #waiting: { item: T; resolve: (result: R) => void; reject: (err: unknown) => void }[] = [];
  #inFlight = false;
  #lastStart = -Infinity;
  readonly #deferIdleFlush: boolean;
  /** Ends the wait for the interval early (a full batch is waiting). */
  #wake: (() => void) | undefined;

  constructor(flush: (items: T[]) => Promise<R[] | void>, maxBatch: number, minIntervalMs = 0, options: { deferIdleFlush?: boolean } = {}) {
    this.#flush = flush;
    this.#maxBatch = maxBatch;
    this.#minIntervalMs = minIntervalMs;
    this.#deferIdleFlush = options.deferIdleFlush ?? false;
  }

  /** Items waiting for the next flush. */
  get waiting(): number {
    return this.#waiting.length;
  }

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject });
      if (!this.#inFlight) {
        if (!this.#deferIdleFlush) void this.#drain();
        else {
          this.#inFlight = true;
          queueMicrotask(() => void this.#drain());
        }
      } else if (this.#wake && this.#waiting.length >= this.#maxBatch) this.#wake();
    });
  }

  async #drain(): Promise<void> {
    this.#inFlight = true;
    while (this.#waiting.length > 0) {
      // A loop: Node's timers count from the event loop's cached clock, so one may end up to ~1 ms
      // before performance.now() says the interval is over.
      for (;;) {
        const wait = this.#lastStart + this.#minIntervalMs - performance.now();
        if (wait <= 0 || this.#waiting.length >= this.#maxBatch) break;
        await this.#sleep(Math.max(1, wait));
      }
      this.#lastStart = performance.now();
      const batch = this.#waiting.splice(0, this.#maxBatch);
      try {
        const results = await this.#flush(batch.map((w) => w.item));
        if (results && results.length !== batch.length) throw new Error(`a flush of ${batch.length} items returned ${results.length} results`);
        batch.forEach((w, i) => w.resolve(results ? results[i]! : (undefined as R)));
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    this.#inFlight = false;
  }

  /** Waits `ms`, or less if a full batch wakes it (a plain timer: no AbortController, no rejected promise per wait). */
  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => { this.#wake = undefined; resolve(); }, ms);
      this.#wake = () => { clearTimeout(timer); this.#wake = undefined; resolve(); };
    });
  }
}
