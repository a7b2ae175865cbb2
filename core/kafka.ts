import { Kafka, logLevel, Partitioners, type Consumer, type LogEntry, type Producer } from 'kafkajs';
import type { Logger } from './logger.ts';

/**
 * All Kafka use goes through this module, so the client (kafkajs 2.2.4, the last release) can be swapped
 * without touching the processes. Proven against the Apache Kafka 4.x broker of scripts/infra.sh by the
 * integration tests (idempotent producer, consumer groups, manual offset commits).
 */

export interface KafkaSettings {
  readonly brokers: readonly string[];
  readonly clientId: string;
}

export interface OutgoingMessage {
  readonly key: string;
  readonly value: string;
  readonly headers?: Record<string, string>;
}

export interface IncomingMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly value: Buffer | null;
  /** the broker's timestamp (epoch ms): when the message was produced */
  readonly timestampMs: number;
  readonly headers: Readonly<Record<string, string>>;
}

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

export function createKafka(settings: KafkaSettings, logger: Logger): Kafka {
  const log = logger.child({ component: 'kafka' });
  return new Kafka({
    clientId: settings.clientId,
    brokers: [...settings.brokers],
    logLevel: logLevel.WARN,
    retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 5_000 },
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        // kafkajs reports every reconnect attempt at error level; they are expected while a broker restarts.
        log[level === logLevel.ERROR ? 'warn' : (LEVELS[level] ?? 'debug')](rest, String(message));
      },
  });
}

/** Creates the topics if they do not exist (idempotent; waits for leaders). */
export async function ensureTopics(kafka: Kafka, topics: readonly string[], numPartitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length > 0) {
      await admin.createTopics({ topics: missing.map((topic) => ({ topic, numPartitions })), waitForLeaders: true });
    }
  } finally {
    await admin.disconnect();
  }
}

/**
 * An idempotent producer (acks from all in-sync replicas, one request in flight so retries keep the
 * order within a partition). send() resolves only once the broker acknowledged every message.
 */
export class KafkaPublisher {
  readonly #producer: Producer;
  #connected: Promise<void> | undefined;

  constructor(kafka: Kafka) {
    this.#producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
      // Limited so that a send fails during an outage and the caller sends again later (the relay, from
      // its outbox). kafkajs warns once that this may break exactly-once delivery; ours is at least once
      // anyway (docs/architecture.md, "Kafka contract").
      retry: { retries: 5 },
    });
  }

  async send(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    this.#connected ??= this.#producer.connect().catch((err: unknown) => {
      this.#connected = undefined;
      throw err;
    });
    await this.#connected;
    await this.#producer.send({ topic, acks: -1, messages: messages.map((m) => ({ ...m })) });
  }

  async close(): Promise<void> {
    if (this.#connected) await this.#producer.disconnect();
  }
}

export interface BatchHandlerContext {
  /** Keeps the group membership alive during a long batch. */
  heartbeat(): Promise<void>;
  isRunning(): boolean;
}

/** What a fetch that may wait asks the broker for before it answers (`fetchWaitMs`). */
const FETCH_MIN_BYTES = 64 * 1024;

/**
 * A consumer-group member that hands whole batches to `handle` and commits a batch's offsets only after
 * `handle` resolved (at-least-once; the handler must be idempotent). If `handle` throws, nothing is
 * committed and kafkajs re-delivers the batch. With `fetchWaitMs`, the broker holds each fetch until it
 * has 64 KiB of records or that time has passed, so records that come a few at a time arrive in one
 * batch; without it, a fetch is answered as soon as there is one record.
 */
export async function consumeBatches(
  kafka: Kafka,
  options: { groupId: string; topic: string; fromBeginning: boolean; fetchWaitMs?: number },
  handle: (messages: IncomingMessage[], ctx: BatchHandlerContext) => Promise<void>,
  onMembership: (isMember: boolean) => void = () => {},
): Promise<Consumer> {
  const consumer = kafka.consumer({
    groupId: options.groupId, sessionTimeout: 30_000, heartbeatInterval: 3_000, retry: { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 5_000 },
    ...(options.fetchWaitMs ? { minBytes: FETCH_MIN_BYTES, maxWaitTimeInMs: options.fetchWaitMs } : {}),
  });
  consumer.on(consumer.events.GROUP_JOIN, () => onMembership(true));
  consumer.on(consumer.events.CRASH, () => onMembership(false));
  consumer.on(consumer.events.STOP, () => onMembership(false));
  await consumer.connect();
  await consumer.subscribe({ topic: options.topic, fromBeginning: options.fromBeginning });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
      if (batch.messages.length === 0 || !isRunning() || isStale()) return;
      const messages = batch.messages.map((m) => ({
        topic: batch.topic,
        partition: batch.partition,
        offset: m.offset,
        key: m.key?.toString() ?? null,
        value: m.value,
        timestampMs: Number(m.timestamp),
        headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, v?.toString() ?? ''])),
      }));
      await handle(messages, { heartbeat, isRunning });
      const last = batch.messages.at(-1)!.offset;
      resolveOffset(last);
      await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() }]);
      await heartbeat();
    },
  });
  return consumer;
}
