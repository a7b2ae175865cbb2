import type { RequestHandler } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { registerReadiness, type ReadinessCheck } from '../core/ops-server.ts';
import type { AdmissionOutcome } from './admission/reserve.ts';

/** How an admission ended (`enqueue_failed`: admitted but not queued, so undone). */
const ADMISSION_OUTCOMES: readonly AdmissionOutcome[] = [
  'admitted', 'duplicate', 'out_of_stock', 'queue_full', 'rate_limited', 'sales_not_open', 'sales_paused', 'sales_closed', 'not_ready', 'enqueue_failed',
];

export interface GatewayMetricSources {
  /** long-polls in progress */
  waiting(): number;
  /** the events this gateway has served recently whose sale is not closed, with their categories */
  liveEvents(): { eventId: string; categoryIds: string[] }[];
  /** seats available per category of one event */
  available(eventId: string, categoryIds: string[]): Promise<Map<string, number | undefined>>;
  readiness: Record<string, ReadinessCheck>;
}

export interface GatewayMetrics {
  readonly registry: Registry;
  /** times every request by route template and status (mount first) */
  readonly http: RequestHandler;
  admission(eventId: string, outcome: AdmissionOutcome): void;
  rateLimited(limiter: 'ip' | 'user'): void;
}

/**
 * The gateway's Prometheus registry: HTTP duration by route template (never the raw URL) and status,
 * admission outcomes per event, rate-limit refusals, long-polls waiting, seats available per category
 * of the live events it serves, readiness, and the default process metrics (event-loop lag included).
 * Event labels go when the event's sale is closed (or the event left this gateway's cache).
 */
export function createGatewayMetrics(sources: GatewayMetricSources): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  registerReadiness(registry, sources.readiness);
  new Gauge({
    name: 'wt_gateway_long_polls_waiting',
    help: 'Long-polls (GET ?wait, Prefer: wait, confirms waiting on a payment) this gateway holds now',
    registers: [registry],
    collect() {
      this.set(sources.waiting());
    },
  });
  const duration = new Histogram({
    name: 'wt_http_request_duration_seconds',
    help: 'HTTP requests by route template (unmatched: no route) and status code',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const counted = new Set<string>();
  const admissions: Counter<'event_id' | 'outcome'> = new Counter({
    name: 'wt_admissions_total',
    help: 'Reserve requests by how admission ended',
    labelNames: ['event_id', 'outcome'],
    registers: [registry],
    collect() {
      // A closed (or forgotten) event's series go.
      const live = new Set(sources.liveEvents().map((e) => e.eventId));
      for (const eventId of counted) {
        if (live.has(eventId)) continue;
        for (const outcome of ADMISSION_OUTCOMES) admissions.remove({ event_id: eventId, outcome });
        counted.delete(eventId);
      }
    },
  });
  const limited = new Counter({ name: 'wt_rate_limited_total', help: 'Requests refused by the per-IP or per-user rate limit (429 rate_limited)', labelNames: ['limiter'], registers: [registry] });
  new Gauge({
    name: 'wt_category_available',
    help: 'Seats available per category of the live events this gateway serves (0: sold out)',
    labelNames: ['event_id', 'category_id'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const { eventId, categoryIds } of sources.liveEvents()) {
        for (const [categoryId, seats] of await sources.available(eventId, categoryIds)) {
          if (seats !== undefined) this.set({ event_id: eventId, category_id: categoryId }, seats);
        }
      }
    },
  });

  return {
    registry,
    http: (req, res, next) => {
      const end = duration.startTimer();
      res.once('finish', () => {
        // The matched route's template (e.g. /reservations/:id), never the URL itself.
        const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
        end({ method: req.method, route, status_code: String(res.statusCode) });
      });
      next();
    },
    admission(eventId, outcome) {
      counted.add(eventId);
      admissions.inc({ event_id: eventId, outcome });
    },
    rateLimited(limiter) {
      limited.inc({ limiter });
    },
  };
}
