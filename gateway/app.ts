import type { Queue } from 'bullmq';
import cookieParser from 'cookie-parser';
import express, { type Express, type RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Role } from '../core/auth-token.ts';
import type { HoldTransitions } from '../core/hold-transitions.ts';
import type { IdempotencyKeys } from '../core/idempotency.ts';
import { AppError } from '../core/errors.ts';
import type { FairnessReport } from '../core/fairness/report.ts';
import { eventIdOfReservation } from '../core/keys.ts';
import type { Logger } from '../core/logger.ts';
import type { ReservationStore } from '../core/reservation-store.ts';
import { ADMIN_COOKIE, boardRoutes } from './admin/board.ts';
import type { AdmissionDeps } from './admission/reserve.ts';
import { createAuth } from './auth/jwt.ts';
import type { Catalog } from './catalog/catalog.ts';
import { docsRoutes } from './docs/docs-routes.ts';
import { buildOpenApiSpec } from './docs/openapi.ts';
import { errorHandler, notFound, requireJsonBody } from './http/problem.ts';
import { createRateLimits, settleLimits, settleLimitsOnError } from './http/rate-limits.ts';
import { requestId } from './http/request-id.ts';
import type { ConfirmDeps } from './lifecycle/confirm.ts';
import { createGatewayMetrics, type GatewayMetrics } from './metrics.ts';
import type { PaymentGateway } from './payment/simulated-payment.ts';
import { adminRoutes } from './routes/admin.ts';
import { eventRoutes } from './routes/events.ts';
import { lifecycleRoutes } from './routes/lifecycle.ts';
import { opsRoutes } from './routes/ops.ts';
import { saleState } from './routes/views.ts';
import { readReservation, reservationRoutes } from './routes/reservations.ts';
import type { ChangeWaiter } from './waiting/change-waiter.ts';

export interface AppDeps {
  readonly redis: Redis;
  readonly db: pg.Pool;
  readonly store: ReservationStore;
  readonly catalog: Catalog;
  readonly admission: AdmissionDeps;
  readonly transitions: HoldTransitions;
  readonly idempotency: IdempotencyKeys;
  readonly waiter: ChangeWaiter;
  readonly payment: PaymentGateway;
  /** the fairness reports (GET /admin/events/{id}/fairness); absent: that route answers 503 */
  readonly fairness?: { report(eventId: string): Promise<FairnessReport | null> };
  /** the board's view of the queues: one BullMQ Queue per event, and the events that exist */
  readonly board?: { readonly queueOf: (eventId: string) => Queue; readonly eventIds: () => Promise<string[]> };
  readonly paymentTimeoutMs: number;
  readonly jwtSecret: string;
  /** bearer tokens remembered as verified until their exp (0 or absent: every request checked in full) */
  readonly authCacheSize?: number;
  readonly rateLimits?: { readonly perIpPerMin: number; readonly perUserPerMin: number; readonly keyPrefix: string; readonly flushIntervalMs?: number };
  /** Express's `trust proxy` (which hops' X-Forwarded-For to believe for the client IP) */
  readonly trustProxy?: string;
  readonly bodyLimit: string;
  readonly logger: Logger;
  /** the gateway's metrics (gateway.ts passes them so admission can count its outcomes); made here if absent */
  readonly metrics?: GatewayMetrics;
}

/** `TRUST_PROXY` as Express takes it: a boolean, a hop count, or addresses/subnets. */
function parseTrustProxy(value: string): boolean | number | string {
  if (value === 'true' || value === 'false') return value === 'true';
  return /^\d+$/.test(value) ? Number(value) : value;
}

/** The gateway's metrics, reading the live events from the catalog and their seats from Redis. */
export function gatewayMetrics(deps: Pick<AppDeps, 'waiter' | 'catalog' | 'store' | 'redis'>): GatewayMetrics {
  return createGatewayMetrics({
    waiting: () => deps.waiter.size,
    liveEvents: () => deps.catalog.recentEvents().filter((e) => saleState(e) !== 'closed').map((e) => ({ eventId: e.id, categoryIds: e.categories.map((c) => c.id) })),
    available: async (eventId, categoryIds) => new Map([...(await deps.store.readStock(eventId, categoryIds))].map(([id, stock]) => [id, stock?.available])),
    readiness: { redis: async () => { await deps.redis.ping(); } },
  });
}

/** Builds the Express app from its dependencies; never listens (gateway.ts does). */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.set('trust proxy', parseTrustProxy(deps.trustProxy ?? 'false'));

  const metrics = deps.metrics ?? gatewayMetrics(deps);
  const limits = createRateLimits(deps.redis, deps.rateLimits ?? { keyPrefix: 'unused', perIpPerMin: 0, perUserPerMin: 0 }, (limiter) => metrics.rateLimited(limiter));
  const jsonBody = [requireJsonBody, express.json({ limit: deps.bodyLimit, type: ['application/json', 'application/*+json'] })];
  const auth = createAuth(deps.jwtSecret, limits.perUser, { cacheSize: deps.authCacheSize ?? 0 });
  app.use(requestId, metrics.http);
  // The hot path (reserve, poll) first, with its own limits and body parsing: a reserve walks three
  // layers to its route instead of every router's. Both limits are counted at once (one Redis round trip,
  // rate-limits.ts), the body read meanwhile; a request that fails on the way still gets a limit's
  // refusal first (settleLimitsOnError).
  const limited = limits.perIpAhead !== undefined || limits.perUserAhead !== undefined;
  const guard = (...roles: Role[]) =>
    [limits.perIpAhead, auth.verify(...roles), limits.perUserAhead, ...jsonBody, limited ? settleLimits : undefined].filter((layer): layer is RequestHandler => layer !== undefined);
  app.use(reservationRoutes({ admission: deps.admission, store: deps.store, db: deps.db, waiter: deps.waiter, idempotency: deps.idempotency, guard }));
  if (limited) app.use(settleLimitsOnError);
  // Ops routes before any limit: never rate limited.
  app.use(opsRoutes(deps.redis, metrics.registry));
  // The API's documentation (/openapi.json, Swagger UI at /swagger/index.html), generated once here from
  // the route files' @openapi blocks; not rate limited either.
  app.use(docsRoutes(buildOpenApiSpec()));
  if (limits.perIp) app.use(limits.perIp);
  if (deps.board) {
    const boardAuth = createAuth(deps.jwtSecret, limits.perUser, { cookieName: ADMIN_COOKIE });
    const describe = async (eventId: string) => {
      const event = await deps.catalog.getEvent(eventId);
      return event ? `${event.name} (${event.date.toISOString().slice(0, 10)})` : '';
    };
    // Cookies matter to the board's pages only (a browser cannot send a bearer header there).
    app.use('/admin', cookieParser());
    app.use(boardRoutes({ ...deps.board, describe, authenticateAdmin: boardAuth.authenticate('admin') }));
  }
  app.use(...jsonBody);

  const read = readReservation(deps.store, deps.db);
  const confirmDeps: ConfirmDeps = {
    read,
    beginConfirm: (id, userId, bookingId) => deps.transitions.beginConfirm(id, userId, bookingId),
    finishConfirm: (id, categoryId, attempt, isPaid) => deps.transitions.finishConfirm(id, categoryId, attempt, isPaid),
    waitWhilePaying: async (r, timeoutMs) => {
      await deps.waiter.waitFor(eventIdOfReservation(r.reservationId)!, r.reservationId, () => deps.store.read(r.reservationId), (now) => !now?.isPaying, timeoutMs);
    },
    priceOf: async (eventId, categoryId) => {
      const category = await deps.catalog.categoryById(eventId, categoryId);
      if (!category) throw new AppError('category_not_found');
      return category.price;
    },
    payment: deps.payment,
    paymentTimeoutMs: deps.paymentTimeoutMs,
  };

  app.use(eventRoutes({ catalog: deps.catalog, store: deps.store, auth }));
  app.use(adminRoutes({ catalog: deps.catalog, store: deps.store, auth, fairness: deps.fairness }));
  app.use(lifecycleRoutes({ confirm: confirmDeps, transitions: deps.transitions, read, idempotency: deps.idempotency, auth }));

  app.use(notFound);
  app.use(errorHandler(deps.logger));
  return app;
}
