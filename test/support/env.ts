import { randomUUID } from 'node:crypto';
import { loadConfig, type Config } from '../../core/config.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger, type Logger } from '../../core/logger.ts';
import { createRedis } from '../../core/redis.ts';

/**
 * Test configuration: the real servers that `npm test` started (addresses from the environment), with
 * names of this test run's own (Redis key prefix, BullMQ prefix, topics, consumer group) so tests never
 * share state.
 */
export function testConfig(overrides: Partial<Record<keyof Config, unknown>> = {}): Config {
  const tag = randomUUID().slice(0, 8);
  const base = loadConfig({ ...process.env, NODE_ENV: 'test', LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent' });
  return Object.freeze({
    ...base,
    keyPrefix: `t${tag}`,
    queuePrefix: `tq${tag}`,
    reservationsTopic: `test.reservations.${tag}`,
    deadLetterTopic: `test.dlq.${tag}`,
    persisterGroupId: `test-persister-${tag}`,
    topicPartitions: 2,
    port: 0,
    shardPort: 0,
    persisterPort: 0,
    leaseTtlMs: 3_000,
    // Tests send thousands of requests from one address and user: limits are off unless a test sets them.
    rateLimitPerMin: 0,
    rateLimitUserPerMin: 0,
    maxQueuedPerUser: 0,
    ...overrides,
  }) as Config;
}

export const testLogger = (name = 'test'): Logger => createLogger(name, process.env.LOG_LEVEL ?? 'silent');

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Deletes this test's Redis keys (its own key and queue prefixes) so repeated runs do not pile up. */
export async function deleteTestKeys(config: Config): Promise<void> {
  const redis = createRedis(config.redisUrl, testLogger());
  try {
    for (const pattern of [`${config.keyPrefix}:*`, `${config.queuePrefix}:*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await redis.unlink(...keys);
      } while (cursor !== '0');
    }
  } finally {
    await redis.quit();
  }
}

/** Deletes this test's Kafka topics. */
export async function deleteTestTopics(config: Config): Promise<void> {
  const admin = createKafka({ brokers: config.kafkaBrokers, clientId: 'test-cleanup' }, testLogger()).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const topics = [config.reservationsTopic, config.deadLetterTopic].filter((t) => existing.has(t));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 10_000 });
  } finally {
    await admin.disconnect();
  }
}
