import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { ENDPOINTS, endpointPath } from './contract.ts';
import type { Recorder } from './recorder.ts';
import { TokenRotation } from './tokens.ts';

export interface FloodSettings {
  readonly baseUrl: string;
  readonly eventId: string;
  /** The category user i buys in. */
  readonly categoryOf: (user: number) => string;
  readonly qty: number;
  readonly tokens: readonly string[];
  /** Requests to send in all (autocannon's `amount`). */
  readonly requests: number;
  /** Offered requests per second (autocannon's `overallRate`). */
  readonly ratePerS: number;
  readonly connections: number;
  /** Stop after this long (0: when the requests are sent). */
  readonly durationMs: number;
}

interface RequestContext {
  user?: number;
  startedAt?: number;
  t0?: number;
}

/**
 * reserve: `POST /reserve` at a constant offered rate with autocannon, each request with the next
 * user's token (round-robin), each response recorded with its latency, status and error code.
 * autocannon's overallRate gives each connection a share of the rate per second, so requests go out
 * in small bursts at each second's start, and a connection waiting for its answer sends nothing
 * (closed per connection): give it more connections than rate × latency.
 */
export async function runFlood(settings: FloodSettings, recorder: Recorder, isStopped: () => boolean): Promise<void> {
  const rotation = new TokenRotation(settings.tokens);
  const path = endpointPath('reserve');
  const bodies = new Map<string, string>();
  const bodyOf = (user: number) => {
    const category = settings.categoryOf(user);
    let body = bodies.get(category);
    if (body === undefined) bodies.set(category, (body = JSON.stringify({ event_id: settings.eventId, category, qty: settings.qty })));
    return body;
  };
  const connections = Math.max(1, Math.min(settings.connections, settings.requests, Math.ceil(settings.ratePerS)));
  const instance = autocannon(
    {
      url: `${settings.baseUrl}${path}`,
      method: ENDPOINTS.reserve.method,
      connections,
      amount: settings.requests,
      overallRate: settings.ratePerS,
      timeout: 30,
      headers: { 'content-type': 'application/json' },
      requests: [
        {
          setupRequest: (req, context) => {
            const ctx = context as RequestContext;
            const { user, token } = rotation.next();
            ctx.user = user;
            ctx.startedAt = Date.now();
            ctx.t0 = performance.now();
            recorder.started();
            return { ...req, body: bodyOf(user), headers: { ...req.headers, authorization: `Bearer ${token}` } };
          },
          onResponse: (status, body, context) => {
            const ctx = context as RequestContext;
            let parsed: { code?: unknown; reservation_id?: unknown } | undefined;
            try {
              parsed = body ? (JSON.parse(body) as typeof parsed) : undefined;
            } catch {
              parsed = undefined;
            }
            recorder.record({
              scenario: 'reserve',
              user: ctx.user,
              endpoint: 'reserve',
              method: ENDPOINTS.reserve.method,
              path,
              status,
              latencyMs: ctx.t0 === undefined ? 0 : performance.now() - ctx.t0,
              startedAt: ctx.startedAt ?? Date.now(),
              reservationId: typeof parsed?.reservation_id === 'string' ? parsed.reservation_id : undefined,
              error: status >= 400 && typeof parsed?.code === 'string' ? parsed.code : undefined,
            });
          },
        },
      ],
    },
    () => undefined,
  );
  instance.on('reqError', (err: Error & { code?: string }) => {
    recorder.record({ scenario: 'reserve', endpoint: 'reserve', method: ENDPOINTS.reserve.method, path, status: 0, latencyMs: 0, startedAt: Date.now(), error: `network:${err.code ?? (err.message === 'request timed out' ? 'timeout' : err.name)}` });
  });
  const t0 = Date.now();
  const watchdog = setInterval(() => {
    if (isStopped() || (settings.durationMs > 0 && Date.now() - t0 >= settings.durationMs)) instance.stop();
  }, 100);
  try {
    await new Promise<void>((resolve) => instance.on('done', () => resolve()));
  } finally {
    clearInterval(watchdog);
  }
}
