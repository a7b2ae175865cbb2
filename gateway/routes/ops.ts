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
  /**
   * @openapi
   * /metrics:
   *   get:
   *     operationId: getMetrics
   *     tags: [Operations]
   *     summary: Prometheus metrics of this gateway
   *     security: []
   *     responses:
   *       '200':
   *         description: Prometheus text exposition format
   *         headers: { X-Request-Id: { $ref: '#/components/headers/XRequestId' } }
   *         content: { text/plain: { schema: { type: string } } }
   */
  router.get('/metrics', async (_req, res) => {
    res.set('Content-Type', metrics.contentType).send(await metrics.metrics());
  });
  /**
   * @openapi
   * /health:
   *   get:
   *     operationId: getHealth
   *     tags: [Operations]
   *     summary: The process is alive
   *     security: []
   *     responses:
   *       '200':
   *         description: Alive
   *         headers: { X-Request-Id: { $ref: '#/components/headers/XRequestId' } }
   *         content: { application/json: { schema: { $ref: '#/components/schemas/Health' } } }
   */
  router.get('/health', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ status: 'ok' });
  });
  /**
   * @openapi
   * /ready:
   *   get:
   *     operationId: getReady
   *     tags: [Operations]
   *     summary: "Ready: this gateway's hard dependency (Redis) answers"
   *     security: []
   *     responses:
   *       '200':
   *         description: Ready
   *         headers: { X-Request-Id: { $ref: '#/components/headers/XRequestId' } }
   *         content: { application/json: { schema: { $ref: '#/components/schemas/Ready' } } }
   *       '503': { $ref: '#/components/responses/ServiceUnavailable' }
   */
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
