import { randomUUID } from 'node:crypto';
import { loadConfig, type Config } from '../../core/config.ts';
import { createLogger, type Logger } from '../../core/logger.ts';

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
    eventRefreshMs: 200,
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
