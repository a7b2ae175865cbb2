import { Router } from 'express';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { AppError } from '../../core/errors.ts';

const READY_TIMEOUT_MS = 2_000;

/**
 * `/health`: the process is alive. `/ready`: its hard dependency (Redis) answers; 503 naming it if not.
 * `/metrics`: Prometheus text format.
 */
export function opsRoutes(redis: Redis, metrics: Registry): Router {
  const router = Router();
  router.get('/metrics', async (_req, res) => {
    res.set('Content-Type', metrics.contentType).send(await metrics.metrics());
  });
  router.get('/health', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ status: 'ok' });
  });
  router.get('/ready', async (_req, res) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        redis.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('timeout')), READY_TIMEOUT_MS);
        }),
      ]);
    } catch {
      throw new AppError('service_unavailable', 'not ready: redis is down', { retryAfterS: 1 });
    } finally {
      clearTimeout(timer);
    }
    res.set('Cache-Control', 'no-store').json({ status: 'ready', checks: { redis: 'ok' } });
  });
  return router;
}
