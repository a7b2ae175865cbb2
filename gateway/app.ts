import express, { type Express } from 'express';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Logger } from '../core/logger.ts';
import type { ReservationStore } from '../core/reservation-store.ts';
import type { AdmissionDeps } from './admission/reserve.ts';
import { createAuth } from './auth/jwt.ts';
import type { Catalog } from './catalog/catalog.ts';
import { errorHandler, notFound, requireJsonBody } from './http/problem.ts';
import { eventRoutes } from './routes/events.ts';
import { opsRoutes } from './routes/ops.ts';
import { reservationRoutes } from './routes/reservations.ts';

export interface AppDeps {
  readonly redis: Redis;
  readonly db: pg.Pool;
  readonly store: ReservationStore;
  readonly catalog: Catalog;
  readonly admission: AdmissionDeps;
  readonly jwtSecret: string;
  readonly bodyLimit: string;
  readonly logger: Logger;
}

/** Builds the Express app from its dependencies; never listens (gateway.ts does). */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.use(opsRoutes(deps.redis));
  app.use(requireJsonBody, express.json({ limit: deps.bodyLimit, type: ['application/json', 'application/*+json'] }));

  const auth = createAuth(deps.jwtSecret);
  app.use(eventRoutes({ catalog: deps.catalog, store: deps.store, auth }));
  app.use(reservationRoutes({ admission: deps.admission, store: deps.store, db: deps.db, auth }));

  app.use(notFound);
  app.use(errorHandler(deps.logger));
  return app;
}
