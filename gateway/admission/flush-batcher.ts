/**
 * Group commit for one key's items: the first item is flushed at once; items that arrive while a flush
 * is in flight wait for it and go together in the next one (at most `maxBatch` per flush, in the order
 * they came). So an idle system adds no delay, and a busy one sends one job per round trip instead of
 * one per request. Each `add` resolves or rejects with the flush that carried its item. Flushes of one
 * batcher never overlap, so they reach the queue in the order their items were added.
 */
export class FlushBatcher<T> {
  readonly #flush: (items: T[]) => Promise<void>;
  readonly #maxBatch: number;
  #waiting: { item: T; resolve: () => void; reject: (err: unknown) => void }[] = [];
  #inFlight = false;

  constructor(flush: (items: T[]) => Promise<void>, maxBatch: number) {
    this.#flush = flush;
    this.#maxBatch = maxBatch;
  }

  /** Items waiting for the next flush. */
  get waiting(): number {
    return this.#waiting.length;
  }

  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject });
      if (!this.#inFlight) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#inFlight = true;
    while (this.#waiting.length > 0) {
      const batch = this.#waiting.splice(0, this.#maxBatch);
      try {
        await this.#flush(batch.map((w) => w.item));
        for (const w of batch) w.resolve();
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    this.#inFlight = false;
  }
}
