import { isIPv4 } from 'node:net';
import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit, type Options } from 'express-rate-limit';
import type { Redis } from 'ioredis';
import { AppError } from '../../core/errors.ts';
import { BatchedRedisStore, HitCounter } from './rate-limit-store.ts';

/**
 * Per-IP and per-user request limits (express-rate-limit), counted in Redis (`BatchedRedisStore`), so they
 * hold across every gateway. A limit of 0 turns that limiter off (no middleware at all: a layer fewer on
 * every request). Refusals are `429 rate_limited` with `Retry-After` (the seconds until the window
 * resets). The ops routes are mounted before these, so `/health`, `/ready` and `/metrics` are never
 * limited.
 */
export interface RateLimits {
  /** by client IP (req.ip: set Express's `trust proxy` behind a load balancer); undefined: no limit */
  readonly perIp: RequestHandler | undefined;
  /** by authenticated user (`sub`); mount after authentication; undefined: no limit */
  readonly perUser: RequestHandler | undefined;
}

const WINDOW_MS = 60_000;

/**
 * The per-IP key: what express-rate-limit's default gives (`ipKeyGenerator`: an IPv4 address as is, an
 * IPv4-mapped IPv6 one as its IPv4 address, any other IPv6 one as its /56), with a fast path for the
 * mapped form `::ffff:a.b.c.d`. A dual-stack listener reports every IPv4 client that way, and
 * `ipKeyGenerator` parses it with ip-address, ~5 µs a request. A key generator of our own means the
 * library no longer runs its default's one-time checks on the first request (warnings for a `trust
 * proxy` of `true` and for forwarding headers the app does not trust); docs/config.md says how to set
 * `TRUST_PROXY`.
 */
export const perIpKey = (req: Pick<Request, 'ip'>): string => {
  const ip = req.ip ?? '';
  if (ip.startsWith('::ffff:') && isIPv4(ip.slice(7))) return ip.slice(7);
  return ipKeyGenerator(ip);
};

export function createRateLimits(
  redis: Redis,
  options: { keyPrefix: string; perIpPerMin: number; perUserPerMin: number; flushIntervalMs?: number },
  onLimited: (limiter: 'ip' | 'user') => void = () => undefined,
): RateLimits {
  // One counter for both limiters (their hits go in the same calls), made only if a limit is on.
  let counter: HitCounter | undefined;
  const store = (name: string) => new BatchedRedisStore(redis, (counter ??= new HitCounter(redis, options.flushIntervalMs ?? 0)), `${options.keyPrefix}:{rl}:${name}:`);
  const handler = (limiter: 'ip' | 'user'): Options['handler'] => (req, _res, next) => {
    onLimited(limiter);
    const resetTime = (req as { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
    const retryAfterS = resetTime ? Math.max(1, Math.ceil((resetTime.getTime() - Date.now()) / 1000)) : Math.ceil(WINDOW_MS / 1000);
    next(new AppError('rate_limited', 'too many requests; retry after Retry-After', { retryAfterS }));
  };
  const limiter = (name: 'ip' | 'user', limit: number, keyGenerator?: Options['keyGenerator']) =>
    limit === 0
      ? undefined
      : rateLimit({ windowMs: WINDOW_MS, limit, standardHeaders: 'draft-7', legacyHeaders: false, store: store(name), handler: handler(name), ...(keyGenerator ? { keyGenerator } : {}) });
  return {
    perIp: limiter('ip', options.perIpPerMin, perIpKey),
    perUser: limiter('user', options.perUserPerMin, (req) => req.caller?.sub ?? 'anonymous'),
  };
}
