import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The persister's Prometheus registry: batch size, write latency (one PostgreSQL transaction per batch),
 * lag, records written by kind, dead letters, and the default process metrics. No label carries an id.
 *
 * Lag, read at each scrape: `wt_persister_lag_messages` is the consumer group's committed offsets
 * behind the topic's ends (from Kafka); `wt_persister_lag_seconds` is 0 when that is 0, else the time
 * since the produce time of the newest message written, so it grows while the persister is behind or
 * stuck, and is 0 when it is idle and caught up.
 */
export function createPersisterMetrics(lagMessages: () => Promise<number>) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let newestWrittenMs: number | undefined;
  let behind = 0;
  new Gauge({
    name: 'wt_persister_lag_messages',
    help: "Messages of the reservations topic not yet committed by the persister's consumer group",
    registers: [registry],
    async collect() {
      behind = await lagMessages();
      this.set(behind);
    },
  });
  return {
    /** records the produce time of the newest message of a batch just written */
    written(produceTimesMs: readonly number[]) {
      const newest = Math.max(...produceTimesMs);
      if (Number.isFinite(newest)) newestWrittenMs = Math.max(newestWrittenMs ?? 0, newest);
    },
    registry,
    batchSize: new Histogram({
      name: 'wt_persister_batch_size',
      help: 'Kafka messages per batch written to PostgreSQL',
      buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000],
      registers: [registry],
    }),
    writeSeconds: new Histogram({
      name: 'wt_persister_write_seconds',
      help: 'Time to write one batch (parse, one transaction, dead letters split out)',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    lagSeconds: new Gauge({
      name: 'wt_persister_lag_seconds',
      help: 'While the persister is behind: now minus the produce time of the newest message written (0 when caught up)',
      registers: [registry],
      async collect() {
        // Registered after wt_persister_lag_messages, but collected concurrently: read the lag here too.
        behind = await lagMessages();
        this.set(behind > 0 && newestWrittenMs !== undefined ? Math.max(0, Date.now() - newestWrittenMs) / 1000 : 0);
      },
    }),
    records: new Counter({ name: 'wt_persister_records_total', help: 'Records written, by kind (snapshot: a reservation; refusal: a request refused at the door)', labelNames: ['kind'], registers: [registry] }),
    deadLetters: new Counter({ name: 'wt_persister_dead_letters_total', help: 'Messages sent to the dead-letter topic', registers: [registry] }),
  };
}
