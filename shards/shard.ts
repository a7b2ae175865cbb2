import { once } from '../core/once.ts';
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../core/config.ts';
import { HoldTransitions } from '../core/hold-transitions.ts';
import { createKafka, ensureTopics, KafkaPublisher } from '../core/kafka.ts';
import { eventAnnounceChannel, eventKeys, eventRegistryKey, reserveQueueName } from '../core/keys.ts';
import type { Logger } from '../core/logger.ts';
import { startOpsServer, type OpsServer } from '../core/ops-server.ts';
import { createRedis } from '../core/redis.ts';
import { ReservationStore } from '../core/reservation-store.ts';
import { Reaper } from './expiry/reaper.ts';
import { OutboxRelay } from './outbox/relay.ts';
import { decideJob } from './worker/decide-job.ts';
import { StrandedSweeper } from './worker/stranded-sweeper.ts';

/**
 * A shard process: the single writer of the reserve decisions of the events it owns. For each owned
 * event it runs one BullMQ Worker (concurrency 1, so decisions follow the queue's FIFO order) on the
 * event's queue, expires the events' holds that are due (the reaper), and relays the events' outbox
 * streams to Kafka.
 *
 * Ownership here is "every registered event" (one shard process per deployment); see docs/architecture.md.
 */
export interface Shard {
  readonly opsPort: number;
  readonly relay: OutboxRelay;
  readonly reaper: Reaper;
  readonly sweeper: StrandedSweeper;
  ownedEvents(): string[];
  close(): Promise<void>;
}

export async function startShard(config: Config, logger: Logger): Promise<Shard> {
  const redis: Redis = createRedis(config.redisUrl, logger);
  const workerConnection: Redis = createRedis(config.redisUrl, logger, { maxRetriesPerRequest: null, enableAutoPipelining: false });
  const subscriber: Redis = createRedis(config.redisUrl, logger);
  const relayReader: Redis = createRedis(config.redisUrl, logger, { maxRetriesPerRequest: null, enableAutoPipelining: false });
  const store = new ReservationStore(redis, { keyPrefix: config.keyPrefix, holdTtlMs: config.reservationTtlMs, retentionMs: config.statusRetentionMs });

  const transitions = new HoldTransitions(redis, { keyPrefix: config.keyPrefix, retentionMs: config.statusRetentionMs, paymentTimeoutMs: config.paymentTimeoutMs });
  const reaper = new Reaper(redis, transitions, { keyPrefix: config.keyPrefix, intervalMs: config.reaperIntervalMs }, logger);
  const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: `${config.kafkaClientId}-shard` }, logger);
  const publisher = new KafkaPublisher(kafka);
  const relay = new OutboxRelay(relayReader, redis, publisher, {
    topic: config.reservationsTopic,
    batchSize: config.relayBatchSize,
    blockMs: 500,
    outboxKey: (eventId) => eventKeys(config.keyPrefix, eventId).outbox,
  }, logger);

  const workers = new Map<string, Worker>();
  const queues = new Map<string, Queue>();
  const sweeper = new StrandedSweeper(store, (eventId) => queues.get(eventId)!, { intervalMs: config.sweepIntervalMs, graceMs: config.sweepGraceMs }, logger);
  const processor = decideJob(store, logger);

  const own = (eventId: string) => {
    if (workers.has(eventId)) return;
    const worker = new Worker(reserveQueueName(eventId), processor, {
      connection: workerConnection,
      prefix: config.queuePrefix,
      concurrency: 1,
    });
    // A second guard beside concurrency 1: at most one job of this queue is active across all processes.
    const queue = new Queue(reserveQueueName(eventId), { connection: redis, prefix: config.queuePrefix });
    queue.on('error', (err: Error) => logger.warn({ event_id: eventId, err: err.message }, 'queue error'));
    void queue.setGlobalConcurrency(1).catch((err: unknown) => logger.warn({ event_id: eventId, err: (err as Error).message }, 'setGlobalConcurrency failed'));
    queues.set(eventId, queue);
    worker.on('error', (err) => logger.warn({ event_id: eventId, err: err.message }, 'worker error'));
    worker.on('failed', (job, err) => {
      logger.error({ event_id: eventId, job_id: job?.id, attempts: job?.attemptsMade, err: err.message }, 'reserve job failed');
      // Out of attempts: reject the request (internal_error) so it still reaches a terminal decision.
      const data = job?.data as { reservation_id?: unknown } | undefined;
      if (job && job.attemptsMade >= (job.opts.attempts ?? 1) && typeof data?.reservation_id === 'string') {
        store.abandon(eventId, data.reservation_id).catch((e: unknown) => logger.error({ job_id: job.id, err: (e as Error).message }, 'could not reject a failed request'));
      }
    });
    workers.set(eventId, worker);
    relay.setEvents(workers.keys());
    reaper.setEvents(workers.keys());
    sweeper.setEvents(workers.keys());
    logger.info({ event_id: eventId }, 'owning event');
  };

  const refresh = async () => {
    for (const eventId of await redis.smembers(eventRegistryKey(config.keyPrefix))) own(eventId);
  };

  subscriber.on('message', (_channel: string, eventId: string) => own(eventId));
  await subscriber.subscribe(eventAnnounceChannel(config.keyPrefix));
  await refresh();
  reaper.start();
  sweeper.start();
  const refreshTimer = setInterval(() => {
    refresh().catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'event registry refresh failed'));
  }, config.eventRefreshMs);

  // Topic creation waits for Kafka; decisions do not: the relay publishes once Kafka answers.
  let closed = false;
  const topicsReady = ensureTopics(kafka, [config.reservationsTopic, config.deadLetterTopic], config.topicPartitions)
    .catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'could not create topics yet (the relay retries)'))
    .finally(() => { if (!closed) relay.start(); });

  const ops: OpsServer = await startOpsServer(config.shardPort, {
    redis: async () => { await redis.ping(); },
  });

  return {
    opsPort: ops.port,
    relay,
    reaper,
    sweeper,
    ownedEvents: () => [...workers.keys()],
    close: once(async () => {
      closed = true;
      clearInterval(refreshTimer);
      await subscriber.quit().catch(() => undefined);
      await reaper.close();
      await sweeper.close();
      await Promise.all([...workers.values()].map((w) => w.close()));
      await Promise.all([...queues.values()].map((q) => q.close()));
      await relay.close();
      await topicsReady;
      await publisher.close();
      await ops.close();
      await Promise.all([redis.quit(), workerConnection.quit()].map((p) => p.catch(() => undefined)));
    }),
  };
}
