import type { RequestHandler } from 'express';
import { rateLimit, type Options } from 'express-rate-limit';
import type { Redis } from 'ioredis';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import { AppError } from '../../core/errors.ts';

/**
 * Per-IP and per-user request limits (express-rate-limit), counted in Redis (rate-limit-redis), so they
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

export function createRateLimits(
  redis: Redis,
  options: { keyPrefix: string; perIpPerMin: number; perUserPerMin: number },
  onLimited: (limiter: 'ip' | 'user') => void = () => undefined,
): RateLimits {
  const store = (name: string) =>
    new RedisStore({
      prefix: `${options.keyPrefix}:rl:${name}:`,
      sendCommand: (command: string, ...args: string[]) => redis.call(command, ...args) as Promise<RedisReply>,
    });
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
    perIp: limiter('ip', options.perIpPerMin),
    perUser: limiter('user', options.perUserPerMin, (req) => req.caller?.sub ?? 'anonymous'),
  };
}
