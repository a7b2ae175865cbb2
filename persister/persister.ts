import { once } from '../core/once.ts';
import type { Consumer, Kafka } from 'kafkajs';
import type pg from 'pg';
import type { Config } from '../core/config.ts';
import { parseOutboxRecord, type OutboxRecord, type RefusalRecord, type ReservationSnapshot } from '../core/contracts.ts';
import { consumeBatches, createKafka, ensureTopics, KafkaPublisher, type IncomingMessage, type OutgoingMessage } from '../core/kafka.ts';
import type { Logger } from '../core/logger.ts';
import { registerReadiness, startOpsServer, type OpsServer } from '../core/ops-server.ts';
import { createPersisterMetrics } from './metrics.ts';
import { createPool } from '../core/pg.ts';
import { isDataError, storeSnapshots } from './store/reservations.ts';

/**
 * The persister: a Kafka consumer-group member that writes reservation snapshots (and the records of
 * requests refused at the door) to PostgreSQL in batches (decode -> validate -> write batch -> commit offsets). Offsets are committed only after
 * Postgres committed; a message that cannot be parsed or stored goes to the dead-letter topic with the
 * reason, instead of blocking its partition.
 */
export interface Persister {
  readonly opsPort: number;
  close(): Promise<void>;
}

const deadLetter = (m: IncomingMessage, reason: string): OutgoingMessage => ({
  key: m.key ?? '',
  value: m.value?.toString() ?? '',
  headers: { reason, source_topic: m.topic, source_partition: String(m.partition), source_offset: m.offset },
});

export async function writeBatch(
  db: pg.Pool,
  messages: readonly IncomingMessage[],
  logger: Logger,
): Promise<{ written: number; deadLetters: OutgoingMessage[]; snapshots: number; refusals: number }> {
  const good: { message: IncomingMessage; record: OutboxRecord }[] = [];
  const deadLetters: OutgoingMessage[] = [];
  for (const message of messages) {
    const parsed = parseOutboxRecord(message.value);
    if (parsed.ok) good.push({ message, record: parsed.value });
    else deadLetters.push(deadLetter(message, `unparseable: ${parsed.error}`));
  }
  const snapshots = good.filter((g) => g.record.kind === 'snapshot').length;
  const refusals = good.length - snapshots;
  try {
    return { written: await store(db, good.map((g) => g.record)), deadLetters, snapshots, refusals };
  } catch (err) {
    if (!isDataError(err)) throw err;
  }
  // Some row breaks a constraint: store the rest one by one and dead-letter only the rows that fail.
  let written = 0;
  for (const { message, record } of good) {
    try {
      written += await store(db, [record]);
    } catch (err) {
      if (!isDataError(err)) throw err;
      logger.warn({ reservation_id: record.value.reservation_id, request_id: record.value.request_id, err: (err as Error).message }, 'record cannot be stored: dead-lettered');
      deadLetters.push(deadLetter(message, `rejected by postgres: ${(err as { code?: string }).code ?? 'unknown'}`));
    }
  }
  return { written, deadLetters, snapshots, refusals };
}

/** Snapshots (reservations, bookings) and door refusals of one batch in one transaction. */
function store(db: pg.Pool, records: readonly OutboxRecord[]): Promise<number> {
  const snapshots: ReservationSnapshot[] = [];
  const refusals: RefusalRecord[] = [];
  for (const r of records) {
    if (r.kind === 'snapshot') snapshots.push(r.value);
    else refusals.push(r.value);
  }
  return storeSnapshots(db, snapshots, refusals);
}

export async function startPersister(config: Config, logger: Logger): Promise<Persister> {
  const db = createPool(config.databaseUrl, logger);
  const kafka: Kafka = createKafka({ brokers: config.kafkaBrokers, clientId: `${config.kafkaClientId}-persister` }, logger);
  await ensureTopics(kafka, [config.reservationsTopic, config.deadLetterTopic], config.topicPartitions);
  const dlq = new KafkaPublisher(kafka);
  let consumerUp = false;
  const admin = kafka.admin();
  await admin.connect();
  const metrics = createPersisterMetrics(async () => {
    const [ends, committed] = await Promise.all([
      admin.fetchTopicOffsets(config.reservationsTopic),
      admin.fetchOffsets({ groupId: config.persisterGroupId, topics: [config.reservationsTopic] }),
    ]);
    const done = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    return ends.reduce((sum, p) => sum + Math.max(0, Number(p.high) - Math.max(0, done.get(p.partition) ?? 0)), 0);
  });

  const consumer: Consumer = await consumeBatches(
    kafka,
    { groupId: config.persisterGroupId, topic: config.reservationsTopic, fromBeginning: true, fetchWaitMs: config.persisterFetchWaitMs },
    async (messages, ctx) => {
      const endWrite = metrics.writeSeconds.startTimer();
      const { written, deadLetters, snapshots, refusals } = await writeBatch(db, messages, logger);
      endWrite();
      metrics.batchSize.observe(messages.length);
      metrics.records.inc({ kind: 'snapshot' }, snapshots);
      metrics.records.inc({ kind: 'refusal' }, refusals);
      metrics.written(messages.map((m) => m.timestampMs));
      if (deadLetters.length > 0) {
        await dlq.send(config.deadLetterTopic, deadLetters);
        metrics.deadLetters.inc(deadLetters.length);
      }
      await ctx.heartbeat();
      logger.debug({ batch: messages.length, written, dead_letters: deadLetters.length }, 'batch persisted');
    },
    (isMember) => { consumerUp = isMember; },
  );

  const readiness = {
    postgres: async () => { await db.query('SELECT 1'); },
    kafka: async () => { if (!consumerUp) throw new Error('not in the consumer group'); },
  };
  registerReadiness(metrics.registry, readiness);
  const ops: OpsServer = await startOpsServer(config.persisterPort, readiness, metrics.registry);

  return {
    opsPort: ops.port,
    close: once(async () => {
      await ops.close();
      await consumer.disconnect();
      await admin.disconnect();
      await dlq.close();
      await db.end();
    }),
  };
}
