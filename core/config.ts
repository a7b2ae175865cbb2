import { parseDurationMs } from './duration.ts';

/**
 * Every setting of every process, read from the environment once (in a process's main.ts), validated
 * all at once (one error lists every bad key), and frozen. `CONFIG_SCHEMA` is the single list of
 * variables: docs/config.md documents each of them.
 */

type Parser<T> = (raw: string) => T | undefined;

interface Setting<T> {
  readonly env: string;
  readonly fallback: string | undefined;
  readonly parse: Parser<T>;
  readonly doc: string;
}

const int = (min: number, max = Number.MAX_SAFE_INTEGER): Parser<number> => (raw) => {
  const n = Number(raw);
  return /^\d+$/.test(raw.trim()) && Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined;
};
const duration = (minMs: number): Parser<number> => (raw) => {
  const ms = parseDurationMs(raw);
  return ms !== undefined && ms >= minMs ? ms : undefined;
};
const text: Parser<string> = (raw) => (raw.trim() === '' ? undefined : raw.trim());
const url = (protocols: string[]): Parser<string> => (raw) => {
  try {
    return protocols.includes(new URL(raw).protocol) ? raw : undefined;
  } catch {
    return undefined;
  }
};
const brokers: Parser<string[]> = (raw) => {
  const list = raw.split(',').map((s) => s.trim()).filter(Boolean);
  return list.length > 0 && list.every((b) => /^[^\s:]+:\d+$/.test(b)) ? list : undefined;
};
const oneOf = <T extends string>(...values: T[]): Parser<T> => (raw) =>
  (values as string[]).includes(raw) ? (raw as T) : undefined;
const name: Parser<string> = (raw) => (/^[A-Za-z0-9._-]{1,100}$/.test(raw) ? raw : undefined);

const setting = <T>(env: string, fallback: string | undefined, parse: Parser<T>, doc: string): Setting<T> => ({
  env,
  fallback,
  parse,
  doc,
});

export const DEV_JWT_SECRET = 'dev-only-secret-change-me-0123456789abcdef';

export const CONFIG_SCHEMA = {
  nodeEnv: setting('NODE_ENV', 'development', oneOf('development', 'test', 'production'), 'development, test or production; production requires real secrets'),
  logLevel: setting('LOG_LEVEL', 'info', oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'), 'pino log level'),
  redisUrl: setting('REDIS_URL', 'redis://127.0.0.1:6379', url(['redis:', 'rediss:']), 'Redis server (AOF on, maxmemory-policy noeviction)'),
  databaseUrl: setting('DATABASE_URL', 'postgres://warticket:warticket@127.0.0.1:5432/warticket', url(['postgres:', 'postgresql:']), 'PostgreSQL database'),
  kafkaBrokers: setting('KAFKA_BROKERS', '127.0.0.1:9092', brokers, 'comma-separated host:port list of Kafka brokers'),
  kafkaClientId: setting('KAFKA_CLIENT_ID', 'war-ticket', name, 'Kafka client id prefix'),
  reservationsTopic: setting('KAFKA_TOPIC_RESERVATIONS', 'booking.reservations.v1', name, 'topic of reservation snapshots (key = event id)'),
  deadLetterTopic: setting('KAFKA_TOPIC_DEAD_LETTER', 'booking.reservations.dlq.v1', name, 'topic for messages the persister cannot parse or store'),
  topicPartitions: setting('KAFKA_TOPIC_PARTITIONS', '3', int(1, 1000), 'partitions of the topics the project creates'),
  persisterGroupId: setting('PERSISTER_GROUP_ID', 'war-ticket-persister', name, 'Kafka consumer group of the persister'),
  keyPrefix: setting('REDIS_KEY_PREFIX', 'wt', name, 'prefix of every Redis key the project writes (not BullMQ\'s)'),
  queuePrefix: setting('QUEUE_PREFIX', 'bull', name, 'BullMQ key prefix'),
  port: setting('PORT', '8080', int(0, 65535), 'gateway HTTP port'),
  shardPort: setting('SHARD_PORT', '9101', int(0, 65535), 'shard process port for /health, /ready and /metrics'),
  persisterFetchWaitMs: setting('PERSISTER_FETCH_WAIT', '100ms', duration(0), "how long the broker may hold the persister's fetch for 64 KiB of records before it answers with what it has (fewer, larger batches into PostgreSQL; 0: as soon as there is one record)"),
  persisterPort: setting('PERSISTER_PORT', '9102', int(0, 65535), 'persister process port for /health and /ready'),
  jwtSecret: setting('JWT_SECRET', undefined, text, 'HS256 secret for JWTs; required (≥ 32 chars) when NODE_ENV=production'),
  bodyLimit: setting('HTTP_BODY_LIMIT', '16kb', (raw) => (/^\d+(b|kb|mb)$/.test(raw) ? raw : undefined), 'largest accepted request body'),
  requestTimeoutMs: setting('HTTP_REQUEST_TIMEOUT', '40s', duration(1000), 'time limit for receiving a whole request (Node requestTimeout)'),
  headersTimeoutMs: setting('HTTP_HEADERS_TIMEOUT', '10s', duration(1000), 'time limit for receiving request headers'),
  keepAliveTimeoutMs: setting('HTTP_KEEP_ALIVE_TIMEOUT', '5s', duration(0), 'idle keep-alive socket timeout'),
  queueMaxDepth: setting('QUEUE_MAX_DEPTH', '10000', int(1, 100_000_000), "requests an event's queue admits at once unless the event has its own max_depth (PUT /admin/events/{id}/queue)"),
  queueFlushIntervalMs: setting('QUEUE_FLUSH_INTERVAL', '10ms', duration(0), "shortest time between two jobs a gateway adds to one event's queue while requests keep coming (those of the interval go in one job); a request that finds the event's queue idle is added at once"),
  authCacheSize: setting('AUTH_TOKEN_CACHE', '10000', int(0, 10_000_000), 'bearer tokens a gateway remembers as verified (until their exp), so repeat requests skip the signature check (0: check every request in full)'),
  rateLimitPerMin: setting('RATE_LIMIT_PER_MIN', '600', int(0, 100_000_000), 'requests per minute one client IP may make (0: no limit); /health, /ready, /metrics are exempt'),
  rateLimitUserPerMin: setting('RATE_LIMIT_USER_PER_MIN', '120', int(0, 100_000_000), 'requests per minute one authenticated user may make (0: no limit)'),
  rateLimitFlushIntervalMs: setting('RATE_LIMIT_FLUSH_INTERVAL', '1ms', duration(0), "shortest time between two counts of rate-limit hits a gateway sends Redis while requests keep coming (the hits of both limits in that time go in one script call); a hit that finds the counter idle is counted at once"),
  maxQueuedPerUser: setting('MAX_QUEUED_PER_USER', '2', int(0, 1_000_000), 'requests one user may have queued at once for one event (0: no limit)'),
  trustProxy: setting('TRUST_PROXY', 'false', (raw) => (/^(true|false|\d+|[\w.:/, -]+)$/.test(raw.trim()) ? raw.trim() : undefined), "Express 'trust proxy': false, true, a hop count, or addresses/subnets (loopback, 10.0.0.0/8, …)"),
  reservationTtlMs: setting('RESERVATION_TTL', '5m', duration(100), 'how long a hold lasts before its seats return to sale'),
  statusRetentionMs: setting('STATUS_RETENTION', '24h', duration(1000), 'how long Redis keeps a reservation\'s status after its last change'),
  jobAttempts: setting('JOB_ATTEMPTS', '100', int(1, 100_000), 'attempts of a reserve job whose decision threw (no backoff)'),
  relayBatchSize: setting('RELAY_BATCH_SIZE', '500', int(1, 100_000), 'records published to Kafka per send (and about as many read from the outbox at once)'),
  relayLingerMs: setting('RELAY_LINGER', '20ms', duration(0), 'after a read that drained the outboxes, how long the outbox relay waits before reading again, so that records coming a few at a time go to Kafka in one send (0: at once)'),
  paymentLatencyMs: setting('PAYMENT_LATENCY', '0ms', duration(0), 'latency of the simulated payment (for load tests)'),
  paymentDeclineRate: setting('PAYMENT_DECLINE_RATE', '0', (raw) => { const n = Number(raw); return raw.trim() !== '' && n >= 0 && n <= 1 ? n : undefined; }, 'share of simulated payments declined at random, 0 to 1 (for load tests)'),
  paymentTimeoutMs: setting('PAYMENT_TIMEOUT', '30s', duration(100), 'how long a payment in flight keeps its hold past expires_at before the reaper gives the seats back'),
  idempotencyTtlMs: setting('IDEMPOTENCY_TTL', '24h', duration(1000), 'how long an Idempotency-Key is remembered'),
  maxWaiters: setting('LONG_POLL_MAX_WAITERS', '10000', int(0, 1_000_000), 'long-polls one gateway holds at once; beyond, requests are answered at once without waiting'),
  reaperIntervalMs: setting('REAPER_INTERVAL', '250ms', duration(10), 'how often a shard looks for holds past their expiry'),
  sweepIntervalMs: setting('SWEEP_INTERVAL', '10s', duration(10), 'how often a shard looks for admitted requests whose job never reached the queue'),
  sweepGraceMs: setting('SWEEP_GRACE', '30s', duration(10), 'how old such a request must be before it is released (rejected internal_error)'),
  leaseTtlMs: setting('LEASE_TTL', '10s', duration(300), "how long a shard's lease on an event lasts unless renewed (every third of it); also the reserve jobs' lockDuration, with stalledInterval half of it, so a dead owner is replaced within about 1.5× this"),
  shardId: setting('SHARD_ID', undefined, name, 'this shard process\'s id in leases and metrics (default: host name, pid and a random suffix)'),
  decisionsPerCall: setting('DECISIONS_PER_CALL', '200', int(1, 10_000), 'most requests one decision script call decides; a deep queue is decided this many at a time (Redis is busy about 20 µs per decision during a call, and every other client waits meanwhile)'),
  maxWorkers: setting('SHARD_MAX_WORKERS', '200', int(1, 100_000), 'BullMQ Workers (one blocking Redis connection each) one shard process keeps open at once; quiet events give theirs up first'),
  workerIdleMs: setting('WORKER_IDLE', '30s', duration(10), "how long an owned event's Worker may go without a job before it is closed (the next admission opens it again)"),
} as const;

type Schema = typeof CONFIG_SCHEMA;
export type Config = {
  readonly [K in keyof Schema]: Schema[K] extends Setting<infer T> ? T : never;
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Reads every setting from `env`; throws one ConfigError naming every bad key. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(CONFIG_SCHEMA) as [string, Setting<unknown>][]) {
    const raw = env[spec.env] ?? spec.fallback;
    if (raw === undefined) continue;
    const value = spec.parse(raw);
    if (value === undefined) problems.push(`${spec.env}=${JSON.stringify(raw)}: expected ${spec.doc}`);
    values[key] = value;
  }
  const isProduction = values.nodeEnv === 'production';
  if (values.jwtSecret === undefined) {
    if (isProduction) problems.push('JWT_SECRET is required when NODE_ENV=production');
    else values.jwtSecret = DEV_JWT_SECRET;
  } else if (isProduction && (String(values.jwtSecret).length < 32 || values.jwtSecret === DEV_JWT_SECRET)) {
    problems.push('JWT_SECRET must be at least 32 characters and not the development default when NODE_ENV=production');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(values) as Config;
}

/** True when the JWT secret is the development default (main.ts logs a warning). */
export const usesDevSecret = (config: Config): boolean => config.jwtSecret === DEV_JWT_SECRET;
