import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Queue, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../core/config.ts';
import { HoldTransitions } from '../core/hold-transitions.ts';
import { createKafka, ensureTopics, KafkaPublisher } from '../core/kafka.ts';
import { eventAnnounceChannel, eventKeys, eventRegistryKey, eventWakeChannel, reserveQueueName } from '../core/keys.ts';
import type { Logger } from '../core/logger.ts';
import { once } from '../core/once.ts';
import { registerReadiness, startOpsServer, type OpsServer } from '../core/ops-server.ts';
import { createRedis } from '../core/redis.ts';
import { ReservationStore } from '../core/reservation-store.ts';
import { Reaper } from './expiry/reaper.ts';
import { createShardMetrics } from './metrics.ts';
import { OutboxRelay } from './outbox/relay.ts';
import { EventOwnership } from './ownership/ownership.ts';
import { runEvery } from './periodic.ts';
import { decideJob } from './worker/decide-job.ts';
import { EventWorkers } from './worker/event-workers.ts';
import { StrandedSweeper } from './worker/stranded-sweeper.ts';

/**
 * A shard process: the single writer of the reserve decisions of the events it owns. Several run at
 * once; each event is owned by exactly one of them through a fenced Redis lease (EventOwnership). For
 * each owned event the shard runs a BullMQ Worker (concurrency 1, and setGlobalConcurrency(1) on the
 * queue as a second guard) while the event has work, expires its due holds (the reaper), releases
 * stranded admissions (the sweeper), and relays its outbox stream to Kafka.
 *
 * Timing, all from LEASE_TTL (T): leases are renewed every T/3 and expire after T; a reserve job's lock
 * is held for T (BullMQ lockDuration) and stalled jobs are looked for every T/2 (stalledInterval). So
 * when an owner dies, its leases are free after at most T, another shard takes them within T/3 more
 * (or at once on the next admission's wake-up), and the dead owner's job in progress is back in the
 * queue within T + T/2 of the death: about 1.5 T, 15 s with the default 10 s.
 */
export interface Shard {
  readonly shardId: string;
  readonly opsPort: number;
  readonly relay: OutboxRelay;
  readonly reaper: Reaper;
  readonly sweeper: StrandedSweeper;
  readonly ownership: EventOwnership;
  ownedEvents(): string[];
  /** events whose Worker is open now */
  liveWorkers(): string[];
  /** Workers opened since start (re-opens of a quiet event's Worker included) */
  workersOpened(): number;
  close(): Promise<void>;
}

/** The correlation ids a job carries (at most 20, for a log line). */
function requestIdsOf(requests: { request_id?: unknown }[] | undefined): string[] {
  return (requests ?? []).map((r) => r?.request_id).filter((id): id is string => typeof id === 'string').slice(0, 20);
}

export async function startShard(config: Config, logger: Logger): Promise<Shard> {
  const shardId = config.shardId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 6)}`;
  const log = logger.child({ shard_id: shardId });
  const redis: Redis = createRedis(config.redisUrl, log);
  const workerConnection: Redis = createRedis(config.redisUrl, log, { maxRetriesPerRequest: null, enableAutoPipelining: false });
  const subscriber: Redis = createRedis(config.redisUrl, log);
  const relayReader: Redis = createRedis(config.redisUrl, log, { maxRetriesPerRequest: null, enableAutoPipelining: false });
  const store = new ReservationStore(redis, { keyPrefix: config.keyPrefix, holdTtlMs: config.reservationTtlMs, retentionMs: config.statusRetentionMs });

  const transitions = new HoldTransitions(redis, { keyPrefix: config.keyPrefix, retentionMs: config.statusRetentionMs, paymentTimeoutMs: config.paymentTimeoutMs });
  const reaper = new Reaper(redis, transitions, { keyPrefix: config.keyPrefix, intervalMs: config.reaperIntervalMs }, log);
  const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: `${config.kafkaClientId}-shard` }, log);
  const publisher = new KafkaPublisher(kafka);
  // Declared here, set once ownership and the Workers exist (the metrics read them at scrape time).
  let ownership: EventOwnership | undefined;
  let workers: EventWorkers | undefined;
  const metrics = createShardMetrics({
    shardId,
    owned: () => ownership?.owned().length ?? 0,
    liveWorkers: () => workers?.live().length ?? 0,
    unownedEvents: async () => {
      const events = await redis.smembers(eventRegistryKey(config.keyPrefix));
      if (events.length === 0) return 0;
      const pipeline = redis.pipeline();
      for (const eventId of events) pipeline.exists(eventKeys(config.keyPrefix, eventId).lease);
      return ((await pipeline.exec()) ?? []).filter(([, exists]) => exists === 0).length;
    },
    ownedEvents: async () => new Map(await Promise.all((ownership?.owned() ?? []).map(async (eventId) => {
      const k = eventKeys(config.keyPrefix, eventId);
      const [stats, holdsActive, outboxBacklog] = await Promise.all([store.queueStats(eventId), redis.zcard(k.holds), redis.xlen(k.outbox)]);
      return [eventId, { depth: stats.depth, maxDepth: stats.maxDepth, oldestWaitMs: stats.oldestWaitMs, holdsActive, outboxBacklog }] as const;
    }))),
    redisMemory: async () => {
      const info = await redis.info('memory');
      const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
      return { usedBytes: field('used_memory'), maxBytes: field('maxmemory') };
    },
  });
  const relay = new OutboxRelay(relayReader, redis, metrics.timed(publisher), {
    topic: config.reservationsTopic,
    batchSize: config.relayBatchSize,
    blockMs: 500,
    lingerMs: config.relayLingerMs,
    outboxKey: (eventId) => eventKeys(config.keyPrefix, eventId).outbox,
    onPublished: (eventId, records) => metrics.observeRecords(eventId, records),
  }, log);

  // The owned events' queues (for job counts and the global concurrency guard; Workers are separate).
  const queues = new Map<string, Queue>();
  const queueOf = (eventId: string): Queue => {
    let queue = queues.get(eventId);
    if (!queue) {
      queue = new Queue(reserveQueueName(eventId), { connection: redis, prefix: config.queuePrefix });
      queue.on('error', (err: Error) => log.warn({ event_id: eventId, err: err.message }, 'queue error'));
      void queue.setGlobalConcurrency(1).catch((err: unknown) => log.warn({ event_id: eventId, err: (err as Error).message }, 'setGlobalConcurrency failed'));
      queues.set(eventId, queue);
    }
    return queue;
  };
  const queueHasJobs = async (eventId: string): Promise<boolean> =>
    (await queueOf(eventId).getJobCountByTypes('wait', 'active', 'delayed', 'prioritized')) > 0;
  const sweeper = new StrandedSweeper(store, queueHasJobs, { intervalMs: config.sweepIntervalMs, graceMs: config.sweepGraceMs }, log);

  const decide = decideJob(store, {
    decisionsPerCall: config.decisionsPerCall,
    leaseOf: (eventId) => ownership?.leaseOf(eventId),
    fenced: (eventId) => {
      metrics.fenced.inc();
      ownership?.fenced(eventId).catch((err: unknown) => log.warn({ event_id: eventId, err: (err as Error).message }, 'could not stop serving a fenced event'));
    },
  }, log);
  workers = new EventWorkers(workerConnection, {
    queuePrefix: config.queuePrefix,
    maxWorkers: config.maxWorkers,
    idleMs: config.workerIdleMs,
    lockDurationMs: config.leaseTtlMs,
    stalledIntervalMs: Math.max(100, Math.floor(config.leaseTtlMs / 2)),
    maxStalledCount: 1_000,
  }, (job: Job, token?: string) => decide(job, token), (eventId, job, err) => {
    const requests = (job?.data as { requests?: { reservation_id?: unknown; request_id?: unknown }[] } | undefined)?.requests;
    log.error({ event_id: eventId, job_id: job?.id, attempts: job?.attemptsMade, request_ids: requestIdsOf(requests), err: err.message }, 'reserve job failed');
    // Out of attempts: reject its requests still queued (internal_error) so each reaches a decision.
    if (!job || job.attemptsMade < (job.opts.attempts ?? 1) || !Array.isArray(requests)) return;
    for (const r of requests) {
      if (typeof r?.reservation_id !== 'string') continue;
      store.abandon(eventId, r.reservation_id).catch((e: unknown) => log.error({ job_id: job.id, reservation_id: r.reservation_id, request_id: r.request_id, err: (e as Error).message }, 'could not reject a failed request'));
    }
  }, log);

  const setLoops = (owned: string[]) => {
    relay.setEvents(owned);
    reaper.setEvents(owned);
    sweeper.setEvents(owned);
  };
  /** Opens the event's Worker if its queue has work (a job waiting, or one a dead owner left active). */
  let closed = false;
  const serve = async (eventId: string) => {
    if (closed) return;
    if (ownership?.leaseOf(eventId) !== undefined && (await queueHasJobs(eventId))) await workers.open(eventId);
  };
  const owner = new EventOwnership(redis, { keyPrefix: config.keyPrefix, shardId, leaseTtlMs: config.leaseTtlMs }, {
    acquired: async (eventId) => {
      setLoops(owner.owned());
      await serve(eventId);
    },
    lost: async (eventId) => {
      metrics.forget(eventId);
      await workers.close(eventId);
      setLoops(owner.owned().filter((e) => e !== eventId));
      const queue = queues.get(eventId);
      queues.delete(eventId);
      await queue?.close().catch(() => undefined);
    },
    busy: () => workers.busy(),
  }, log);
  ownership = owner;

  const onError = (what: string) => (err: unknown) => log.warn({ err: (err as Error).message }, what);
  // A new event (announced) or work for an event (a gateway's wake-up, a handed-over event): its owner
  // opens the Worker at once; a free event is taken.
  subscriber.on('message', (_channel: string, eventId: string) => {
    if (owner.leaseOf(eventId) !== undefined) serve(eventId).catch(onError('could not open a Worker'));
    else owner.tryAcquire(eventId).catch(onError('could not take an event'));
  });
  await subscriber.subscribe(eventAnnounceChannel(config.keyPrefix), eventWakeChannel(config.keyPrefix));
  await owner.start();
  reaper.start();
  sweeper.start();
  // Quiet Workers close; an owned queue with work and no Worker gets one (if its wake-up was lost).
  const closingIdle = runEvery(Math.max(50, Math.floor(config.workerIdleMs / 2)), () => workers.closeIdle(), onError('closing quiet Workers failed; will retry'));
  const sweepingWork = runEvery(Math.max(100, Math.floor(config.leaseTtlMs / 3)), async () => {
    const live = new Set(workers.live());
    for (const eventId of owner.owned()) if (!live.has(eventId)) await serve(eventId);
  }, onError('looking for queues with work failed; will retry'));

  // Topic creation waits for Kafka; decisions do not: the relay publishes once Kafka answers.
  const topicsReady = ensureTopics(kafka, [config.reservationsTopic, config.deadLetterTopic], config.topicPartitions)
    .catch((err: unknown) => log.warn({ err: (err as Error).message }, 'could not create topics yet (the relay retries)'))
    .finally(() => { if (!closed) relay.start(); });

  const readiness = { redis: async () => { await redis.ping(); } };
  registerReadiness(metrics.registry, readiness);
  const ops: OpsServer = await startOpsServer(config.shardPort, readiness, metrics.registry);

  return {
    shardId,
    opsPort: ops.port,
    relay,
    reaper,
    sweeper,
    ownership: owner,
    ownedEvents: () => owner.owned(),
    liveWorkers: () => workers.live(),
    workersOpened: () => workers.opened,
    close: once(async () => {
      closed = true;
      await subscriber.quit().catch(() => undefined);
      await closingIdle.close();
      await sweepingWork.close();
      // Graceful: each event's job in progress finishes, then its lease is freed and announced.
      await owner.close();
      await workers.closeAll();
      await reaper.close();
      await sweeper.close();
      await Promise.all([...queues.values()].map((q) => q.close()));
      await relay.close();
      await topicsReady;
      await publisher.close();
      await ops.close();
      await Promise.all([redis.quit(), workerConnection.quit()].map((p) => p.catch(() => undefined)));
    }),
  };
}
