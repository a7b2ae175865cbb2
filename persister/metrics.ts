import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The persister's Prometheus registry: batch size, write latency (one PostgreSQL transaction per batch),
 * lag (now minus the produce time of the newest message written), records written by kind, dead
 * letters, and the default process metrics. No label carries an id.
 */
export function createPersisterMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
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
    lagSeconds: new Gauge({ name: 'wt_persister_lag_seconds', help: 'Now minus the produce time of the newest message of the last batch written', registers: [registry] }),
    records: new Counter({ name: 'wt_persister_records_total', help: 'Records written, by kind (snapshot: a reservation; refusal: a request refused at the door)', labelNames: ['kind'], registers: [registry] }),
    deadLetters: new Counter({ name: 'wt_persister_dead_letters_total', help: 'Messages sent to the dead-letter topic', registers: [registry] }),
  };
}
