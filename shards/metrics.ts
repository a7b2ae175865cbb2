import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Publisher } from './outbox/relay.ts';

/** What one owned event looks like at a scrape. */
export interface OwnedEventStats {
  readonly depth: number;
  readonly maxDepth: number;
  readonly oldestWaitMs: number;
  readonly holdsActive: number;
  readonly outboxBacklog: number;
}

export interface ShardMetricSources {
  readonly shardId: string;
  owned(): number;
  liveWorkers(): number;
  /** registered events whose lease no shard holds now */
  unownedEvents(): Promise<number>;
  /** each owned event's queue, holds and outbox */
  ownedEvents(): Promise<Map<string, OwnedEventStats>>;
  /** Redis INFO memory: used_memory and maxmemory (0: no limit) */
  redisMemory(): Promise<{ usedBytes: number; maxBytes: number }>;
}

export interface ShardMetrics {
  readonly registry: Registry;
  readonly fenced: Counter;
  /** counts decisions, their admission-to-decision time and expiries from the records the relay published */
  observeRecords(eventId: string, records: readonly { type: string; value: string }[]): void;
  /** wraps the relay's Kafka publisher: produce latency, errors, records published */
  timed(publisher: Publisher): Publisher;
  /** drops the series of an event this shard no longer owns */
  forget(eventId: string): void;
}

const DECISION_OUTCOMES = ['reserved', 'out_of_stock', 'limit_exceeded', 'sales_closed', 'internal_error'] as const;
type DecisionOutcome = (typeof DECISION_OUTCOMES)[number];

/**
 * A shard process's Prometheus registry (every series carries `shard_id`): ownership (owned events,
 * events without an owner, live Workers); each owned event's queue depth, limit, oldest wait, active
 * holds and outbox backlog; decisions by outcome, the time from admission to decision and expiries
 * (from the records the relay publishes, so each change counts once, from Redis's own times); Kafka
 * produce latency and errors; Redis memory; the default process metrics (event-loop lag included).
 * Label values are ids of events this shard owns, and outcomes: never reservation or user ids. The
 * series of an event go when the shard stops owning it.
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

  // The per-event gauges share one read of the owned events per scrape (their collects run together).
  let statsRead: { atMs: number; stats: Promise<Map<string, OwnedEventStats>> } | undefined;
  const ownedStats = () => {
    if (!statsRead || Date.now() - statsRead.atMs > 1_000) statsRead = { atMs: Date.now(), stats: sources.ownedEvents() };
    return statsRead.stats;
  };
  const perEvent = (name: string, help: string, pick: (s: OwnedEventStats) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['event_id'],
      registers: [registry],
      async collect() {
        const stats = await ownedStats();
        this.reset();
        for (const [eventId, s] of stats) this.set({ event_id: eventId }, pick(s));
      },
    });
  perEvent('wt_queue_depth', 'Admitted, undecided requests of each owned event (its queue depth, counted in requests)', (s) => s.depth);
  perEvent('wt_queue_max_depth', "Each owned event's queue depth limit (max_depth, or QUEUE_MAX_DEPTH)", (s) => s.maxDepth);
  perEvent('wt_queue_oldest_wait_seconds', "How long the earliest admitted, undecided request of each owned event's queue has waited", (s) => s.oldestWaitMs / 1000);
  perEvent('wt_holds_active', 'Holds (reserved, not yet confirmed, expired or cancelled) of each owned event', (s) => s.holdsActive);
  perEvent('wt_outbox_backlog', 'Outbox entries of each owned event not yet acknowledged by Kafka', (s) => s.outboxBacklog);

  const decisions = new Counter({
    name: 'wt_decisions_total',
    help: 'Reserve requests decided, by outcome (reserved, or the reason of the rejection)',
    labelNames: ['event_id', 'outcome'],
    registers: [registry],
  });
  const toDecision = new Histogram({
    name: 'wt_admission_to_decision_seconds',
    help: "Time from a request's admission to its decision (Redis time of both)",
    labelNames: ['event_id'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const expiries = new Counter({ name: 'wt_expiries_total', help: 'Holds that expired (their seats returned to sale)', labelNames: ['event_id'], registers: [registry] });
  const fenced = new Counter({ name: 'wt_shard_fenced_jobs_total', help: "Jobs handed back because the decision script refused this shard's lease", registers: [registry] });
  const produceSeconds = new Histogram({
    name: 'wt_kafka_produce_seconds',
    help: "Time of one Kafka send of the outbox relay (acks: all)",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const produceErrors = new Counter({ name: 'wt_kafka_produce_errors_total', help: 'Kafka sends of the outbox relay that failed (retried)', registers: [registry] });
  const published = new Counter({ name: 'wt_outbox_published_total', help: 'Outbox records published to Kafka', registers: [registry] });
  const redisUsed = new Gauge({ name: 'wt_redis_used_memory_bytes', help: 'Redis used_memory', registers: [registry] });
  new Gauge({
    name: 'wt_redis_maxmemory_bytes',
    help: 'Redis maxmemory (0: no limit)',
    registers: [registry],
    async collect() {
      const memory = await sources.redisMemory();
      redisUsed.set(memory.usedBytes);
      this.set(memory.maxBytes);
    },
  });

  return {
    registry,
    fenced,
    observeRecords(eventId, records) {
      for (const { type, value } of records) {
        if (type === 'reservation.expired') {
          expiries.inc({ event_id: eventId });
          continue;
        }
        if (type !== 'reservation.reserved' && type !== 'reservation.rejected') continue;
        let snap: { status?: unknown; reason?: unknown; created_at?: unknown; decided_at?: unknown; updated_at?: unknown; version?: unknown };
        try {
          snap = JSON.parse(value) as typeof snap;
        } catch {
          continue;
        }
        // The decision itself (version 2), not a later change of a hold (a payment's round trip).
        if (snap.decided_at === undefined || snap.updated_at !== snap.decided_at) continue;
        const outcome: DecisionOutcome = type === 'reservation.reserved' ? 'reserved'
          : (DECISION_OUTCOMES as readonly unknown[]).includes(snap.reason) ? (snap.reason as DecisionOutcome) : 'internal_error';
        decisions.inc({ event_id: eventId, outcome });
        if (typeof snap.created_at === 'number' && typeof snap.decided_at === 'number') {
          toDecision.observe({ event_id: eventId }, Math.max(0, snap.decided_at - snap.created_at) / 1000);
        }
      }
    },
    timed(publisher) {
      return {
        async send(topic, messages) {
          const end = produceSeconds.startTimer();
          try {
            await publisher.send(topic, messages);
            published.inc(messages.length);
          } catch (err) {
            produceErrors.inc();
            throw err;
          } finally {
            end();
          }
        },
      };
    },
    forget(eventId) {
      for (const outcome of DECISION_OUTCOMES) decisions.remove({ event_id: eventId, outcome });
      toDecision.remove({ event_id: eventId });
      expiries.remove({ event_id: eventId });
    },
  };
}
