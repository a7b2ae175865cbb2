import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

export interface ShardMetricSources {
  readonly shardId: string;
  owned(): number;
  liveWorkers(): number;
  /** registered events whose lease no shard holds now */
  unownedEvents(): Promise<number>;
  /** owned events and how long each one's earliest pending request has waited (ms) */
  oldestWaits(): Promise<Map<string, number>>;
}

export interface ShardMetrics {
  readonly registry: Registry;
  readonly decisions: Counter;
  readonly fenced: Counter;
}

/**
 * A shard process's Prometheus registry: ownership (owned events, events without an owner seen from
 * here, live Workers), the oldest wait of each owned event's queue, decisions and fenced jobs, and the
 * default process metrics. Label values are event ids of owned events and this shard's id only.
 */
export function createShardMetrics(sources: ShardMetricSources): ShardMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ shard_id: sources.shardId });
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'wt_shard_owned_events',
    help: 'Events whose lease this shard holds',
    registers: [registry],
    collect() { this.set(sources.owned()); },
  });
  new Gauge({
    name: 'wt_shard_live_workers',
    help: 'BullMQ Workers open in this shard process (bounded by SHARD_MAX_WORKERS)',
    registers: [registry],
    collect() { this.set(sources.liveWorkers()); },
  });
  new Gauge({
    name: 'wt_events_unowned',
    help: 'Registered events whose lease no shard holds (every shard reports the same value)',
    registers: [registry],
    async collect() { this.set(await sources.unownedEvents()); },
  });
  const oldest = new Gauge({
    name: 'wt_queue_oldest_wait_seconds',
    help: "How long the earliest admitted, undecided request of each owned event's queue has waited",
    labelNames: ['event_id'],
    registers: [registry],
    async collect() {
      oldest.reset();
      for (const [eventId, ms] of await sources.oldestWaits()) oldest.set({ event_id: eventId }, ms / 1000);
    },
  });
  const decisions = new Counter({ name: 'wt_shard_decisions_total', help: 'Reserve requests this shard decided', registers: [registry] });
  const fenced = new Counter({ name: 'wt_shard_fenced_jobs_total', help: 'Jobs handed back because the decision script refused this shard\'s lease', registers: [registry] });
  return { registry, decisions, fenced };
}
