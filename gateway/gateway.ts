import { once } from '../core/once.ts';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { usesDevSecret, type Config } from '../core/config.ts';
import { HoldTransitions } from '../core/hold-transitions.ts';
import { IdempotencyKeys } from '../core/idempotency.ts';
import { eventRegistryKey } from '../core/keys.ts';
import type { Logger } from '../core/logger.ts';
import { createPool } from '../core/pg.ts';
import { createRedis, type ScriptName } from '../core/redis.ts';
import { ReservationStore } from '../core/reservation-store.ts';
import { Admissions } from './admission/admissions.ts';
import { ReserveQueues } from './admission/enqueue.ts';
import { createExpressServer } from './http/express-server.ts';
import { FairnessReports } from '../core/fairness/fairness-reports.ts';
import { createApp, gatewayMetrics } from './app.ts';
import { Catalog } from './catalog/catalog.ts';
import { SimulatedPayment, type PaymentGateway } from './payment/simulated-payment.ts';
import { ChangeWaiter } from './waiting/change-waiter.ts';

const LISTEN_BACKLOG = 4096;

export interface Gateway {
  readonly port: number;
  readonly waiter: ChangeWaiter;
  close(): Promise<void>;
}

/**
 * The scripts the gateway already batches itself (admissions per event, rate-limit hits), sent straight
 * to the socket instead of through ioredis's auto-pipeline. An auto-pipeline is a new `Pipeline` per
 * event-loop turn, and each one copies every script the client knows onto itself; under load those
 * were a third of what the gateway promoted to V8's old generation (docs/performance.md, ninth session).
 * The gateway's other commands (a request's own reads and writes) still go through it.
 */
const SELF_BATCHED_SCRIPTS: ScriptName[] = ['admitBatch', 'countHits'];

/**
 * Wires the gateway's dependencies and listens. close() answers every long-poll at once, stops intake,
 * then closes every connection. `options.payment` replaces the simulated payment provider.
 */
export async function startGateway(config: Config, logger: Logger, options: { payment?: PaymentGateway } = {}): Promise<Gateway> {
  if (usesDevSecret(config)) logger.warn('JWT_SECRET is not set: using the development default (never in production)');
  const redis = createRedis(config.redisUrl, logger, { autoPipeliningIgnoredCommands: SELF_BATCHED_SCRIPTS });
  const queueConnection = createRedis(config.redisUrl, logger, { maxRetriesPerRequest: null, enableAutoPipelining: false });
  const subscriber = createRedis(config.redisUrl, logger, { enableAutoPipelining: false });
  const db = createPool(config.databaseUrl, logger);
  const store = new ReservationStore(redis, {
    keyPrefix: config.keyPrefix,
    holdTtlMs: config.reservationTtlMs,
    retentionMs: config.statusRetentionMs,
    defaultMaxDepth: config.queueMaxDepth,
    maxQueuedPerUser: config.maxQueuedPerUser,
  });
  const transitions = new HoldTransitions(redis, { keyPrefix: config.keyPrefix, retentionMs: config.statusRetentionMs, paymentTimeoutMs: config.paymentTimeoutMs });
  const catalog = new Catalog(db, store);
  const queues = new ReserveQueues(queueConnection, { prefix: config.queuePrefix, keyPrefix: config.keyPrefix, attempts: config.jobAttempts, flushIntervalMs: config.queueFlushIntervalMs }, logger);
  const admissions = new Admissions(store);
  const waiter = new ChangeWaiter(subscriber, { keyPrefix: config.keyPrefix, maxWaiters: config.maxWaiters }, logger);
  const fairness = new FairnessReports(config.databaseUrl);
  const metrics = gatewayMetrics({ waiter, catalog, store, redis });

  const app = createApp({
    metrics,
    redis,
    db,
    store,
    catalog,
    admission: {
      resolve: (eventId, name) => catalog.resolve(eventId, name),
      repairStock: (category, maxPerUser) => catalog.repairStock(category, maxPerUser),
      admit: (request) => admissions.admit(request),
      abandon: (eventId, reservationId) => store.abandon(eventId, reservationId),
      enqueue: (eventId, request) => queues.add(eventId, request),
      observe: (eventId, outcome) => metrics.admission(eventId, outcome),
    },
    transitions,
    fairness,
    idempotency: new IdempotencyKeys(redis, { keyPrefix: config.keyPrefix, ttlMs: config.idempotencyTtlMs }),
    waiter,
    payment: options.payment ?? new SimulatedPayment({ latencyMs: config.paymentLatencyMs, declineRate: config.paymentDeclineRate }),
    paymentTimeoutMs: config.paymentTimeoutMs,
    board: { queueOf: (eventId) => queues.queue(eventId), eventIds: () => redis.smembers(eventRegistryKey(config.keyPrefix)) },
    jwtSecret: config.jwtSecret,
    authCacheSize: config.authCacheSize,
    rateLimits: { keyPrefix: config.keyPrefix, perIpPerMin: config.rateLimitPerMin, perUserPerMin: config.rateLimitUserPerMin, flushIntervalMs: config.rateLimitFlushIntervalMs },
    trustProxy: config.trustProxy,
    bodyLimit: config.bodyLimit,
    logger,
  });

  // A deep accept backlog: in a ticket war thousands of clients connect within the same second.
  const server: Server = createExpressServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
    server.listen({ port: config.port, backlog: LISTEN_BACKLOG });
  });
  server.requestTimeout = config.requestTimeoutMs;
  server.headersTimeout = config.headersTimeoutMs;
  server.keepAliveTimeout = config.keepAliveTimeoutMs;
  const port = (server.address() as AddressInfo).port;
  logger.info({ port }, 'gateway listening');

  return {
    port,
    waiter,
    close: once(async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await waiter.close();
      // Keep-alive connections turn idle as their last answers go out: close them as they do.
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      server.closeIdleConnections();
      await closed;
      clearInterval(sweep);
      await queues.close();
      await Promise.all([redis.quit(), queueConnection.quit()].map((p) => p.catch(() => undefined)));
      await fairness.close();
      await db.end();
    }),
  };
}
