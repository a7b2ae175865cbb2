import { isIPv4 } from 'node:net';
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
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
 *
 * Each limit comes twice. `perIp` and `perUser` hold the request until their count is back: the per-IP
 * count before anything else, the per-user one after the token check. The hot path (reserve, poll) uses
 * `perIpAhead` and `perUserAhead` instead: each starts its limiter and passes the request on at once, the
 * token check runs in between (synchronous), so both hits go to Redis in one script call, and
 * `settleLimits` (or `settleLimitsOnError`, for a request that failed on the way) waits for both verdicts
 * before the route: one round trip on that path instead of two in a row. What that costs: a request an
 * IP's limit refuses has had its token checked and its user's hit counted.
 */
export interface RateLimits {
  /** by client IP (req.ip: set Express's `trust proxy` behind a load balancer); undefined: no limit */
  readonly perIp: RequestHandler | undefined;
  /** by authenticated user (`sub`); mount after authentication; undefined: no limit */
  readonly perUser: RequestHandler | undefined;
  /** `perIp`, its verdict left to `settleLimits` */
  readonly perIpAhead: RequestHandler | undefined;
  /** `perUser`, its verdict left to `settleLimits` */
  readonly perUserAhead: RequestHandler | undefined;
}

/** What a limiter started ahead passed to its `next`, and the headers it set (held back until the verdicts are in). */
interface Verdict {
  readonly error: unknown;
  readonly headers: readonly (readonly [string, number | string | readonly string[]])[];
}

const PENDING = Symbol('rate-limit verdicts pending');
type WithPending = Request & { [PENDING]?: Promise<Verdict>[] };

/**
 * Where a limiter started ahead sets its headers: a stand-in for the response, so that two limiters
 * counting at once cannot overwrite each other's headers out of order. It has only what
 * express-rate-limit uses of the response with the options above: `headersSent` (the real response's)
 * and `setHeader` (the tests refuse requests through it). A class, not an object literal with a getter
 * nor `Object.create(res)`: V8 gives each of those a hidden class of its own, and at 4,000 reserves/s
 * they cost 23–24 full collections in 9 s against 3 with this class, ~40 µs more CPU per reserve.
 */
class HeldHeaders {
  readonly headers: [string, number | string | readonly string[]][] = [];
  readonly #res: Response;

  constructor(res: Response) {
    this.#res = res;
  }

  get headersSent(): boolean {
    return this.#res.headersSent;
  }

  setHeader(name: string, value: number | string | readonly string[]): this {
    this.headers.push([name, value]);
    return this;
  }
}

/** Runs `limiter` without holding the request: its verdict waits in the request for `settleLimits`. */
function ahead(limiter: RequestHandler): RequestHandler {
  return (req, res, next) => {
    const held = new HeldHeaders(res);
    const verdict = new Promise<Verdict>((resolve) => {
      void limiter(req, held as unknown as Response, (error?: unknown) => resolve({ error, headers: held.headers }));
    });
    ((req as WithPending)[PENDING] ??= []).push(verdict);
    next();
  };
}

/**
 * Waits for the request's pending verdicts and sets their headers in the order the limiters started, a
 * refusal's last (so the response describes the limit that refused it, as when the limits held the
 * request); gives the first refusal, if any.
 */
async function verdictOf(req: WithPending, res: Response): Promise<unknown> {
  const verdicts = await Promise.all(req[PENDING]!);
  req[PENDING] = undefined;
  const refusal = verdicts.find((v) => v.error !== undefined);
  if (!res.headersSent) {
    const setHeaders = (v: Verdict) => { for (const [name, value] of v.headers) res.setHeader(name, value); };
    for (const v of verdicts) if (v !== refusal) setHeaders(v);
    if (refusal) setHeaders(refusal);
  }
  return refusal?.error;
}

/** Waits for the verdicts of the limiters started ahead: passes a refusal on, or the request if none. */
export const settleLimits: RequestHandler = (req, res, next) => {
  if (!(req as WithPending)[PENDING]) return next();
  verdictOf(req, res).then(next, next);
};

/** For a request that failed before `settleLimits`: a limit's refusal comes first, as when the limits held the request. */
export const settleLimitsOnError: ErrorRequestHandler = (err, req, res, next) => {
  if (!(req as WithPending)[PENDING]) return next(err);
  verdictOf(req, res).then((refusal) => next(refusal ?? err), next);
};

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
  // Each limiter's info under its own name (`req.rateLimitIp`, `req.rateLimitUser`): both may be counting at once.
  const propertyOf = (limiter: 'ip' | 'user') => (limiter === 'ip' ? 'rateLimitIp' : 'rateLimitUser');
  const handler = (limiter: 'ip' | 'user'): Options['handler'] => (req, _res, next) => {
    onLimited(limiter);
    const resetTime = (req as unknown as Record<string, { resetTime?: Date } | undefined>)[propertyOf(limiter)]?.resetTime;
    const retryAfterS = resetTime ? Math.max(1, Math.ceil((resetTime.getTime() - Date.now()) / 1000)) : Math.ceil(WINDOW_MS / 1000);
    next(new AppError('rate_limited', 'too many requests; retry after Retry-After', { retryAfterS }));
  };
  const limiter = (name: 'ip' | 'user', limit: number, keyGenerator?: Options['keyGenerator']) =>
    limit === 0
      ? undefined
      : rateLimit({
          windowMs: WINDOW_MS, limit, standardHeaders: 'draft-7', legacyHeaders: false, store: store(name), handler: handler(name),
          requestPropertyName: propertyOf(name), ...(keyGenerator ? { keyGenerator } : {}),
        });
  const perIp = limiter('ip', options.perIpPerMin, perIpKey);
  const perUser = limiter('user', options.perUserPerMin, (req) => req.caller?.sub ?? 'anonymous');
  return { perIp, perUser, perIpAhead: perIp && ahead(perIp), perUserAhead: perUser && ahead(perUser) };
}
