/**
 * npm run bench:shard — how fast one hot event's requests are decided.
 *   1. 200,000 requests for one event with 10,000 seats are admitted (the admission script, as the
 *      gateway runs it) and queued as gateways queue them: jobs of BATCH requests (default 100; a
 *      gateway's flush under load). Not timed.
 *   2. A Worker holding the event's lease decides them (decideJob: decideBatch per job, i.e. decision,
 *      status and outbox entry in one script call per batch). Timed from the Worker's start until the
 *      depth is 0: decisions per second.
 *   3. The naive baseline in the same run: 20,000 requests for 1,000 seats, one job per request, the same
 *      Worker. Decisions per second, and the ratio.
 *   4. Beside it: the outbox relay publishing the hot event's outbox (a snapshot per admission and per
 *      decision) to Kafka, and the persister writing those to PostgreSQL, each timed alone.
 * Needs `npm run infra -- up` and `npm run migrate`. Everything shares this machine's cores.
 * Options: --requests N (200000), --seats N (10000), --batch N (100), --naive N (20000), --no-kafka.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Queue, Worker } from 'bullmq';
import { loadConfig, type Config } from '../core/config.ts';
import { createKafka, KafkaPublisher } from '../core/kafka.ts';
import { newReservationId, reserveQueueName } from '../core/keys.ts';
import { createLogger } from '../core/logger.ts';
import { createPool } from '../core/pg.ts';
import { createRedis, Scripts } from '../core/redis.ts';
import { ReservationStore } from '../core/reservation-store.ts';
import { Catalog } from '../gateway/catalog/catalog.ts';
import { startPersister } from '../persister/persister.ts';
import { OutboxRelay } from '../shards/outbox/relay.ts';
import { decideJob } from '../shards/worker/decide-job.ts';
import { deleteTestKeys } from '../test/support/env.ts';

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '200000' },
    seats: { type: 'string', default: '10000' },
    batch: { type: 'string', default: '100' },
    naive: { type: 'string', default: '20000' },
    'no-kafka': { type: 'boolean', default: false },
  },
});
const REQUESTS = Number(args.requests);
const SEATS = Number(args.seats);
const BATCH = Number(args.batch);
const NAIVE = Number(args.naive);

const tag = randomUUID().slice(0, 8);
const config: Config = Object.freeze({
  ...loadConfig(),
  keyPrefix: `bench${tag}`,
  queuePrefix: `benchq${tag}`,
  reservationsTopic: `bench.reservations.${tag}`,
  deadLetterTopic: `bench.dlq.${tag}`,
  persisterGroupId: `bench-persister-${tag}`,
  logLevel: 'warn' as const,
  queueMaxDepth: 100_000_000,
  reservationTtlMs: 3_600_000,
});
const logger = createLogger('bench', 'warn');
const redis = createRedis(config.redisUrl, logger);
const workerConnection = createRedis(config.redisUrl, logger, { maxRetriesPerRequest: null, enableAutoPipelining: false });
const db = createPool(config.databaseUrl, logger);
const store = new ReservationStore(redis, { keyPrefix: config.keyPrefix, holdTtlMs: config.reservationTtlMs, retentionMs: 3_600_000, defaultMaxDepth: config.queueMaxDepth });
const catalog = new Catalog(db, store);
const scripts = new Scripts(redis);

const rate = (n: number, ms: number) => Math.round((n * 1000) / ms);
const fmt = (n: number) => n.toLocaleString('en-US');
async function until(check: () => Promise<boolean>, everyMs = 10, timeoutMs = 900_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** An event with one category of `seats`, and `n` requests admitted and queued in jobs of `batch`. */
async function prepare(n: number, seats: number, batch: number): Promise<{ eventId: string; categoryId: string }> {
  const event = await catalog.createEvent({ name: `bench ${n}`, date: '2027-01-01T20:00:00Z', max_per_user: 4 });
  const category = await catalog.createCategory(event.id, { name: 'A', total_stock: seats, price: 1 });
  const queue = new Queue(reserveQueueName(event.id), { connection: redis, prefix: config.queuePrefix });
  const CHUNK = 2_000;
  for (let start = 0; start < n; start += CHUNK) {
    const admitted = await Promise.all(Array.from({ length: Math.min(CHUNK, n - start) }, async (_, i) => {
      const reservationId = newReservationId(event.id, randomUUID());
      const r = await store.admit({ reservationId, userId: `u${start + i}`, eventId: event.id, categoryId: category.id, categoryName: 'A', qty: 1 });
      if (r.kind !== 'admitted') throw new Error(`admission refused: ${r.kind}`);
      return { reservation_id: reservationId, seq_arrival: r.seqArrival };
    }));
    admitted.sort((a, b) => a.seq_arrival - b.seq_arrival);
    const jobs = [];
    for (let i = 0; i < admitted.length; i += batch) jobs.push({ name: 'reserve', data: { event_id: event.id, requests: admitted.slice(i, i + batch) }, opts: { removeOnComplete: true } });
    await queue.addBulk(jobs);
  }
  await queue.close();
  return { eventId: event.id, categoryId: category.id };
}

/**
 * Starts a Worker holding the event's lease; resolves with the ms until every request is decided, the
 * ms spent inside the processor, and the jobs run.
 */
async function decideAll(eventId: string, decisionsPerCall: number): Promise<{ elapsed: number; inProcessorMs: number; jobs: number; redisScriptMs: number }> {
  const k = store.keys(eventId);
  const [, lease] = (await scripts.run('acquireLease', [k.lease, k.fence], ['bench-shard', 3_600_000, ''])) as [number, string];
  const decide = decideJob(store, { decisionsPerCall, leaseOf: () => lease, fenced: () => { throw new Error('fenced'); } }, logger);
  // Time inside the processor (the decision script's round trips) vs the rest (BullMQ's per-job work).
  let inProcessorMs = 0;
  let jobs = 0;
  const processor = async (job: Parameters<typeof decide>[0], token?: string) => {
    const t0 = performance.now();
    try {
      return await decide(job, token);
    } finally {
      inProcessorMs += performance.now() - t0;
      jobs += 1;
    }
  };
  const scriptUsec0 = await evalshaUsec();
  const started = Date.now();
  const worker = new Worker(reserveQueueName(eventId), processor, { connection: workerConnection, prefix: config.queuePrefix, concurrency: 1 });
  await until(async () => Number(await redis.get(k.depth)) === 0);
  const elapsed = Date.now() - started;
  const redisScriptMs = Math.round(((await evalshaUsec()) - scriptUsec0) / 1000);
  await worker.close();
  return { elapsed, inProcessorMs: Math.round(inProcessorMs), jobs, redisScriptMs };
}

/** Microseconds Redis has spent running EVALSHA (every script: the decision script's and BullMQ's). */
async function evalshaUsec(): Promise<number> {
  const line = (await redis.info('commandstats')).split('\n').find((l) => l.startsWith('cmdstat_evalsha:'));
  return Number(/usec=(\d+)/.exec(line ?? '')?.[1] ?? 0);
}

async function check(eventId: string, categoryId: string, seats: number, n: number): Promise<void> {
  const stock = (await store.readStock(eventId, [categoryId])).get(categoryId)!;
  const decided = Number(await redis.get(store.keys(eventId).decided));
  if (stock.held !== seats || stock.available !== 0 || decided !== n) throw new Error(`inconsistent: ${JSON.stringify(stock)} decided=${decided}`);
}

try {
  console.log(`bench:shard  ${fmt(REQUESTS)} requests, ${fmt(SEATS)} seats, jobs of ${BATCH}; naive: ${fmt(NAIVE)} requests, one job each`);
  let t = Date.now();
  const hot = await prepare(REQUESTS, SEATS, BATCH);
  console.log(`  admitted and queued ${fmt(REQUESTS)} in ${Date.now() - t} ms (${fmt(rate(REQUESTS, Date.now() - t))}/s through the admission script, not part of the figure)`);
  const hotRun = await decideAll(hot.eventId, config.decisionsPerCall);
  const hotMs = hotRun.elapsed;
  await check(hot.eventId, hot.categoryId, SEATS, REQUESTS);
  const hotRate = rate(REQUESTS, hotMs);
  console.log(`  batched:  ${fmt(REQUESTS)} decisions in ${hotMs} ms = ${fmt(hotRate)} decisions/s  (${fmt(SEATS)} reserved, the rest rejected out_of_stock; no oversell; DECISIONS_PER_CALL ${config.decisionsPerCall})`);
  console.log(`            ${fmt(hotRun.inProcessorMs)} ms of it in the processor (decision script calls: ${((hotRun.inProcessorMs * 1000) / REQUESTS).toFixed(1)} µs per decision), the rest BullMQ's work for ${fmt(hotRun.jobs)} jobs (${((hotMs - hotRun.inProcessorMs) / hotRun.jobs).toFixed(2)} ms per job)`);
  console.log(`            Redis ran scripts (the decision script and BullMQ's) for ${fmt(hotRun.redisScriptMs)} ms of it (${((hotRun.redisScriptMs * 1000) / REQUESTS).toFixed(1)} µs per decision)`);

  const naiveSeats = Math.max(1, Math.round((NAIVE * SEATS) / REQUESTS));
  const naive = await prepare(NAIVE, naiveSeats, 1);
  // One job per request, each decided by its own script call (DECISIONS_PER_CALL 1).
  const naiveMs = (await decideAll(naive.eventId, 1)).elapsed;
  await check(naive.eventId, naive.categoryId, naiveSeats, NAIVE);
  const naiveRate = rate(NAIVE, naiveMs);
  console.log(`  naive:    ${fmt(NAIVE)} decisions in ${naiveMs} ms = ${fmt(naiveRate)} decisions/s  (one job per request)`);
  console.log(`  ratio batched / naive: ${(hotRate / naiveRate).toFixed(1)}×`);

  if (!args['no-kafka']) {
    const outbox = store.keys(hot.eventId).outbox;
    const entries = await redis.xlen(outbox);
    const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: 'bench-relay' }, logger);
    const publisher = new KafkaPublisher(kafka);
    const reader = createRedis(config.redisUrl, logger, { maxRetriesPerRequest: null, enableAutoPipelining: false });
    const relay = new OutboxRelay(reader, redis, publisher, { topic: config.reservationsTopic, batchSize: config.relayBatchSize, blockMs: 500, outboxKey: () => outbox }, logger);
    relay.setEvents([hot.eventId]);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: config.reservationsTopic, numPartitions: config.topicPartitions }, { topic: config.deadLetterTopic, numPartitions: 1 }] });
    await admin.disconnect();
    t = Date.now();
    relay.start();
    await until(async () => (await redis.xlen(outbox)) === 0);
    const relayMs = Date.now() - t;
    const records = relay.published;
    await relay.close();
    await publisher.close();
    console.log(`  relay:    ${fmt(records)} records (${fmt(entries)} outbox entries) to Kafka in ${relayMs} ms = ${fmt(rate(records, relayMs))} records/s  (RELAY_BATCH_SIZE ${config.relayBatchSize})`);

    t = Date.now();
    const persister = await startPersister(config, logger);
    await until(async () => {
      const { rows } = await db.query<{ n: string }>("SELECT count(*) AS n FROM reservations WHERE event_id = $1 AND status <> 'queued'", [hot.eventId]);
      return Number(rows[0]!.n) === REQUESTS;
    }, 1_000);
    const persistMs = Date.now() - t;
    await persister.close();
    console.log(`  persister: ${fmt(records)} snapshots into PostgreSQL (${fmt(REQUESTS)} rows, final states) in ${persistMs} ms = ${fmt(rate(records, persistMs))} snapshots/s  (includes the consumer group join)`);
    const cleanup = createKafka({ brokers: config.kafkaBrokers, clientId: 'bench-cleanup' }, logger).admin();
    await cleanup.connect();
    await cleanup.deleteTopics({ topics: [config.reservationsTopic, config.deadLetterTopic] }).catch(() => undefined);
    await cleanup.disconnect();
  }
} finally {
  await deleteTestKeys(config);
  await Promise.all([redis.quit(), workerConnection.quit(), db.end()]);
}
